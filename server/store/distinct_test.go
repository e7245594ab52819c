package store

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// GroupFingerprints gives each group's fingerprints once, ascending across
// the runs a large group takes, and one that is open in one scope and
// reopened in another once.
func TestGroupFingerprints(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	n := maxRun + 500 // two runs
	var fs []*vigilv1.Finding
	for i := 0; i < n; i++ {
		fs = append(fs, mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, i))
	}
	a := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "k", Target: "/m"}
	b := &vigilv1.Scope{Tenant: "acme", Agent: "a2", Scanner: "k", Target: "/m"}
	scan(t, s, a, "s1", true, fs, nil, fingerprints(fs), t0)
	// Scope b sees fs[0], loses it, sees it again: reopened there, open in a.
	scan(t, s, b, "s1", true, fs[:1], nil, fingerprints(fs[:1]), t0)
	scan(t, s, b, "s2", true, nil, nil, nil, t0.Add(time.Minute))
	scan(t, s, b, "s3", true, fs[:1], nil, fingerprints(fs[:1]), t0.Add(2*time.Minute))
	if got, _ := s.Get(scopeKeyHex(b, fs[0].Fingerprint)); got.GetStatus() != vigilv1.Status_STATUS_REOPENED {
		t.Fatalf("b's occurrence is %v, want reopened", got.GetStatus())
	}
	var runs int
	var all []byte
	err := s.GroupFingerprints(&vigilv1.StreamGroupFingerprintsRequest{}, func(m *vigilv1.StreamGroupFingerprintsResponse) error {
		runs++
		if m.Tenant != "acme" || m.Severity != vigilv1.Severity_SEVERITY_HIGH || len(m.Fingerprints)%occurrenceFPLen != 0 {
			t.Errorf("run %d: %v %v %d bytes", runs, m.Tenant, m.Severity, len(m.Fingerprints))
		}
		all = append(all, m.Fingerprints...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 || len(all)/occurrenceFPLen != n {
		t.Fatalf("%d runs, %d fingerprints; want 2 runs of %d distinct", runs, len(all)/occurrenceFPLen, n)
	}
	for i := occurrenceFPLen; i < len(all); i += occurrenceFPLen {
		if bytes.Compare(all[i-occurrenceFPLen:i], all[i:i+occurrenceFPLen]) >= 0 {
			t.Fatalf("fingerprint %d out of order", i/occurrenceFPLen)
		}
	}
	// Reopened alone: the one fingerprint.
	var only int
	s.GroupFingerprints(&vigilv1.StreamGroupFingerprintsRequest{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_REOPENED}}, func(m *vigilv1.StreamGroupFingerprintsResponse) error {
		only += len(m.Fingerprints) / occurrenceFPLen
		return nil
	})
	if only != 1 {
		t.Errorf("%d reopened fingerprints, want 1", only)
	}
	// Another tenant's filter sees nothing.
	s.GroupFingerprints(&vigilv1.StreamGroupFingerprintsRequest{Tenants: []string{"globex"}}, func(m *vigilv1.StreamGroupFingerprintsResponse) error {
		t.Errorf("globex sees %s", m.Tenant)
		return nil
	})
}

// scopeKeyHex is the finding id of a fingerprint in a scope.
func scopeKeyHex(sc *vigilv1.Scope, fp string) string {
	k, err := findingKey(finding.ScopeID(sc), fp)
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(k)
}

// A receiver that takes its time holds no transaction: pages the writer
// frees meanwhile are reused, where an open read transaction would pin
// them and make the file grow with every write.
func TestGroupFingerprintsHoldsNoTransactionWhileEmitting(t *testing.T) {
	s := openTemp(t)
	var fs []*vigilv1.Finding
	for i := range 10 {
		fs = append(fs, mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, i))
	}
	sc := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "k", Target: "/m"}
	scan(t, s, sc, "s1", true, fs, nil, fingerprints(fs), time.Unix(1_700_000_000, 0))
	rewrite := func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("ballast"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), make([]byte, 1<<20))
		})
	}
	if err := rewrite(); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		var n int64
		s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
		return n
	}
	start := size()
	err := s.GroupFingerprints(&vigilv1.StreamGroupFingerprintsRequest{}, func(*vigilv1.StreamGroupFingerprintsResponse) error {
		for range 40 {
			if err := rewrite(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if grown := size() - start; grown > 8<<20 {
		t.Fatalf("the file grew %d MiB while 40 rewrites of 1 MiB ran during the stream: freed pages were pinned", grown>>20)
	}
}
