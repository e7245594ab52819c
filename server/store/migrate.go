package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrations[v] upgrades a store of schema v to v+1 inside the opening
// transaction, so a file is either fully migrated or left as it was.
var migrations = map[int]func(tx *bolt.Tx) error{
	1: addSuppressions,
	2: addEventOutbox,
}

func migrate(tx *bolt.Tx, from int) error {
	for v := from; v < SchemaVersion; v++ {
		m, ok := migrations[v]
		if !ok {
			return fmt.Errorf("no migration from schema %d", v)
		}
		if err := m(tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	if from < SchemaVersion {
		return tx.Bucket(bMeta).Put(keySchema, []byte{SchemaVersion})
	}
	return nil
}

// addEventOutbox (schema 2 → 3) adds the outbox of lifecycle events. The
// events of schema 2 were published as they happened, so it starts empty.
func addEventOutbox(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bEvents); err != nil {
		return fmt.Errorf("create bucket %s: %w", bEvents, err)
	}
	return nil
}

// addSuppressions (schema 1 → 2) adds the buckets of suppressions, their
// audit log and the expiry index. Schema 1 had no suppressions, so no
// finding needs an expiry entry.
func addSuppressions(tx *bolt.Tx) error {
	for _, b := range [][]byte{bSupp, bAudit, bIdxExpiry} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}
