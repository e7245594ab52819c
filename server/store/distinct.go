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
func (s *Store) GroupFingerprints(req *vigilv1.StreamGroupFingerprintsRequest, emit func(*vigilv1.StreamGroupFingerprintsResponse) error) error {
	statuses := slices.Clone(req.GetStatuses())
	if len(statuses) == 0 {
		statuses = []vigilv1.Status{vigilv1.Status_STATUS_OPEN, vigilv1.Status_STATUS_REOPENED}
	}
	slices.Sort(statuses)
	statuses = slices.Compact(statuses)
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOccur)
		var prefix []byte
		if req.GetTenant() != "" {
			prefix = []byte(req.GetTenant() + "\x00")
		}
		main := b.Cursor()
		for k, _ := main.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); {
			if len(k) < occurrenceFPLen+5 {
				k, _ = main.Next()
				continue
			}
			group := bytes.Clone(k[:len(k)-occurrenceFPLen-1]) // tenant 0 account 0 pillar severity
			tenant, account, p, sev, _, ok := parseCountKey(k[:len(k)-occurrenceFPLen])
			if ok && (len(req.GetTenants()) == 0 || containsTenant(req.GetTenants(), tenant)) {
				out := &vigilv1.StreamGroupFingerprintsResponse{Tenant: tenant, Account: account, Pillar: p, Severity: sev}
				if err := mergeGroup(b, group, statuses, out, emit); err != nil {
					return err
				}
			}
			k, _ = main.Seek(append(group, 0xff))
		}
		return nil
	})
}

// mergeGroup merges the fingerprints of one group under each status into
// one ascending run without repeats, emitted in pieces of at most maxRun.
func mergeGroup(b *bolt.Bucket, group []byte, statuses []vigilv1.Status, out *vigilv1.StreamGroupFingerprintsResponse, emit func(*vigilv1.StreamGroupFingerprintsResponse) error) error {
	type run struct {
		c      *bolt.Cursor
		prefix []byte
		fp     []byte
	}
	var runs []*run
	for _, st := range statuses {
		r := &run{c: b.Cursor(), prefix: append(bytes.Clone(group), byte(st))}
		if k, _ := r.c.Seek(r.prefix); k != nil && bytes.HasPrefix(k, r.prefix) && len(k) == len(r.prefix)+occurrenceFPLen {
			r.fp = k[len(r.prefix):]
			runs = append(runs, r)
		}
	}
	var buf []byte
	var last []byte
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		msg := &vigilv1.StreamGroupFingerprintsResponse{Tenant: out.Tenant, Account: out.Account, Pillar: out.Pillar, Severity: out.Severity, Fingerprints: buf}
		buf = nil
		return emit(msg)
	}
	for len(runs) > 0 {
		min := 0
		for i, r := range runs {
			if bytes.Compare(r.fp, runs[min].fp) < 0 {
				min = i
			}
		}
		r := runs[min]
		if last == nil || !bytes.Equal(r.fp, last) {
			buf = append(buf, r.fp...)
			last = buf[len(buf)-occurrenceFPLen:]
			if len(buf) >= maxRun*occurrenceFPLen {
				last = bytes.Clone(last)
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if k, _ := r.c.Next(); k != nil && bytes.HasPrefix(k, r.prefix) && len(k) == len(r.prefix)+occurrenceFPLen {
			r.fp = k[len(r.prefix):]
		} else {
			runs = slices.Delete(runs, min, min+1)
		}
	}
	return flush()
}
