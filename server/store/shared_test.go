package store

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// A finding reads back as it was written, while its record holds neither
// its check's text nor a message equal to its title, and every finding of
// one check names one shared entry.
func TestSharedPartRoundTrip(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "vigil.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var fs []*vigilv1.Finding
	for i := 0; i < 4; i++ {
		f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, i)
		f.Title, f.Message = "Container runs privileged", "Container runs privileged"
		f.Remediation = "Set securityContext.privileged to false; grant only the capabilities the container needs."
		f.References, f.Tags, f.Scanner = []string{"CIS-K8S-5.2.1", "CWE-250"}, []string{"privileged"}, "kubernetes"
		f.Resource.Uri = f.Location.Path
		if i == 2 {
			f.Resource.Uri = "k8s://cluster/apps/Deployment/web" // a URI of its own stays
		}
		if i == 3 {
			f.Message = "Container web runs privileged" // a message of its own stays
		}
		fs = append(fs, f)
	}
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/m"}
	scan(t, s, scope, "s1", true, fs, nil, fingerprints(fs), time.Now())

	err = s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bShared).Stats().KeyN; n != 1 {
			t.Errorf("%d shared entries for one check, want 1", n)
		}
		return tx.Bucket(bFindings).ForEach(func(k, v []byte) error {
			rec, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			f := rec.Stored.Finding
			if rec.Shared == 0 || f.Title != "" || f.Remediation != "" || len(f.References) != 0 || f.CheckId != "" {
				t.Errorf("record %x holds its shared part: %v", k, f)
			}
			if f.Message != "" && f.Message != "Container web runs privileged" {
				t.Errorf("record %x holds a message equal to its title", k)
			}
			if f.Resource.Uri != "" && f.Resource.Uri != "k8s://cluster/apps/Deployment/web" {
				t.Errorf("record %x holds a URI equal to its path", k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range fs {
		got, err := s.Get(want.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got.Finding, want) {
			t.Errorf("read back\n%v\nwant\n%v", got.Finding, want)
		}
	}
	// A store opened afresh (no cache) reads the same.
	path := s.path
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	page, _, err := s2.List(&vigilv1.FindingFilter{Tenant: "acme"}, 10, "")
	if err != nil || len(page) != 4 {
		t.Fatalf("list: %d, %v", len(page), err)
	}
	for _, sf := range page {
		if sf.Finding.Remediation == "" || sf.Finding.CheckId != "VGL-CLUSTER-001" || sf.Finding.Message == "" {
			t.Errorf("listed finding lacks its shared part: %v", sf.Finding)
		}
	}
	if err := s2.Verify(); err != nil {
		t.Fatal(err)
	}
}

// Pillar and status filters walk idx_class one class at a time; their
// pages, followed by token, give every finding that matches once.
func TestClassFilterPages(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "vigil.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var fs, kept []*vigilv1.Finding
	for i := 0; i < 90; i++ {
		f := mkFinding("acme", "VGL-X-001", vigilv1.Severity(1+i%5), i)
		if i%3 == 0 {
			f.Pillar = vigilv1.Pillar_PILLAR_CLOUD
		}
		fs = append(fs, f)
		if i%4 != 0 {
			kept = append(kept, f)
		}
	}
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "k", Target: "/m"}
	t0 := time.Now()
	scan(t, s, scope, "s1", true, fs, nil, fingerprints(fs), t0)
	scan(t, s, scope, "s2", true, kept, nil, fingerprints(kept), t0.Add(time.Minute)) // every fourth resolves
	resolved := func(i int) bool { return i%4 == 0 }
	for _, tc := range []struct {
		name   string
		filter *vigilv1.FindingFilter
		want   func(i int, f *vigilv1.Finding) bool
	}{
		{"pillar and severity", &vigilv1.FindingFilter{Pillar: vigilv1.Pillar_PILLAR_CLUSTER, MinSeverity: vigilv1.Severity_SEVERITY_MEDIUM},
			func(i int, f *vigilv1.Finding) bool {
				return f.Pillar == vigilv1.Pillar_PILLAR_CLUSTER && f.Severity >= vigilv1.Severity_SEVERITY_MEDIUM
			}},
		{"one status", &vigilv1.FindingFilter{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_RESOLVED}},
			func(i int, f *vigilv1.Finding) bool { return resolved(i) }},
		{"statuses and pillar", &vigilv1.FindingFilter{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN, vigilv1.Status_STATUS_RESOLVED}, Pillar: vigilv1.Pillar_PILLAR_CLOUD},
			func(i int, f *vigilv1.Finding) bool { return f.Pillar == vigilv1.Pillar_PILLAR_CLOUD }},
	} {
		want := map[string]bool{}
		for i, f := range fs {
			if tc.want(i, f) {
				want[f.Fingerprint] = true
			}
		}
		got := map[string]bool{}
		for token, pages := "", 0; ; pages++ {
			page, next, err := s.List(tc.filter, 7, token)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range page {
				if got[f.Finding.Fingerprint] || !want[f.Finding.Fingerprint] {
					t.Fatalf("%s, page %d: %s (%s, %s, %s) listed twice or not asked for", tc.name, pages, f.Finding.Fingerprint, f.Finding.Pillar, f.Finding.Severity, f.Status)
				}
				got[f.Finding.Fingerprint] = true
			}
			if token = next; token == "" {
				break
			}
		}
		if len(got) != len(want) || len(want) == 0 {
			t.Errorf("%s: %d findings listed, want %d", tc.name, len(got), len(want))
		}
	}
}

func fingerprints(fs []*vigilv1.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Fingerprint
	}
	return out
}
