package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// A finding is found by its id, its fingerprint or a prefix of at least
// MinPrefix digits of the fingerprint (odd lengths too); a prefix two
// fingerprints share is ambiguous unless one of them is in a tenant the
// caller may not see.
func TestGetByFingerprintPrefix(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	withFP := func(tenant string, n int, fp string) *vigilv1.Finding {
		f := mkFinding(tenant, "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, n)
		f.Fingerprint = fp
		return f
	}
	a := withFP("acme", 1, "abcdef01"+strings.Repeat("1", 56))
	b := withFP("acme", 2, "abcdef01"+strings.Repeat("2", 56))   // shares a's first 8 digits
	c := withFP("globex", 3, "abcdef01"+strings.Repeat("3", 56)) // and so does another tenant's
	for _, st := range []struct {
		scope *vigilv1.Scope
		fs    []*vigilv1.Finding
	}{
		{&vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "k", Target: "/m"}, []*vigilv1.Finding{a, b}},
		{&vigilv1.Scope{Tenant: "acme", Agent: "a2", Scanner: "k", Target: "/m"}, []*vigilv1.Finding{a}},
		{&vigilv1.Scope{Tenant: "globex", Agent: "g1", Scanner: "k", Target: "/m"}, []*vigilv1.Finding{c}},
	} {
		scan(t, s, st.scope, "s1", true, st.fs, nil, fingerprints(st.fs), t0)
	}
	acme := func(tenant string) bool { return tenant == "acme" }
	globex := func(tenant string) bool { return tenant == "globex" }
	for _, c := range []struct {
		id    string
		allow func(string) bool
		want  string // fingerprint, or "" for an error
		occ   int
		err   error
	}{
		{a.Fingerprint, nil, a.Fingerprint, 2, nil},
		{"ABCDEF011", acme, a.Fingerprint, 2, nil},    // odd length, any case
		{"abcdef011111", acme, a.Fingerprint, 2, nil}, // the 12 digits tables print
		{"abcdef012", nil, b.Fingerprint, 1, nil},
		{"abcdef01", acme, "", 0, ErrAmbiguous},     // a and b
		{"abcdef01", globex, c.Fingerprint, 1, nil}, // acme's a and b are not the caller's
		{"abcdef013", acme, "", 0, ErrNotFound},     // globex's c is not the caller's
		{"abcdef0", nil, "", 0, ErrNotFound},        // too short
		{"abcdef03", nil, "", 0, ErrNotFound},       // nobody's
		{c.Fingerprint, acme, "", 0, ErrNotFound},
		{"abcdef0z", nil, "", 0, ErrNotFound},
	} {
		got, all, err := s.GetAll(c.id, 0, c.allow)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: %v, want %v", c.id, err, c.err)
			}
			continue
		}
		if err != nil || got.GetFinding().GetFingerprint() != c.want || len(all) != c.occ {
			t.Errorf("%s: %s with %d occurrences, %v; want %s with %d", c.id, got.GetFinding().GetFingerprint(), len(all), err, c.want, c.occ)
		}
	}
	// By id, the occurrence asked for, with the others.
	_, all, _ := s.GetAll(a.Fingerprint, 0, nil)
	got, occ, err := s.GetAll(all[1].Id, 0, nil)
	if err != nil || got.Id != all[1].Id || len(occ) != 2 {
		t.Fatalf("by id: %v %v %d", got.GetId(), err, len(occ))
	}
	if _, _, err := s.GetAll(all[1].Id, 0, func(string) bool { return false }); !errors.Is(err, ErrNotFound) {
		t.Errorf("by id outside the caller's tenants: %v", err)
	}
}
