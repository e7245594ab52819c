package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// KeyLen is the length of a findings key: scope id plus fingerprint.
const KeyLen = finding.ScopeIDLen + 32

// findingKey builds the findings key of a fingerprint in a scope.
func findingKey(scope [finding.ScopeIDLen]byte, fingerprint string) ([]byte, error) {
	if len(fingerprint) != 64 {
		return nil, fmt.Errorf("fingerprint %q: want 64 hex digits", fingerprint)
	}
	k := make([]byte, KeyLen)
	copy(k, scope[:])
	if _, err := hex.Decode(k[finding.ScopeIDLen:], []byte(fingerprint)); err != nil {
		return nil, fmt.Errorf("fingerprint %q: %w", fingerprint, err)
	}
	return k, nil
}

// indexEntry is one index key of a finding.
type indexEntry struct {
	bucket []byte
	key    string
}

// indexEntries lists the index keys of a finding record. A finding without
// an account has no account entry: an empty account is never a filter.
func indexEntries(key []byte, r *vigilv1.FindingRecord) []indexEntry {
	f := r.Stored.GetFinding()
	res := f.GetResource()
	k := string(key)
	var change [8]byte
	binary.BigEndian.PutUint64(change[:], uint64(r.Stored.GetLastChange().AsTime().UnixNano()))
	account := indexEntry{bIdxAccount, res.GetAccount() + "\x00" + k}
	if res.GetAccount() == "" {
		account = indexEntry{} // no entry; the zero value keeps positions aligned
	}
	expiry := indexEntry{}
	if exp := r.Stored.GetSuppression().GetExpires(); exp != nil && r.Stored.GetStatus() == vigilv1.Status_STATUS_SUPPRESSED {
		var e [8]byte
		binary.BigEndian.PutUint64(e[:], uint64(exp.AsTime().UnixNano()))
		expiry = indexEntry{bIdxExpiry, string(e[:]) + "\x00" + k}
	}
	return []indexEntry{
		{bIdxTenant, res.GetTenant() + "\x00" + k},
		account,
		{bIdxCheck, f.GetCheckId() + "\x00" + k},
		{bIdxClass, string(classOf(f.GetSeverity(), f.GetPillar(), r.Stored.GetStatus())) + "\x00" + k},
		{bIdxChange, string(change[:]) + "\x00" + k},
		expiry,
	}
}

// countKey is the counts bucket key of a finding record.
func countKey(r *vigilv1.FindingRecord) []byte {
	f := r.Stored.GetFinding()
	res := f.GetResource()
	k := make([]byte, 0, len(res.GetTenant())+len(res.GetAccount())+5)
	k = append(k, res.GetTenant()...)
	k = append(k, 0)
	k = append(k, res.GetAccount()...)
	k = append(k, 0, byte(f.GetPillar()), byte(f.GetSeverity()), byte(r.Stored.GetStatus()))
	return k
}

// occurrenceFPLen is the length of the fingerprint in occurrences keys:
// its first half, 128 bits, which tell fingerprints apart as surely as the
// whole and save 16 bytes a finding.
const occurrenceFPLen = 16

// occurrenceKey is the occurrences key of a finding record stored at key:
// its counts key and its fingerprint.
func occurrenceKey(key []byte, r *vigilv1.FindingRecord) string {
	fp := key[len(key)-32:]
	return string(countKey(r)) + string(fp[:occurrenceFPLen])
}

// parseCountKey splits a counts key.
func parseCountKey(k []byte) (tenant, account string, p vigilv1.Pillar, s vigilv1.Severity, st vigilv1.Status, ok bool) {
	if len(k) < 5 {
		return
	}
	tail := k[len(k)-3:]
	head := k[:len(k)-4]
	for i, b := range head {
		if b == 0 {
			return string(head[:i]), string(head[i+1:]), vigilv1.Pillar(tail[0]), vigilv1.Severity(tail[1]), vigilv1.Status(tail[2]), true
		}
	}
	return
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func putU64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// present reports whether a status counts toward the scope's set.
func present(s vigilv1.Status) bool {
	return s == vigilv1.Status_STATUS_OPEN || s == vigilv1.Status_STATUS_REOPENED || s == vigilv1.Status_STATUS_SUPPRESSED
}

func agentKey(tenant, id string) []byte { return []byte(tenant + "\x00" + id) }

// StaleAfter returns how long after its last heartbeat an agent is stale.
func StaleAfter(interval time.Duration) time.Duration {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	return 3 * interval
}

// decodeRecord decodes a finding record and restores its fingerprint from
// the key.
func decodeRecord(key, val []byte) (*vigilv1.FindingRecord, error) {
	rec := &vigilv1.FindingRecord{}
	if err := proto.Unmarshal(val, rec); err != nil {
		return nil, fmt.Errorf("decode finding %x: %w", key, err)
	}
	if rec.Stored == nil {
		return nil, fmt.Errorf("decode finding %x: no stored finding", key)
	}
	if rec.Stored.Finding == nil {
		rec.Stored.Finding = &vigilv1.Finding{}
	}
	if len(key) == KeyLen {
		rec.Stored.Finding.Fingerprint = hex.EncodeToString(key[finding.ScopeIDLen:])
	}
	return rec, nil
}

// classOf is the value of a finding's idx_class key: severity, pillar and
// status, one byte each, severity first so that the index walks in order
// of severity.
func classOf(sev vigilv1.Severity, p vigilv1.Pillar, st vigilv1.Status) []byte {
	return []byte{byte(sev), byte(p), byte(st)}
}
