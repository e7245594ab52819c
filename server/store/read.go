package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"google.golang.org/protobuf/reflect/protoreflect"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// ErrNotFound is returned by Get for an unknown id.
var ErrNotFound = errors.New("finding not found")

// ErrBadToken is returned by List for a page token it did not issue for
// this filter.
var ErrBadToken = errors.New("invalid page token")

// MaxPageSize caps a List page.
const MaxPageSize = 1000

// MaxPageBytes is the memory budget of one List call: a page ends early
// (with a next-page token) once its records reach it, so a page of large
// findings cannot take the server's memory, whatever page size was asked.
const MaxPageBytes = 4 << 20

// List returns one page of findings matching the filter, in the order of
// the index it walks, and the token of the next page ("" at the end).
func (s *Store) List(filter *vigilv1.FindingFilter, pageSize int, token string) ([]*vigilv1.StoredFinding, string, error) {
	out, next, _, err := s.ListQuery(filter, Query{PageSize: pageSize, Token: token})
	return out, next, err
}

// ListTotal is List with the number of findings that match from token on,
// this page included: it reads every match, not only the page's.
func (s *Store) ListTotal(filter *vigilv1.FindingFilter, pageSize int, token string) ([]*vigilv1.StoredFinding, string, int, error) {
	return s.ListQuery(filter, Query{PageSize: pageSize, Token: token, Total: true})
}

// Query is how ListQuery reads: the page size and token, the order, and
// whether to count every match.
type Query struct {
	PageSize int
	Token    string
	// Sort walks the severity index from the most severe, or the change
	// index from the latest, filtering as it goes; unset walks the index
	// the filter makes most selective.
	Sort  vigilv1.FindingSort
	Total bool
}

// ListQuery is List with an order and an optional total.
func (s *Store) ListQuery(filter *vigilv1.FindingFilter, q Query) ([]*vigilv1.StoredFinding, string, int, error) {
	pageSize, token, count := q.PageSize, q.Token, q.Total
	if pageSize <= 0 {
		pageSize = 100
	}
	if pageSize > MaxPageSize {
		pageSize = MaxPageSize
	}
	if filter == nil {
		filter = &vigilv1.FindingFilter{}
	}
	bucket, prefixes := chooseIndex(filter)
	reverse := false
	switch q.Sort {
	case vigilv1.FindingSort_FINDING_SORT_SEVERITY:
		bucket, prefixes, reverse = bIdxClass, [][]byte{nil}, true
	case vigilv1.FindingSort_FINDING_SORT_LAST_CHANGE:
		bucket, prefixes, reverse = bIdxChange, [][]byte{nil}, true
	}
	tag := bucketTag(bucket)
	var after []byte
	first := 0 // the range the walk starts in
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) < 1 || raw[0] != tag {
			return nil, "", 0, ErrBadToken
		}
		after = raw[1:]
		first = slices.IndexFunc(prefixes, func(p []byte) bool { return bytes.HasPrefix(after, p) })
		if first < 0 {
			return nil, "", 0, ErrBadToken
		}
	}
	statuses := map[vigilv1.Status]bool{}
	for _, st := range filter.Statuses {
		statuses[st] = true
	}
	var out []*vigilv1.StoredFinding
	next, total := "", 0
	err := s.db.View(func(tx *bolt.Tx) error {
		findings := tx.Bucket(bFindings)
		codec := newCodec(tx, s.shared)
		scopes := scopeReader{b: tx.Bucket(bScopes), cache: map[string]*vigilv1.ScopeRecord{}}
		var lastK []byte
		size := 0
		// visit takes one key of the walk; done ends it.
		visit := func(k, v []byte) (done bool, err error) {
			fkey, val := k, v
			if tag != 0 {
				if len(k) < KeyLen {
					return false, nil
				}
				fkey = k[len(k)-KeyLen:]
				if val = findings.Get(fkey); val == nil {
					return false, nil
				}
			}
			rec, err := codec.decode(fkey, val)
			if err != nil {
				return true, err
			}
			if !matches(rec, filter, statuses) {
				return false, nil
			}
			sr, err := scopes.get(fkey[:finding.ScopeIDLen])
			if err != nil {
				return true, err
			}
			if filter.Agent != "" && sr.GetScope().GetAgent() != filter.Agent {
				return false, nil
			}
			total++
			if next != "" {
				return false, nil // counting the rest
			}
			if len(out) == pageSize || len(out) > 0 && size+len(val) > MaxPageBytes {
				next = base64.RawURLEncoding.EncodeToString(append([]byte{tag}, lastK...))
				return !count, nil
			}
			size += len(val)
			out = append(out, view(fkey, rec, sr))
			lastK = append(lastK[:0], k...)
			return false, nil
		}
		cur := tx.Bucket(bucket).Cursor()
		if reverse {
			// One range, from the end or from just before the last key
			// returned.
			k, v := cur.Last()
			if after != nil {
				if k, v = cur.Seek(after); k == nil {
					k, v = cur.Last()
				}
				for k != nil && bytes.Compare(k, after) >= 0 {
					k, v = cur.Prev()
				}
			}
			for ; k != nil; k, v = cur.Prev() {
				if done, err := visit(k, v); done || err != nil {
					return err
				}
			}
			return nil
		}
		// The ranges in key order, from the token's key on.
		for i := first; i < len(prefixes); i++ {
			prefix := prefixes[i]
			k, v := cur.Seek(prefix)
			if i == first && after != nil {
				if k, v = cur.Seek(after); bytes.Equal(k, after) {
					k, v = cur.Next()
				}
			}
			for ; k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
				if done, err := visit(k, v); done || err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", 0, err
	}
	return out, next, total, nil
}

// chooseIndex picks the most selective index the filter allows, and the
// key ranges (prefixes, in key order) to walk in it.
func chooseIndex(f *vigilv1.FindingFilter) ([]byte, [][]byte) {
	one := func(b []byte, prefix string) ([]byte, [][]byte) { return b, [][]byte{[]byte(prefix)} }
	switch {
	case f.CheckId != "":
		return one(bIdxCheck, f.CheckId+"\x00")
	case f.Account != "":
		return one(bIdxAccount, f.Account+"\x00")
	case f.Tenant != "":
		return one(bIdxTenant, f.Tenant+"\x00")
	case len(f.Tenants) == 1:
		return one(bIdxTenant, f.Tenants[0]+"\x00")
	case len(f.Statuses) > 0 || f.Pillar != vigilv1.Pillar_PILLAR_UNSPECIFIED:
		return bIdxClass, classRanges(f)
	}
	return bFindings, [][]byte{nil}
}

// classRanges lists, in key order, the idx_class prefixes of the classes
// the filter admits: each severity from its minimum, its pillar or every
// pillar, its statuses or every status.
func classRanges(f *vigilv1.FindingFilter) [][]byte {
	values := func(e protoreflect.EnumDescriptor) []int32 {
		var out []int32
		for i := 0; i < e.Values().Len(); i++ {
			out = append(out, int32(e.Values().Get(i).Number()))
		}
		slices.Sort(out)
		return out
	}
	pillars := []int32{int32(f.Pillar)}
	if f.Pillar == vigilv1.Pillar_PILLAR_UNSPECIFIED {
		pillars = values(f.Pillar.Descriptor())
	}
	statuses := make([]int32, 0, len(f.Statuses))
	for _, st := range f.Statuses {
		statuses = append(statuses, int32(st))
	}
	if len(statuses) == 0 {
		statuses = values(vigilv1.Status(0).Descriptor())
	}
	slices.Sort(statuses)
	statuses = slices.Compact(statuses)
	var out [][]byte
	for _, sev := range values(f.MinSeverity.Descriptor()) {
		if sev < int32(f.MinSeverity) {
			continue
		}
		for _, p := range pillars {
			for _, st := range statuses {
				out = append(out, append(classOf(vigilv1.Severity(sev), vigilv1.Pillar(p), vigilv1.Status(st)), 0))
			}
		}
	}
	return out
}

// bucketTag names the walked bucket inside page tokens.
func bucketTag(b []byte) byte {
	// The places of idx_status, idx_pillar and idx_severity (schema 4)
	// stay taken, so their tokens are refused rather than misread.
	for i, x := range [][]byte{bFindings, bIdxCheck, bIdxAccount, bIdxTenant, bIdxStatus, bIdxPillar, bIdxSeverity, bIdxChange, bIdxClass} {
		if bytes.Equal(b, x) {
			return byte(i)
		}
	}
	return 255
}

func matches(r *vigilv1.FindingRecord, f *vigilv1.FindingFilter, statuses map[vigilv1.Status]bool) bool {
	return matchStored(r.Stored, f, statuses)
}

// Matches reports whether a stored finding passes a filter: the test List
// applies, for watchers of live events. The agent filter reads the
// finding's scope.
func Matches(sf *vigilv1.StoredFinding, f *vigilv1.FindingFilter) bool {
	if f == nil {
		return true
	}
	if f.Agent != "" && sf.GetScope().GetAgent() != f.Agent {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, sf.GetStatus()) {
		return false
	}
	return matchStored(sf, f, nil)
}

func matchStored(st *vigilv1.StoredFinding, f *vigilv1.FindingFilter, statuses map[vigilv1.Status]bool) bool {
	fd := st.GetFinding()
	res := fd.GetResource()
	switch {
	case f.Tenant != "" && res.GetTenant() != f.Tenant,
		f.Account != "" && res.GetAccount() != f.Account,
		f.CheckId != "" && fd.GetCheckId() != f.CheckId,
		f.Pillar != vigilv1.Pillar_PILLAR_UNSPECIFIED && fd.GetPillar() != f.Pillar,
		fd.GetSeverity() < f.MinSeverity,
		len(statuses) > 0 && !statuses[st.GetStatus()],
		len(f.Tenants) > 0 && !containsTenant(f.Tenants, res.GetTenant()),
		f.Namespace != "" && res.GetNamespace() != f.Namespace,
		f.ResourceKind != "" && res.GetKind() != f.ResourceKind,
		f.ResourceName != "" && res.GetName() != f.ResourceName,
		f.Package != "" && (res.GetKind() != "Package" || res.GetName() != f.Package),
		f.Vulnerability != "" && !slices.ContainsFunc(fd.GetReferences(), func(ref string) bool { return strings.EqualFold(ref, f.Vulnerability) }),
		f.Control != "" && !slices.ContainsFunc(fd.GetReferences(), func(ref string) bool { return strings.HasPrefix(ref, f.Control) }),
		!within(st.GetFirstSeen(), f.FirstSeenAfter, f.FirstSeenBefore),
		!within(st.GetLastChange(), f.LastChangeAfter, f.LastChangeBefore):
		return false
	}
	return true
}

// within reports whether t is at or after after and before before, each
// bound applying when set.
func within(t, after, before *timestamppb.Timestamp) bool {
	if after != nil && (t == nil || t.AsTime().Before(after.AsTime())) {
		return false
	}
	return before == nil || t != nil && t.AsTime().Before(before.AsTime())
}

type scopeReader struct {
	b     *bolt.Bucket
	cache map[string]*vigilv1.ScopeRecord
}

func (s scopeReader) get(id []byte) (*vigilv1.ScopeRecord, error) {
	if r, ok := s.cache[string(id)]; ok {
		return r, nil
	}
	r := &vigilv1.ScopeRecord{}
	if v := s.b.Get(id); v != nil {
		if err := proto.Unmarshal(v, r); err != nil {
			return nil, fmt.Errorf("decode scope %x: %w", id, err)
		}
	}
	s.cache[string(id)] = r
	return r, nil
}

// Get returns a finding by id (the hex store key) or by fingerprint (64
// hex digits; then the occurrence that matters most, see GetAll).
func (s *Store) Get(id string) (*vigilv1.StoredFinding, error) {
	f, _, err := s.GetAll(id, 0, nil)
	return f, err
}

// MaxOccurrences bounds the occurrences GetAll returns.
const MaxOccurrences = 100

// MinPrefix is the shortest fingerprint prefix, in hex digits, a lookup
// accepts: 32 bits, unique among tens of thousands of findings.
const MinPrefix = 8

// ErrAmbiguous is returned for a fingerprint prefix that several
// fingerprints start with.
var ErrAmbiguous = errors.New("ambiguous fingerprint prefix")

// GetAll is Get with the occurrences of the finding's fingerprint in every
// scope (at most max, MaxOccurrences when 0), the finding among them. id
// is a finding id, a fingerprint, or a prefix of at least MinPrefix hex
// digits of one (as tables print them). Asked for by fingerprint, the
// finding is the occurrence that matters most: present before resolved,
// then the latest change. allow, when not nil, keeps only the tenants it
// accepts: others' findings are neither returned nor make a prefix
// ambiguous. Fingerprints are looked up with a seek in each scope's run
// of keys.
func (s *Store) GetAll(id string, max int, allow func(tenant string) bool) (*vigilv1.StoredFinding, []*vigilv1.StoredFinding, error) {
	if max <= 0 || max > MaxOccurrences {
		max = MaxOccurrences
	}
	id = strings.ToLower(id)
	// An odd prefix is matched on its whole bytes, then its last digit.
	even := id[:len(id)&^1]
	raw, err := hex.DecodeString(even)
	if err != nil || (len(id) != KeyLen*2 && (len(id) < MinPrefix || len(id) > 64)) {
		return nil, nil, fmt.Errorf("%w: %q is neither a finding id nor a fingerprint (or %d or more of its first hex digits)", ErrNotFound, id, MinPrefix)
	}
	var nibble byte
	odd := len(id)%2 == 1
	if odd {
		if _, err := hex.DecodeString(id[len(id)-1:] + "0"); err != nil {
			return nil, nil, fmt.Errorf("%w: %q is not hex", ErrNotFound, id)
		}
		nibble = fromHex(id[len(id)-1])
	}
	allowed := func(tenant string) bool { return allow == nil || allow(tenant) }
	var out *vigilv1.StoredFinding
	var all []*vigilv1.StoredFinding
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bFindings)
		codec := newCodec(tx, s.shared)
		scopes := scopeReader{b: tx.Bucket(bScopes), cache: map[string]*vigilv1.ScopeRecord{}}
		decode := func(key, val []byte) (*vigilv1.StoredFinding, error) {
			rec, err := codec.decode(key, val)
			if err != nil {
				return nil, err
			}
			sr, err := scopes.get(key[:finding.ScopeIDLen])
			if err != nil {
				return nil, err
			}
			return view(key, rec, sr), nil
		}
		prefix := raw
		if len(raw) == KeyLen {
			val := b.Get(raw)
			if val == nil {
				return ErrNotFound
			}
			f, err := decode(raw, val)
			if err != nil {
				return err
			}
			if !allowed(f.GetScope().GetTenant()) {
				return ErrNotFound
			}
			out, prefix, odd = f, raw[finding.ScopeIDLen:], false
		}
		matches := func(fp []byte) bool {
			if !bytes.HasPrefix(fp, prefix) {
				return false
			}
			return !odd || (len(fp) > len(prefix) && fp[len(prefix)]>>4 == nibble)
		}
		var fp []byte // the one fingerprint the prefix names
		c, sc := b.Cursor(), tx.Bucket(bScopes).Cursor()
		for scope, v := sc.First(); scope != nil; scope, v = sc.Next() {
			if len(scope) != finding.ScopeIDLen {
				continue
			}
			if allow != nil {
				sr := &vigilv1.ScopeRecord{}
				if err := proto.Unmarshal(v, sr); err != nil {
					return fmt.Errorf("decode scope %x: %w", scope, err)
				}
				if !allow(sr.GetScope().GetTenant()) {
					continue
				}
			}
			seek := append(bytes.Clone(scope), prefix...)
			for k, val := c.Seek(seek); k != nil && bytes.HasPrefix(k, seek); k, val = c.Next() {
				if len(k) != KeyLen || !matches(k[finding.ScopeIDLen:]) {
					continue
				}
				if fp != nil && !bytes.Equal(fp, k[finding.ScopeIDLen:]) {
					return fmt.Errorf("%w: %q starts both %x and %x", ErrAmbiguous, id, fp, k[finding.ScopeIDLen:])
				}
				fp = bytes.Clone(k[finding.ScopeIDLen:])
				if len(all) < max {
					f, err := decode(k, val)
					if err != nil {
						return err
					}
					all = append(all, f)
				}
			}
		}
		if out == nil {
			for _, f := range all {
				if out == nil || matters(f, out) {
					out = f
				}
			}
		}
		if out == nil {
			return ErrNotFound
		}
		return nil
	})
	return out, all, err
}

func fromHex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	default:
		return c - 'a' + 10
	}
}

// matters reports whether occurrence a comes before b: present before
// resolved, then the latest change.
func matters(a, b *vigilv1.StoredFinding) bool {
	if pa, pb := present(a.Status), present(b.Status); pa != pb {
		return pa
	}
	return a.GetLastChange().AsTime().After(b.GetLastChange().AsTime())
}

// Summarize counts findings by pillar and severity (and tenant and account
// when asked) from the running counts, in O(groups). Statuses default to
// the open ones.
func (s *Store) Summarize(req *vigilv1.SummarizeFindingsRequest) (*vigilv1.SummarizeFindingsResponse, error) {
	statuses := map[vigilv1.Status]bool{}
	for _, st := range req.GetStatuses() {
		statuses[st] = true
	}
	if len(statuses) == 0 {
		statuses[vigilv1.Status_STATUS_OPEN] = true
		statuses[vigilv1.Status_STATUS_REOPENED] = true
	}
	type group struct {
		tenant, account string
		p               vigilv1.Pillar
		s               vigilv1.Severity
	}
	sums := map[group]uint64{}
	var total uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bCounts).Cursor()
		var k, v []byte
		prefix := []byte(nil)
		if req.GetTenant() != "" {
			prefix = []byte(req.GetTenant() + "\x00")
		}
		for k, v = c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			tenant, account, p, sev, st, ok := parseCountKey(k)
			if !ok || !statuses[st] || len(req.GetTenants()) > 0 && !containsTenant(req.GetTenants(), tenant) {
				continue
			}
			g := group{p: p, s: sev}
			if req.GetByTenant() {
				g.tenant = tenant
			}
			if req.GetByAccount() {
				g.account = account
			}
			n := u64(v)
			sums[g] += n
			total += n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp := &vigilv1.SummarizeFindingsResponse{Total: total}
	for g, n := range sums {
		resp.Groups = append(resp.Groups, &vigilv1.SummaryGroup{Tenant: g.tenant, Account: g.account, Pillar: g.p, Severity: g.s, Count: n})
	}
	finding.SortSummary(resp.Groups)

	return resp, nil
}

// Agents lists the agents, of one tenant when tenant is not empty, marking
// those whose last heartbeat is older than staleAfter as stale.
func (s *Store) Agents(tenant string, now time.Time, staleAfter time.Duration) ([]*vigilv1.Agent, error) {
	var out []*vigilv1.Agent
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAgents).Cursor()
		prefix := []byte(nil)
		if tenant != "" {
			prefix = []byte(tenant + "\x00")
		}
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			a := &vigilv1.Agent{}
			if err := proto.Unmarshal(v, a); err != nil {
				return fmt.Errorf("decode agent: %w", err)
			}
			last := a.GetLastHeartbeat().AsTime()
			a.Stale = !a.Retired && (a.LastHeartbeat == nil || now.Sub(last) > staleAfter)
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// Agent pages: 500 agents when the caller names no size, at most 5,000.
const (
	DefaultAgentPage = 500
	MaxAgentPage     = 5000
)

// AgentsPage is one page of the agents of tenant ("" for all) that allow
// accepts (nil: every tenant), in tenant and id order, from token (the
// previous page's next token, "" for the first). It returns the token of
// the next page ("" on the last) and how many agents match over all pages.
// Only the page's records are decoded; the total is counted from keys.
func (s *Store) AgentsPage(tenant string, allow func(tenant string) bool, token string, pageSize int, now time.Time, staleAfter time.Duration) (page []*vigilv1.Agent, next string, total int, err error) {
	if pageSize <= 0 {
		pageSize = DefaultAgentPage
	}
	pageSize = min(pageSize, MaxAgentPage)
	prefix := []byte(nil)
	if tenant != "" {
		prefix = []byte(tenant + "\x00")
	}
	var after []byte
	if token != "" {
		if after, err = base64.RawURLEncoding.DecodeString(token); err != nil || !bytes.HasPrefix(after, prefix) {
			return nil, "", 0, ErrBadToken
		}
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAgents).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			t, _, _ := bytes.Cut(k, []byte{0})
			if allow != nil && !allow(string(t)) {
				continue
			}
			total++
			if after != nil && bytes.Compare(k, after) <= 0 {
				continue
			}
			if len(page) == pageSize {
				if next == "" {
					last := page[len(page)-1]
					next = base64.RawURLEncoding.EncodeToString(agentKey(last.Tenant, last.Id))
				}
				continue
			}
			a := &vigilv1.Agent{}
			if err := proto.Unmarshal(v, a); err != nil {
				return fmt.Errorf("decode agent: %w", err)
			}
			last := a.GetLastHeartbeat().AsTime()
			a.Stale = !a.Retired && (a.LastHeartbeat == nil || now.Sub(last) > staleAfter)
			page = append(page, a)
		}
		return nil
	})
	return page, next, total, err
}

// Scope returns the record of a scope, or nil when it never completed a scan.
func (s *Store) Scope(sc *vigilv1.Scope) (*vigilv1.ScopeRecord, error) {
	id := finding.ScopeID(sc)
	var out *vigilv1.ScopeRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bScopes).Get(id[:])
		if v == nil {
			return nil
		}
		out = &vigilv1.ScopeRecord{}
		return proto.Unmarshal(v, out)
	})
	return out, err
}
