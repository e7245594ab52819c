package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrations[v] upgrades a store of schema v to v+1 inside the opening
// transaction, so a file is either fully migrated or left as it was.
var migrations = map[int]func(tx *bolt.Tx) error{
	1: addFingerprintIndex,
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

// addFingerprintIndex (schema 1 → 2) indexes every finding by fingerprint;
// the suppression buckets are created by Open.
func addFingerprintIndex(tx *bolt.Tx) error {
	idx := tx.Bucket(bIdxFP)
	c := tx.Bucket(bFindings).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != KeyLen {
			return fmt.Errorf("finding key %x has length %d", k, len(k))
		}
		ik := make([]byte, 0, 33+KeyLen)
		ik = append(ik, k[KeyLen-32:]...)
		ik = append(ik, 0)
		ik = append(ik, k...)
		if err := idx.Put(ik, nil); err != nil {
			return err
		}
	}
	return nil
}
