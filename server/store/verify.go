package store

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Verify checks the invariants of the layout written in store.go against
// the data: every finding decodes and has exactly its index entries, the
// indexes hold nothing else, the counts equal a recount, and each scope's
// present count and digest equal its findings'. It reads everything, so it
// is for tests, `vigil-server check` and after a restore.
func (s *Store) Verify() error {
	return s.db.View(func(tx *bolt.Tx) error {
		var errs []error
		fail := func(format string, args ...any) {
			if len(errs) < 20 {
				errs = append(errs, fmt.Errorf(format, args...))
			}
		}
		want := map[string]map[string]bool{}
		for _, b := range indexBuckets {
			want[string(b)] = map[string]bool{}
		}
		counts := map[string]uint64{}
		type scopeSum struct {
			present, records uint64
			digest           finding.Digest
		}
		scopes := map[string]*scopeSum{}
		err := tx.Bucket(bFindings).ForEach(func(k, v []byte) error {
			if len(k) != KeyLen {
				fail("finding key %x: length %d", k, len(k))
				return nil
			}
			rec, err := decodeRecord(k, v)
			if err != nil {
				fail("%v", err)
				return nil
			}
			for _, e := range indexEntries(k, rec) {
				if e.bucket != nil {
					want[string(e.bucket)][e.key] = true
				}
			}
			counts[string(countKey(rec))]++
			sid := string(k[:finding.ScopeIDLen])
			sum := scopes[sid]
			if sum == nil {
				sum = &scopeSum{}
				scopes[sid] = sum
			}
			sum.records++
			if present(rec.Stored.Status) {
				sum.present++
				sum.digest.Toggle(rec.Stored.Finding.Fingerprint)
			}
			if (rec.Stored.Status == vigilv1.Status_STATUS_SUPPRESSED) != (rec.Stored.Suppression != nil) {
				fail("finding %x: status %s with suppression %v", k, rec.Stored.Status, rec.Stored.Suppression != nil)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, b := range indexBuckets {
			w := want[string(b)]
			seen := 0
			err := tx.Bucket(b).ForEach(func(k, _ []byte) error {
				if !w[string(k)] {
					fail("index %s: stray entry %x", b, k)
				} else {
					seen++
				}
				return nil
			})
			if err != nil {
				return err
			}
			if seen != len(w) {
				fail("index %s: %d entries missing", b, len(w)-seen)
			}
		}
		err = tx.Bucket(bCounts).ForEach(func(k, v []byte) error {
			if counts[string(k)] != u64(v) {
				fail("counts %q: stored %d, recount %d", k, u64(v), counts[string(k)])
			}
			delete(counts, string(k))
			return nil
		})
		if err != nil {
			return err
		}
		for k, n := range counts {
			fail("counts %q: missing, recount %d", k, n)
		}
		err = tx.Bucket(bScopes).ForEach(func(k, v []byte) error {
			sr := &vigilv1.ScopeRecord{}
			if err := proto.Unmarshal(v, sr); err != nil {
				fail("scope %x: %v", k, err)
				return nil
			}
			sum := scopes[string(k)]
			if sum == nil {
				sum = &scopeSum{}
			}
			delete(scopes, string(k))
			var d finding.Digest
			copy(d[:], sr.Digest)
			if sr.Present != sum.present || !bytes.Equal(d[:], sum.digest[:]) || sr.Records != sum.records {
				fail("scope %x: present %d/%d, records %d/%d, digest match %v", k, sr.Present, sum.present, sr.Records, sum.records, d == sum.digest)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for k, sum := range scopes {
			if sum.records > 0 {
				fail("findings of scope %x have no scope record", k)
			}
		}
		return errors.Join(errs...)
	})
}
