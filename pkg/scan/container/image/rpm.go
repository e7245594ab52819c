package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigilsec/vigil/pkg/rpmdb"
)

// rpmDatabase is one rpm database found in an image.
type rpmDatabase struct {
	path     string
	packages []Package
}

// readRPM reads an rpm database out of the image. The file goes through a
// temporary file, not memory: SQLite needs one, and a database of a large
// image runs to tens of megabytes.
func (r *fileReader) readRPM(ctx context.Context, e *Entry, f rpmdb.Format, content io.Reader) error {
	if e.Size > r.lim.MaxBinaryBytes {
		r.a.Errors = append(r.a.Errors, fmt.Errorf("/%s: %d bytes, over the %d byte limit; not read", e.Path, e.Size, r.lim.MaxBinaryBytes))
		return nil
	}
	tmp, err := os.CreateTemp("", "vigil-rpmdb-*")
	if err != nil {
		return fmt.Errorf("/%s: %w", e.Path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, io.LimitReader(content, e.Size))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("/%s: %w", e.Path, err)
	}
	pkgs, err := rpmdb.Open(ctx, tmp.Name(), f)
	if err != nil {
		// Errors name the file; the temporary name means nothing to
		// their reader.
		r.a.addErr(errors.New(strings.ReplaceAll(err.Error(), tmp.Name(), "/"+e.Path)))
		if len(pkgs) == 0 {
			return nil
		}
	}
	db := rpmDatabase{path: "/" + e.Path}
	for _, p := range pkgs {
		db.packages = append(db.packages, Package{Name: p.Name, Version: p.EVR(), Type: "rpm", Path: db.path, Arch: p.Arch, Source: p.SourceName()})
	}
	if r.rpm == nil {
		r.rpm = map[rpmdb.Format]rpmDatabase{}
	}
	r.rpm[f] = db
	return nil
}

// rpmPackages returns the packages of the database rpm itself would use:
// an image converted from an older format may still hold the old file.
func (r *fileReader) rpmPackages() []Package {
	for _, f := range []rpmdb.Format{rpmdb.SQLite, rpmdb.NDB, rpmdb.Berkeley} {
		if db, ok := r.rpm[f]; ok {
			return db.packages
		}
	}
	return nil
}
