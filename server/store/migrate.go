package store

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrations[v] upgrades a store of schema v to v+1 inside the opening
// transaction, so a file is either fully migrated or left as it was.
var migrations = map[int]func(tx *bolt.Tx) error{
	1: addSuppressions,
	2: addEventOutbox,
	3: countDistinct,
	4: compactRecords,
	5: holdOccurrences,
}

// holdOccurrences (schema 5 → 6) changes no data: from schema 6 the
// occurrences bucket may lag an in-memory overlay, marked in meta by
// keyOccurPending, which a server of schema 5 would not know to rebuild
// from; the version keeps such a server from opening the file.
func holdOccurrences(*bolt.Tx) error { return nil }

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

// countDistinct (schema 3 → 4) makes the running counts count distinct
// fingerprints: it fills the occurrences of every finding and rebuilds
// the counts from them.
func countDistinct(tx *bolt.Tx) error {
	occ, err := tx.CreateBucketIfNotExists(bOccur)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bOccur, err)
	}
	n := map[string]uint64{}
	err = tx.Bucket(bFindings).ForEach(func(k, v []byte) error {
		if len(k) != KeyLen {
			return nil
		}
		rec, err := decodeRecord(k, v)
		if err != nil {
			return err
		}
		n[occurrenceKey(k, rec)]++
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bCounts); err != nil {
		return fmt.Errorf("drop counts: %w", err)
	}
	counts, err := tx.CreateBucket(bCounts)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bCounts, err)
	}
	distinct := map[string]uint64{}
	for _, k := range sortedKeys(n) {
		if err := occ.Put([]byte(k), putU64(n[k])); err != nil {
			return err
		}
		distinct[k[:len(k)-occurrenceFPLen]]++
	}
	for _, k := range sortedKeys(distinct) {
		if err := counts.Put([]byte(k), putU64(distinct[k])); err != nil {
			return err
		}
	}
	return nil
}

// compactRecords (schema 4 → 5) adds the shared bucket and re-encodes every
// finding record without the part it shares with the findings of its
// check, folds the indexes by severity, pillar and status into one,
// idx_class, and shortens the occurrences keys.
func compactRecords(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bShared); err != nil {
		return fmt.Errorf("create bucket %s: %w", bShared, err)
	}
	for _, b := range [][]byte{bIdxPillar, bIdxSeverity, bIdxStatus} {
		if err := tx.DeleteBucket(b); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return fmt.Errorf("drop %s: %w", b, err)
		}
	}
	class, err := tx.CreateBucket(bIdxClass)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bIdxClass, err)
	}
	// Occurrences keys hold half the fingerprint now: rebuilt, with the
	// counts, from the records before they are re-encoded.
	if err := tx.DeleteBucket(bOccur); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
		return fmt.Errorf("drop %s: %w", bOccur, err)
	}
	if err := countDistinct(tx); err != nil {
		return err
	}
	c := newCodec(tx, nil)
	findings := tx.Bucket(bFindings)
	// In chunks: a bucket is not written while a cursor walks it, and a
	// whole store's records need not be in memory at once.
	var from []byte
	for {
		var keys, vals [][]byte
		cur := findings.Cursor()
		k, v := cur.First()
		if from != nil {
			if k, v = cur.Seek(from); bytes.Equal(k, from) {
				k, v = cur.Next()
			}
		}
		for ; k != nil && len(keys) < 10000; k, v = cur.Next() {
			if len(k) != KeyLen {
				continue
			}
			rec, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			enc, err := c.encode(rec)
			if err != nil {
				return err
			}
			for _, e := range indexEntries(k, rec) {
				if bytes.Equal(e.bucket, bIdxClass) {
					if err := class.Put([]byte(e.key), nil); err != nil {
						return err
					}
				}
			}
			keys, vals = append(keys, bytes.Clone(k)), append(vals, enc)
		}
		if len(keys) == 0 {
			return nil
		}
		for i, k := range keys {
			if err := findings.Put(k, vals[i]); err != nil {
				return err
			}
		}
		from = keys[len(keys)-1]
	}
}
