package store

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Occurrences are keyed by fingerprint, which is random: written in the
// transaction of each change, every new finding dirtied a page of its own
// (about 4 KB written per finding at a million findings, most of ingest's
// write time). So changed occurrence counts are held in memory, in the
// overlay, and written to the bucket later, many at a time, where a page
// then carries many changes. Invariants:
//
//   - the overlay's value for a key, when it has one, is the true count
//     (zero: the key is gone); otherwise the bucket's is. Counts in the
//     counts bucket are written in every transaction and are always exact.
//   - the overlay changes only after the transaction that made the change
//     committed, under Store.writeMu, so it never holds what a rolled-back
//     transaction did.
//   - while the overlay holds anything not yet in the bucket, meta holds
//     keyOccurPending, set in the transaction that first adds to the
//     overlay and removed by the one that empties it. A store opened with
//     the mark left (the process ended without Close) rebuilds the
//     occurrences, and the counts with them, from the findings.
//   - the overlay is written back a part at a time once it holds more than
//     its limit, from the group with most entries, from where that group's
//     last write stopped: a part covers a run of the group's keys, so each
//     page it dirties carries several changes.

// keyOccurPending marks a store whose occurrences bucket lags its overlay.
var keyOccurPending = []byte("occurrences_pending")

// DefaultOccurrenceOverlay is the number of changed occurrence counts held
// in memory before they are written back: about 40 MB.
const DefaultOccurrenceOverlay = 1 << 20

// occurrences is the in-memory overlay of the occurrences bucket.
type occurrences struct {
	mu     sync.RWMutex
	groups map[string]*occGroup // by counts key
	n      int
	limit  int
	marked bool // keyOccurPending is in meta
}

// occGroup is the overlay of one counts key: counts by fingerprint, and
// where the last write-back of the group stopped.
type occGroup struct {
	fps  map[[occurrenceFPLen]byte]uint64
	next [occurrenceFPLen]byte
}

func newOccurrences(limit int) *occurrences {
	if limit <= 0 {
		limit = DefaultOccurrenceOverlay
	}
	return &occurrences{groups: map[string]*occGroup{}, limit: limit}
}

// splitOccKey splits an occurrences key into its counts key and fingerprint.
func splitOccKey(k string) (string, [occurrenceFPLen]byte) {
	var fp [occurrenceFPLen]byte
	copy(fp[:], k[len(k)-occurrenceFPLen:])
	return k[:len(k)-occurrenceFPLen], fp
}

// lookup returns the overlay's count for key and whether it has one. The
// writer calls it under writeMu, so it needs no lock: only the writer
// changes the overlay.
func (o *occurrences) lookup(k string) (uint64, bool) {
	group, fp := splitOccKey(k)
	g := o.groups[group]
	if g == nil {
		return 0, false
	}
	n, ok := g.fps[fp]
	return n, ok
}

// apply records the counts of a committed transaction.
func (o *occurrences) apply(staged map[string]uint64) {
	if len(staged) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, n := range staged {
		group, fp := splitOccKey(k)
		g := o.groups[group]
		if g == nil {
			g = &occGroup{fps: map[[occurrenceFPLen]byte]uint64{}}
			o.groups[group] = g
		}
		if _, ok := g.fps[fp]; !ok {
			o.n++
		}
		g.fps[fp] = n
	}
}

// occEntry is one count to write back.
type occEntry struct {
	key string
	n   uint64
}

// part picks up to size entries to write back: runs of the largest groups,
// each from where its previous write-back stopped, in key order.
func (o *occurrences) part(size int) []occEntry {
	names := make([]string, 0, len(o.groups))
	for name := range o.groups {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(o.groups[b].fps), len(o.groups[a].fps)), cmp.Compare(a, b))
	})
	var out []occEntry
	for _, name := range names {
		if len(out) >= size {
			break
		}
		g := o.groups[name]
		fps := make([][occurrenceFPLen]byte, 0, len(g.fps))
		for fp := range g.fps {
			fps = append(fps, fp)
		}
		slices.SortFunc(fps, func(a, b [occurrenceFPLen]byte) int { return bytes.Compare(a[:], b[:]) })
		// Start at the first fingerprint after the last written, wrap.
		start, _ := slices.BinarySearchFunc(fps, g.next, func(a, b [occurrenceFPLen]byte) int { return bytes.Compare(a[:], b[:]) })
		take := min(len(fps), size-len(out))
		run := append(fps[start:len(fps):len(fps)], fps[:start]...)[:take]
		g.next = increment(run[len(run)-1])
		for _, fp := range run {
			out = append(out, occEntry{key: name + string(fp[:]), n: g.fps[fp]})
		}
	}
	slices.SortFunc(out, func(a, b occEntry) int { return cmp.Compare(a.key, b.key) })
	return out
}

// increment returns fp+1 (wrapping at the top, where the next part starts
// again from the bottom).
func increment(fp [occurrenceFPLen]byte) [occurrenceFPLen]byte {
	for i := len(fp) - 1; i >= 0; i-- {
		fp[i]++
		if fp[i] != 0 {
			break
		}
	}
	return fp
}

// drop removes entries written back (their counts are now the bucket's).
func (o *occurrences) drop(done []occEntry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range done {
		group, fp := splitOccKey(e.key)
		g := o.groups[group]
		if g == nil {
			continue
		}
		if n, ok := g.fps[fp]; ok && n == e.n {
			delete(g.fps, fp)
			o.n--
		}
		if len(g.fps) == 0 {
			delete(o.groups, group)
		}
	}
}

// occurrenceCount returns the count of an occurrences key: the overlay's
// when it has one, else the bucket's. For the writer (see lookup).
func (w *Writer) occurrenceCount(k string) uint64 {
	if n, ok := w.staged[k]; ok {
		return n
	}
	if w.occ != nil {
		if n, ok := w.occ.lookup(k); ok {
			return n
		}
	}
	return u64(w.tx.Bucket(bOccur).Get([]byte(k)))
}

// writeBack writes up to size overlay entries to the occurrences bucket in
// one transaction; with all true it repeats until the overlay is empty.
// The caller holds writeMu.
func (s *Store) writeBack(size int, all bool) error {
	for s.occ.n > 0 {
		part := s.occ.part(size)
		empties := len(part) == s.occ.n
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bOccur)
			for _, e := range part {
				var err error
				if e.n == 0 {
					err = b.Delete([]byte(e.key))
				} else {
					err = b.Put([]byte(e.key), putU64(e.n))
				}
				if err != nil {
					return fmt.Errorf("occurrences: %w", err)
				}
			}
			if empties {
				return tx.Bucket(bMeta).Delete(keyOccurPending)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write back occurrences: %w", err)
		}
		s.occ.drop(part)
		if empties {
			s.occ.marked = false
		}
		if !all {
			return nil
		}
	}
	return nil
}

// afterCommit applies a committed writer's occurrence counts to the
// overlay and, once it holds more than its limit, writes part of it back.
// The caller holds writeMu.
func (s *Store) afterCommit(w *Writer) error {
	s.occ.apply(w.staged)
	if w.marks {
		s.occ.marked = true
	}
	if s.occ.n <= s.occ.limit {
		return nil
	}
	return s.writeBack(max(s.occ.limit/8, s.occ.n-s.occ.limit), false)
}

// recoverOccurrences rebuilds the occurrences and the counts from the
// findings when the store was left with occurrences not written back.
func recoverOccurrences(tx *bolt.Tx, path string) error {
	meta := tx.Bucket(bMeta)
	if meta.Get(keyOccurPending) == nil {
		return nil
	}
	slog.Warn("store was not closed: rebuilding occurrence counts from the findings", "path", path)
	n := map[string]uint64{}
	codec := newCodec(tx, nil)
	err := tx.Bucket(bFindings).ForEach(func(k, v []byte) error {
		if len(k) != KeyLen {
			return nil
		}
		rec, err := codec.decode(k, v)
		if err != nil {
			return err
		}
		n[occurrenceKey(k, rec)]++
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild occurrences: %w", err)
	}
	for _, name := range [][]byte{bOccur, bCounts} {
		if err := tx.DeleteBucket(name); err != nil {
			return fmt.Errorf("rebuild occurrences: drop %s: %w", name, err)
		}
	}
	occ, err := tx.CreateBucket(bOccur)
	if err != nil {
		return fmt.Errorf("rebuild occurrences: %w", err)
	}
	counts, err := tx.CreateBucket(bCounts)
	if err != nil {
		return fmt.Errorf("rebuild occurrences: %w", err)
	}
	distinct := map[string]uint64{}
	for _, k := range sortedKeys(n) {
		if err := occ.Put([]byte(k), putU64(n[k])); err != nil {
			return fmt.Errorf("rebuild occurrences: %w", err)
		}
		distinct[k[:len(k)-occurrenceFPLen]]++
	}
	for _, k := range sortedKeys(distinct) {
		if err := counts.Put([]byte(k), putU64(distinct[k])); err != nil {
			return fmt.Errorf("rebuild occurrences: %w", err)
		}
	}
	return meta.Delete(keyOccurPending)
}
