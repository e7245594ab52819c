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
		err := s.db.View(func(tx *bolt.Tx) error {
			msg = w.next(tx.Bucket(bOccur))
			return nil
		})
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
func (w *groupWalk) next(b *bolt.Bucket) *vigilv1.StreamGroupFingerprintsResponse {
	c := b.Cursor()
	for {
		if w.group == nil {
			k, _ := c.Seek(w.seek)
			for k != nil && bytes.HasPrefix(k, w.prefix) && len(k) < occurrenceFPLen+5 {
				k, _ = c.Next()
			}
			if k == nil || !bytes.HasPrefix(k, w.prefix) {
				return nil
			}
			w.group, w.after = bytes.Clone(k[:len(k)-occurrenceFPLen-1]), nil
		}
		tenant, account, p, sev, _, ok := parseCountKey(append(bytes.Clone(w.group), 0))
		if ok && (len(w.req.GetTenants()) == 0 || containsTenant(w.req.GetTenants(), tenant)) {
			fps, more := mergeGroup(b, w.group, w.statuses, w.after)
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
func mergeGroup(b *bolt.Bucket, group []byte, statuses []vigilv1.Status, after []byte) (run []byte, more bool) {
	type cur struct {
		c      *bolt.Cursor
		prefix []byte
		fp     []byte
	}
	var curs []*cur
	for _, st := range statuses {
		r := &cur{c: b.Cursor(), prefix: append(bytes.Clone(group), byte(st))}
		k, _ := r.c.Seek(append(bytes.Clone(r.prefix), after...))
		if k != nil && after != nil && bytes.Equal(k[len(k)-min(len(k), occurrenceFPLen):], after) {
			k, _ = r.c.Next()
		}
		if k != nil && bytes.HasPrefix(k, r.prefix) && len(k) == len(r.prefix)+occurrenceFPLen {
			r.fp = k[len(r.prefix):]
			curs = append(curs, r)
		}
	}
	var last []byte
	for len(curs) > 0 {
		low := 0
		for i, r := range curs {
			if bytes.Compare(r.fp, curs[low].fp) < 0 {
				low = i
			}
		}
		r := curs[low]
		if last == nil || !bytes.Equal(r.fp, last) {
			if len(run) >= maxRun*occurrenceFPLen {
				return run, true
			}
			run = append(run, r.fp...)
			last = run[len(run)-occurrenceFPLen:]
		}
		if k, _ := r.c.Next(); k != nil && bytes.HasPrefix(k, r.prefix) && len(k) == len(r.prefix)+occurrenceFPLen {
			r.fp = k[len(r.prefix):]
		} else {
			curs = slices.Delete(curs, low, low+1)
		}
	}
	return run, false
}
