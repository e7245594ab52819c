package rpmdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, in pure Go
)

// readSQLite returns the header blobs of an rpmdb.sqlite file. The file is
// opened read-only and immutable: nothing is written beside it, and a
// write-ahead log, which rpm checkpoints when it closes the database, is
// not consulted.
func readSQLite(ctx context.Context, name string) ([][]byte, error) {
	u := url.URL{Scheme: "file", Path: name, RawQuery: "mode=ro&immutable=1"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT blob FROM Packages")
	if err != nil {
		return nil, fmt.Errorf("reading the Packages table: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return out, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
