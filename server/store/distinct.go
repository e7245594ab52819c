package store

import (
	"bytes"
	"slices"

	bolt "go.etcd.io/bbolt"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// maxRun bounds the fingerprints of one GroupFingerprints message: 512 KiB.
const maxRun = 32 << 10

// GroupFingerprints walks the occurrences of the groups a summary by tenant
// and account counts and calls emit with runs of each group's distinct
// fingerprints (their first occurrenceFPLen bytes), ascending; groups come
// in key order. A fingerprint present under two of the statuses asked for
// (open in one scope, reopened in another) is given once. This is what an
// exact summary over shards merges; memory stays at one run whatever the
// groups' size.
//
// Each run is read in a read transaction of its own, closed before emit is
// called: a slow receiver never holds a transaction open, which would keep
// the writer from growing the file. The walk resumes after the last
// fingerprint given, so runs stay ascending and distinct; what ingest
// changes meanwhile shows in the runs not yet read.
func (s *Store) GroupFingerprints(req *vigilv1.StreamGroupFingerprintsRequest, emit func(*vigilv1.StreamGroupFingerprintsResponse) error) error {
	statuses := slices.Clone(req.GetStatuses())
	if len(statuses) == 0 {
		statuses = []vigilv1.Status{vigilv1.Status_STATUS_OPEN, vigilv1.Status_STATUS_REOPENED}
	}
	slices.Sort(statuses)
	statuses = slices.Compact(statuses)
	var prefix []byte
	if req.GetTenant() != "" {
		prefix = []byte(req.GetTenant() + "\x00")
	}
	w := groupWalk{req: req, statuses: statuses, prefix: prefix, seek: prefix}
	for {
		var msg *vigilv1.StreamGroupFingerprintsResponse
		// The overlay's lock is taken before the transaction begins, so
		// that counts written back meanwhile are still in the overlay.
		s.occ.mu.RLock()
		err := s.db.View(func(tx *bolt.Tx) error {
			msg = w.next(tx.Bucket(bOccur), s.occ)
			return nil
		})
		s.occ.mu.RUnlock()
		if err != nil || msg == nil {
			return err
		}
		if err := emit(msg); err != nil {
			return err
		}
	}
}

// groupWalk is where GroupFingerprints stands between transactions: the
// key to seek the next group from, or the group under way and the last
// fingerprint given of it.
type groupWalk struct {
	req      *vigilv1.StreamGroupFingerprintsRequest
	statuses []vigilv1.Status
	prefix   []byte
	seek     []byte // where the next group is sought, when group is nil
	group    []byte // tenant 0 account 0 pillar severity, of the group under way
	after    []byte // the last fingerprint given of group
}

// next reads the next run, nil when the walk is done.
func (w *groupWalk) next(b *bolt.Bucket, occ *occurrences) *vigilv1.StreamGroupFingerprintsResponse {
	c := b.Cursor()
	for {
		if w.group == nil {
			k, _ := c.Seek(w.seek)
			for k != nil && bytes.HasPrefix(k, w.prefix) && len(k) < occurrenceFPLen+5 {
				k, _ = c.Next()
			}
			var group []byte
			if k != nil && bytes.HasPrefix(k, w.prefix) {
				group = k[:len(k)-occurrenceFPLen-1]
			}
			// The overlay may hold groups the bucket has not seen yet.
			for name := range occ.groups {
				g := []byte(name[:len(name)-1])
				if len(name) >= 5 && bytes.HasPrefix(g, w.prefix) && bytes.Compare([]byte(name), w.seek) >= 0 && (group == nil || bytes.Compare(g, group) < 0) {
					group = g
				}
			}
			if group == nil {
				return nil
			}
			w.group, w.after = bytes.Clone(group), nil
		}
		tenant, account, p, sev, _, ok := parseCountKey(append(bytes.Clone(w.group), 0))
		if ok && (len(w.req.GetTenants()) == 0 || containsTenant(w.req.GetTenants(), tenant)) {
			fps, more := mergeGroup(b, occ, w.group, w.statuses, w.after)
			if len(fps) > 0 {
				msg := &vigilv1.StreamGroupFingerprintsResponse{Tenant: tenant, Account: account, Pillar: p, Severity: sev, Fingerprints: fps}
				if more {
					w.after = bytes.Clone(fps[len(fps)-occurrenceFPLen:])
				} else {
					w.seek, w.group = append(w.group, 0xff), nil
				}
				return msg
			}
		}
		w.seek, w.group = append(w.group, 0xff), nil
	}
}

// mergeGroup merges the fingerprints of one group under each status that
// sort after after into one ascending run without repeats, of at most
// maxRun; more says the group has fingerprints beyond the run.
func mergeGroup(b *bolt.Bucket, occ *occurrences, group []byte, statuses []vigilv1.Status, after []byte) (run []byte, more bool) {
	var curs []fpSource
	for _, st := range statuses {
		prefix := append(bytes.Clone(group), byte(st))
		g := occ.groups[string(prefix)]
		t := &treeSource{c: b.Cursor(), prefix: prefix, overlay: g}
		if t.seek(after) {
			curs = append(curs, t)
		}
		if g != nil {
			o := newOverlaySource(g, after)
			if o.ok() {
				curs = append(curs, o)
			}
		}
	}
	var last []byte
	for len(curs) > 0 {
		low := 0
		for i, r := range curs {
			if bytes.Compare(r.fp(), curs[low].fp()) < 0 {
				low = i
			}
		}
		r := curs[low]
		if fp := r.fp(); last == nil || !bytes.Equal(fp, last) {
			if len(run) >= maxRun*occurrenceFPLen {
				return run, true
			}
			run = append(run, fp...)
			last = run[len(run)-occurrenceFPLen:]
		}
		if !r.next() {
			curs = slices.Delete(curs, low, low+1)
		}
	}
	return run, false
}

// fpSource gives the fingerprints present in one counts key, ascending.
type fpSource interface {
	fp() []byte
	next() bool
}

// treeSource walks the occurrences bucket under prefix, leaving out the
// fingerprints the overlay has a count for (overlaySource gives those).
type treeSource struct {
	c       *bolt.Cursor
	prefix  []byte
	overlay *occGroup
	cur     []byte
}

func (t *treeSource) fp() []byte { return t.cur }

// seek places the walk at the first fingerprint after after.
func (t *treeSource) seek(after []byte) bool {
	k, _ := t.c.Seek(append(bytes.Clone(t.prefix), after...))
	if k != nil && after != nil && bytes.Equal(k[len(k)-min(len(k), occurrenceFPLen):], after) {
		k, _ = t.c.Next()
	}
	return t.settle(k)
}

func (t *treeSource) next() bool {
	k, _ := t.c.Next()
	return t.settle(k)
}

// settle moves from k to the first key the overlay does not shadow.
func (t *treeSource) settle(k []byte) bool {
	for ; k != nil && bytes.HasPrefix(k, t.prefix) && len(k) == len(t.prefix)+occurrenceFPLen; k, _ = t.c.Next() {
		fp := k[len(t.prefix):]
		if t.overlay != nil {
			if _, ok := t.overlay.fps[[occurrenceFPLen]byte(fp)]; ok {
				continue
			}
		}
		t.cur = fp
		return true
	}
	return false
}

// overlaySource gives the overlay's present fingerprints of one counts
// key after a point, ascending.
type overlaySource struct {
	fps [][occurrenceFPLen]byte
	i   int
}

func newOverlaySource(g *occGroup, after []byte) *overlaySource {
	o := &overlaySource{}
	for fp, n := range g.fps {
		if n > 0 && (after == nil || bytes.Compare(fp[:], after) > 0) {
			o.fps = append(o.fps, fp)
		}
	}
	slices.SortFunc(o.fps, func(a, b [occurrenceFPLen]byte) int { return bytes.Compare(a[:], b[:]) })
	return o
}

func (o *overlaySource) ok() bool   { return o.i < len(o.fps) }
func (o *overlaySource) fp() []byte { return o.fps[o.i][:] }
func (o *overlaySource) next() bool { o.i++; return o.ok() }
