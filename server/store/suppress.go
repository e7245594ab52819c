package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Suppressions (exceptions) and their lifecycle.
//
// Invariants:
//   - A finding is SUPPRESSED exactly when, at its last change, an active
//     suppression or its own unexpired exemption selected it; its record
//     then holds that suppression (Id empty for an exemption).
//   - idx_expiry holds an entry for every SUPPRESSED finding whose
//     suppression expires, keyed by the expiry, so the sweep reads only
//     what is due.
//   - Every create, revoke and expiry writes one audit entry in the same
//     transaction, and every finding it changes one lifecycle event.

// ErrInvalid reports a request the store refuses.
var ErrInvalid = errors.New("invalid request")

// ExpiryActor is the actor of audit entries written by expiry.
const ExpiryActor = "expiry"

// ValidateSuppression checks a suppression before it is stored: it must
// select by fingerprint, or by check id, and name a reason.
func ValidateSuppression(s *vigilv1.Suppression, now time.Time) error {
	switch {
	case s.GetFingerprint() == "" && s.GetCheckId() == "":
		return fmt.Errorf("%w: a suppression needs a fingerprint or a check id", ErrInvalid)
	case s.GetFingerprint() != "" && len(s.GetFingerprint()) != 64:
		return fmt.Errorf("%w: fingerprint %q is not 64 hex digits", ErrInvalid, s.GetFingerprint())
	case s.GetReason() == "":
		return fmt.Errorf("%w: a suppression needs a reason", ErrInvalid)
	case s.GetExpires() != nil && !s.GetExpires().AsTime().After(now):
		return fmt.Errorf("%w: expiry %s is in the past", ErrInvalid, s.GetExpires().AsTime().Format(time.RFC3339))
	}
	if s.GetFingerprint() != "" {
		if _, err := hex.DecodeString(s.GetFingerprint()); err != nil {
			return fmt.Errorf("%w: fingerprint %q is not hex", ErrInvalid, s.GetFingerprint())
		}
	}
	if p := s.GetNamePattern(); p != "" {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("%w: name pattern %q: %v", ErrInvalid, p, err)
		}
	}
	return nil
}

// Active reports whether a suppression is in force at now.
func Active(s *vigilv1.Suppression, now time.Time) bool {
	return s.GetEnded() == nil && (s.GetExpires() == nil || s.GetExpires().AsTime().After(now))
}

// ranOut reports whether a suppression still in force has expired by now.
func ranOut(s *vigilv1.Suppression, now time.Time) bool {
	return s.GetEnded() == nil && s.GetExpires() != nil && !s.GetExpires().AsTime().After(now)
}

// expiryLimit is the idx_expiry key prefix of now: entries up to it are due.
func expiryLimit(now time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
}

// Selects reports whether a suppression selects a finding.
func Selects(s *vigilv1.Suppression, f *vigilv1.Finding) bool {
	res := f.GetResource()
	switch {
	case s.GetFingerprint() != "" && s.GetFingerprint() != f.GetFingerprint(),
		s.GetCheckId() != "" && s.GetCheckId() != f.GetCheckId(),
		s.GetTenant() != "" && s.GetTenant() != res.GetTenant(),
		s.GetAccount() != "" && s.GetAccount() != res.GetAccount(),
		s.GetNamespace() != "" && s.GetNamespace() != res.GetNamespace():
		return false
	}
	if p := s.GetNamePattern(); p != "" {
		byName, _ := path.Match(p, res.GetName())
		byURI, _ := path.Match(p, res.GetUri())
		return byName || byURI
	}
	return true
}

// exemptionOf turns a finding's own unexpired exemption into the
// suppression its record holds.
func exemptionOf(f *vigilv1.Finding, now time.Time) *vigilv1.Suppression {
	e := f.GetExemption()
	if e == nil || e.Expires != nil && !e.Expires.AsTime().After(now) {
		return nil
	}
	return &vigilv1.Suppression{CheckId: f.GetCheckId(), Fingerprint: f.GetFingerprint(), Tenant: f.GetResource().GetTenant(),
		Reason: e.GetReason(), Author: e.GetSource(), Expires: e.GetExpires()}
}

// active loads the suppressions in force, once per transaction.
func (w *Writer) active(now time.Time) ([]*vigilv1.Suppression, error) {
	if w.supps != nil {
		return w.supps, nil
	}
	w.supps = []*vigilv1.Suppression{}
	c := w.tx.Bucket(bSupp).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		s := &vigilv1.Suppression{}
		if err := proto.Unmarshal(v, s); err != nil {
			return nil, fmt.Errorf("decode suppression %s: %w", k, err)
		}
		if Active(s, now) {
			w.supps = append(w.supps, s)
		}
	}
	return w.supps, nil
}

// suppressionFor is the suppression a finding falls under at now, skipping
// the one with id skip (being revoked or expired); nil when none.
func (w *Writer) suppressionFor(f *vigilv1.Finding, now time.Time, skip string) (*vigilv1.Suppression, error) {
	if e := exemptionOf(f, now); e != nil {
		return e, nil
	}
	list, err := w.active(now)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		if s.Id != skip && Active(s, now) && Selects(s, f) {
			return s, nil
		}
	}
	return nil, nil
}

// CreateSuppression stores a suppression (author and creation time set by
// the caller) and suppresses the open findings it selects. It returns the
// stored suppression and the number of findings suppressed.
func (w *Writer) CreateSuppression(s *vigilv1.Suppression, now time.Time) (*vigilv1.Suppression, uint64, error) {
	if err := ValidateSuppression(s, now); err != nil {
		return nil, 0, err
	}
	s = proto.Clone(s).(*vigilv1.Suppression)
	s.Id = newID(now)
	s.Created = timestamppb.New(now)
	s.Ended, s.EndedBy = nil, ""
	if err := w.putSuppression(s); err != nil {
		return nil, 0, err
	}
	if w.supps != nil {
		w.supps = append(w.supps, s)
	}
	ts := timestamppb.New(now)
	var n uint64
	err := w.candidates(s, func(key []byte, rec *vigilv1.FindingRecord) error {
		st := rec.Stored.Status
		if st != vigilv1.Status_STATUS_OPEN && st != vigilv1.Status_STATUS_REOPENED || !Selects(s, rec.Stored.Finding) {
			return nil
		}
		n++
		return w.setSuppressed(key, rec, s, ts)
	})
	if err != nil {
		return nil, 0, err
	}
	return s, n, w.audit(now, s.Author, "create", s, n)
}

// RevokeSuppression ends a suppression now; the findings it held are open
// again unless another suppression selects them.
func (w *Writer) RevokeSuppression(id, actor string, now time.Time) (*vigilv1.Suppression, uint64, error) {
	s, err := w.getSuppression(id)
	if err != nil {
		return nil, 0, err
	}
	if s.Ended != nil {
		return nil, 0, fmt.Errorf("%w: suppression %s already ended at %s", ErrInvalid, id, s.Ended.AsTime().Format(time.RFC3339))
	}
	s.Ended, s.EndedBy = timestamppb.New(now), actor
	if err := w.putSuppression(s); err != nil {
		return nil, 0, err
	}
	n, err := w.release(s, now)
	if err != nil {
		return nil, 0, err
	}
	return s, n, w.audit(now, actor, "revoke", s, n)
}

// ExpireSuppressions ends the suppressions and exemptions whose expiry has
// passed and opens the findings they held. It returns how many findings
// changed.
func (w *Writer) ExpireSuppressions(now time.Time) (uint64, error) {
	var due []*vigilv1.Suppression
	c := w.tx.Bucket(bSupp).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		s := &vigilv1.Suppression{}
		if err := proto.Unmarshal(v, s); err != nil {
			return 0, fmt.Errorf("decode suppression %s: %w", k, err)
		}
		if ranOut(s, now) {
			due = append(due, s)
		}
	}
	var total uint64
	for _, s := range due {
		s.Ended, s.EndedBy = s.Expires, ExpiryActor
		if err := w.putSuppression(s); err != nil {
			return 0, err
		}
		w.supps = nil
		n, err := w.release(s, now)
		if err != nil {
			return 0, err
		}
		total += n
		if err := w.audit(now, ExpiryActor, "expire", s, n); err != nil {
			return 0, err
		}
	}
	// Exemptions that ran out: the idx_expiry entries up to now.
	if err := w.Flush(); err != nil {
		return 0, err
	}
	limit := expiryLimit(now)
	keys, _ := indexKeys(w.tx.Bucket(bIdxExpiry).Cursor(), nil, func(k []byte) bool { return bytes.Compare(k[:8], limit) <= 0 }, 0)
	ts := timestamppb.New(now)
	for _, key := range keys {
		rec, err := w.get(key)
		if err != nil || rec == nil || rec.Stored.Status != vigilv1.Status_STATUS_SUPPRESSED {
			if err != nil {
				return 0, err
			}
			continue
		}
		if err := w.reconsider(key, rec, now, ts, ""); err != nil {
			return 0, err
		}
		total++
	}
	return total, nil
}

// ExpiryDue reports, reading only, whether a suppression or an exemption
// has run out by now, so the periodic sweep writes nothing when nothing
// changed.
func (s *Store) ExpiryDue(now time.Time) (bool, error) {
	due := false
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bIdxExpiry).Cursor().First(); k != nil && bytes.Compare(k[:8], expiryLimit(now)) <= 0 {
			due = true
			return nil
		}
		return tx.Bucket(bSupp).ForEach(func(k, v []byte) error {
			sp := &vigilv1.Suppression{}
			if err := proto.Unmarshal(v, sp); err != nil {
				return fmt.Errorf("decode suppression %s: %w", k, err)
			}
			due = due || ranOut(sp, now)
			return nil
		})
	})
	return due, err
}

// release re-decides every finding a suppression holds.
func (w *Writer) release(s *vigilv1.Suppression, now time.Time) (uint64, error) {
	ts := timestamppb.New(now)
	var n uint64
	err := w.candidates(s, func(key []byte, rec *vigilv1.FindingRecord) error {
		if rec.Stored.Status != vigilv1.Status_STATUS_SUPPRESSED || rec.Stored.GetSuppression().GetId() != s.Id {
			return nil
		}
		n++
		return w.reconsider(key, rec, now, ts, s.Id)
	})
	return n, err
}

// reconsider moves a suppressed finding under another suppression that
// selects it, or opens it with an UNSUPPRESSED event.
func (w *Writer) reconsider(key []byte, old *vigilv1.FindingRecord, now time.Time, ts *timestamppb.Timestamp, skip string) error {
	rec := proto.Clone(old).(*vigilv1.FindingRecord)
	other, err := w.suppressionFor(rec.Stored.Finding, now, skip)
	if err != nil {
		return err
	}
	if other != nil {
		if proto.Equal(other, old.Stored.Suppression) {
			return nil
		}
		rec.Stored.Suppression = other
		return w.put(key, old, rec)
	}
	return w.transition(key, old, vigilv1.Status_STATUS_OPEN, nil, vigilv1.EventType_EVENT_TYPE_UNSUPPRESSED, ts)
}

// setSuppressed marks a present finding suppressed by s.
func (w *Writer) setSuppressed(key []byte, old *vigilv1.FindingRecord, s *vigilv1.Suppression, ts *timestamppb.Timestamp) error {
	return w.transition(key, old, vigilv1.Status_STATUS_SUPPRESSED, s, vigilv1.EventType_EVENT_TYPE_SUPPRESSED, ts)
}

// transition moves a finding to status under suppression s (nil for
// none) and records the event.
func (w *Writer) transition(key []byte, old *vigilv1.FindingRecord, status vigilv1.Status, s *vigilv1.Suppression, ev vigilv1.EventType, ts *timestamppb.Timestamp) error {
	rec := proto.Clone(old).(*vigilv1.FindingRecord)
	rec.Stored.Status, rec.Stored.Suppression, rec.Stored.LastChange = status, s, ts
	if err := w.put(key, old, rec); err != nil {
		return err
	}
	sr, err := w.scopeByID(key)
	if err != nil {
		return err
	}
	w.event(ev, key, rec, sr, ts)
	return nil
}

// candidates calls fn for every finding a suppression could select: those
// of its check (through the check index) or of its fingerprint.
func (w *Writer) candidates(s *vigilv1.Suppression, fn func(key []byte, rec *vigilv1.FindingRecord) error) error {
	if err := w.Flush(); err != nil {
		return err
	}
	var keys [][]byte
	if s.Fingerprint != "" {
		// No fingerprint index (see store.go): walk the keys.
		fp, _ := hex.DecodeString(s.Fingerprint)
		c := w.findings.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) == KeyLen && bytes.Equal(k[finding.ScopeIDLen:], fp) {
				keys = append(keys, append([]byte(nil), k...))
			}
		}
	} else {
		prefix := []byte(s.CheckId + "\x00")
		keys, _ = indexKeys(w.tx.Bucket(bIdxCheck).Cursor(), prefix, func(k []byte) bool { return bytes.HasPrefix(k, prefix) }, 0)
	}
	for _, key := range keys {
		rec, err := w.get(key)
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		if err := fn(key, rec); err != nil {
			return err
		}
	}
	return nil
}

// indexKeys collects the finding keys that end the entries of an index
// cursor, from start (the first entry when nil) while more holds, at most
// max of them (0: no bound); next is the entry after the last one taken
// when max stopped the walk.
func indexKeys(c *bolt.Cursor, start []byte, more func(k []byte) bool, max int) (keys [][]byte, next []byte) {
	k, _ := c.First()
	if start != nil {
		k, _ = c.Seek(start)
	}
	for ; k != nil && more(k); k, _ = c.Next() {
		if max > 0 && len(keys) == max {
			return keys, append([]byte(nil), k...)
		}
		if len(k) >= KeyLen {
			keys = append(keys, append([]byte(nil), k[len(k)-KeyLen:]...))
		}
	}
	return keys, nil
}

func (w *Writer) scopeByID(key []byte) (*vigilv1.ScopeRecord, error) {
	var id [finding.ScopeIDLen]byte
	copy(id[:], key)
	if r, ok := w.scopeCache[id]; ok {
		return r, nil
	}
	r := &vigilv1.ScopeRecord{}
	if v := w.scopes.Get(id[:]); v != nil {
		if err := proto.Unmarshal(v, r); err != nil {
			return nil, fmt.Errorf("decode scope %x: %w", id, err)
		}
	}
	w.scopeCache[id] = r
	return r, nil
}

func (w *Writer) getSuppression(id string) (*vigilv1.Suppression, error) {
	v := w.tx.Bucket(bSupp).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("%w: suppression %q", ErrNotFound, id)
	}
	s := &vigilv1.Suppression{}
	if err := proto.Unmarshal(v, s); err != nil {
		return nil, fmt.Errorf("decode suppression %s: %w", id, err)
	}
	return s, nil
}

func (w *Writer) putSuppression(s *vigilv1.Suppression) error {
	v, err := proto.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode suppression: %w", err)
	}
	w.suppChanged = true
	return w.tx.Bucket(bSupp).Put([]byte(s.Id), v)
}

func (w *Writer) audit(now time.Time, actor, action string, s *vigilv1.Suppression, n uint64) error {
	v, err := proto.Marshal(&vigilv1.AuditEntry{Time: timestamppb.New(now), Actor: actor, Action: action, Suppression: s, Affected: n})
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	return w.tx.Bucket(bAudit).Put([]byte(newID(now)), v)
}

// newID is a time-ordered unique id: 16 hex digits of nanoseconds and 8 of
// randomness.
func newID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

// Suppressions lists suppressions, oldest first; tenants limits them to
// those naming one of these tenants (nil: all), includeEnded adds the
// expired and revoked ones.
func (s *Store) Suppressions(tenants []string, includeEnded bool, now time.Time) ([]*vigilv1.Suppression, error) {
	var out []*vigilv1.Suppression
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bSupp).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			sp := &vigilv1.Suppression{}
			if err := proto.Unmarshal(v, sp); err != nil {
				return fmt.Errorf("decode suppression %s: %w", k, err)
			}
			if tenants != nil && !containsTenant(tenants, sp.Tenant) || !includeEnded && !Active(sp, now) {
				continue
			}
			out = append(out, sp)
		}
		return nil
	})
	return out, err
}

// Suppression returns one suppression by id.
func (s *Store) Suppression(id string) (*vigilv1.Suppression, error) {
	var out *vigilv1.Suppression
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bSupp).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: suppression %q", ErrNotFound, id)
		}
		out = &vigilv1.Suppression{}
		return proto.Unmarshal(v, out)
	})
	return out, err
}

// Audit pages through the audit log, oldest first; tenants as in
// Suppressions.
func (s *Store) Audit(tenants []string, pageSize int, token string) ([]*vigilv1.AuditEntry, string, error) {
	if pageSize <= 0 || pageSize > MaxPageSize {
		pageSize = MaxPageSize
	}
	var after []byte
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", ErrBadToken
		}
		after = raw
	}
	var out []*vigilv1.AuditEntry
	next := ""
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		k, v := c.First()
		if after != nil {
			k, v = c.Seek(after)
			if bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		var last []byte
		for ; k != nil; k, v = c.Next() {
			e := &vigilv1.AuditEntry{}
			if err := proto.Unmarshal(v, e); err != nil {
				return fmt.Errorf("decode audit entry %s: %w", k, err)
			}
			tenant := e.GetSuppression().GetTenant()
			if e.Tenant != "" {
				tenant = e.Tenant // a retirement
			}
			if tenants != nil && !containsTenant(tenants, tenant) {
				continue
			}
			if len(out) == pageSize {
				next = base64.RawURLEncoding.EncodeToString(last)
				return nil
			}
			out = append(out, e)
			last = append(last[:0], k...)
		}
		return nil
	})
	return out, next, err
}

func containsTenant(list []string, t string) bool {
	for _, x := range list {
		if x == t {
			return true
		}
	}
	return false
}
