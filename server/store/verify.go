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
	// Writers wait for the check: the occurrences overlay must be that of
	// the transaction read.
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.db.View(func(tx *bolt.Tx) error {
		v := &verifier{want: map[string]map[string]bool{}, counts: map[string]uint64{}, occ: map[string]uint64{}, scopes: map[string]*scopeSum{}, overlay: s.occ}
		for _, b := range indexBuckets {
			v.want[string(b)] = map[string]bool{}
		}
		for _, step := range []func(*bolt.Tx) error{v.findings, v.indexes, v.countsMatch, v.scopesMatch} {
			if err := step(tx); err != nil {
				return err
			}
		}
		return errors.Join(v.errs...)
	})
}

// verifier recounts the store from its findings and compares.
type verifier struct {
	errs []error
	// want holds the index entries the findings call for, by bucket.
	want map[string]map[string]bool
	// occ are the scopes per counts key and fingerprint; counts the
	// distinct fingerprints per counts key, derived from occ.
	occ    map[string]uint64
	counts map[string]uint64
	scopes map[string]*scopeSum
	// overlay holds the occurrence counts not yet in the bucket.
	overlay *occurrences
}

// scopeSum is what a scope's findings add up to.
type scopeSum struct {
	present, records uint64
	digest           finding.Digest
}

// fail records a broken invariant; the first 20 are kept.
func (v *verifier) fail(format string, args ...any) {
	if len(v.errs) < 20 {
		v.errs = append(v.errs, fmt.Errorf(format, args...))
	}
}

// findings decodes every finding and sums what it calls for.
func (v *verifier) findings(tx *bolt.Tx) error {
	codec := newCodec(tx, nil)
	return tx.Bucket(bFindings).ForEach(func(k, val []byte) error {
		if len(k) != KeyLen {
			v.fail("finding key %x: length %d", k, len(k))
			return nil
		}
		rec, err := codec.decode(k, val)
		if err != nil {
			v.fail("%v", err)
			return nil
		}
		for _, e := range indexEntries(k, rec) {
			if e.bucket != nil {
				v.want[string(e.bucket)][e.key] = true
			}
		}
		v.occ[occurrenceKey(k, rec)]++
		sid := string(k[:finding.ScopeIDLen])
		sum := v.scopes[sid]
		if sum == nil {
			sum = &scopeSum{}
			v.scopes[sid] = sum
		}
		sum.records++
		if present(rec.Stored.Status) {
			sum.present++
			sum.digest.Toggle(rec.Stored.Finding.Fingerprint)
		}
		if (rec.Stored.Status == vigilv1.Status_STATUS_SUPPRESSED) != (rec.Stored.Suppression != nil) {
			v.fail("finding %x: status %s with suppression %v", k, rec.Stored.Status, rec.Stored.Suppression != nil)
		}
		return nil
	})
}

// indexes checks that each index holds exactly the entries called for.
func (v *verifier) indexes(tx *bolt.Tx) error {
	for _, b := range indexBuckets {
		w := v.want[string(b)]
		seen := 0
		err := tx.Bucket(b).ForEach(func(k, _ []byte) error {
			if !w[string(k)] {
				v.fail("index %s: stray entry %x", b, k)
			} else {
				seen++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if seen != len(w) {
			v.fail("index %s: %d entries missing", b, len(w)-seen)
		}
	}
	return nil
}

// countsMatch checks the stored occurrences and counts against the
// recount: counts are the distinct fingerprints of each group.
func (v *verifier) countsMatch(tx *bolt.Tx) error {
	for k := range v.occ {
		v.counts[k[:len(k)-occurrenceFPLen]]++
	}
	// A file marked as lagging its overlay with no overlay here (opened
	// read-only while its writer runs, or left by a process that ended
	// without closing it) has occurrences only the next writable open
	// rebuilds; its counts are exact and still checked.
	if v.overlay.n > 0 || tx.Bucket(bMeta).Get(keyOccurPending) == nil || v.overlay.marked {
		if err := v.occurrencesMatch(tx); err != nil {
			return err
		}
	}
	err := tx.Bucket(bCounts).ForEach(func(k, val []byte) error {
		if v.counts[string(k)] != u64(val) {
			v.fail("counts %q: stored %d, recount %d", k, u64(val), v.counts[string(k)])
		}
		delete(v.counts, string(k))
		return nil
	})
	for k, n := range v.counts {
		v.fail("counts %q: missing, recount %d", k, n)
	}
	return err
}

// occurrencesMatch checks the occurrences, the overlay's counts over the
// bucket's, against the recount.
func (v *verifier) occurrencesMatch(tx *bolt.Tx) error {
	stored := func(k string, bucket uint64) uint64 {
		if n, ok := v.overlay.lookup(k); ok {
			return n
		}
		return bucket
	}
	err := tx.Bucket(bOccur).ForEach(func(k, val []byte) error {
		if n := stored(string(k), u64(val)); v.occ[string(k)] != n {
			v.fail("occurrences %x: stored %d, recount %d", k, n, v.occ[string(k)])
		}
		delete(v.occ, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	for group, g := range v.overlay.groups {
		for fp, n := range g.fps {
			k := group + string(fp[:])
			if tx.Bucket(bOccur).Get([]byte(k)) != nil {
				continue // compared above
			}
			if v.occ[k] != n {
				v.fail("occurrences %x: stored %d, recount %d", k, n, v.occ[k])
			}
			delete(v.occ, k)
		}
	}
	for k, n := range v.occ {
		v.fail("occurrences %x: missing, recount %d", k, n)
	}
	return nil
}

// scopesMatch checks each scope record's present count, record count and
// digest against its findings, and that findings have a scope record.
func (v *verifier) scopesMatch(tx *bolt.Tx) error {
	err := tx.Bucket(bScopes).ForEach(func(k, val []byte) error {
		sr := &vigilv1.ScopeRecord{}
		if err := proto.Unmarshal(val, sr); err != nil {
			v.fail("scope %x: %v", k, err)
			return nil
		}
		sum := v.scopes[string(k)]
		if sum == nil {
			sum = &scopeSum{}
		}
		delete(v.scopes, string(k))
		var d finding.Digest
		copy(d[:], sr.Digest)
		if sr.Present != sum.present || !bytes.Equal(d[:], sum.digest[:]) || sr.Records != sum.records {
			v.fail("scope %x: present %d/%d, records %d/%d, digest match %v", k, sr.Present, sum.present, sr.Records, sum.records, d == sum.digest)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k, sum := range v.scopes {
		if sum.records > 0 {
			v.fail("findings of scope %x have no scope record", k)
		}
	}
	return nil
}
