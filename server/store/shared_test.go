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

func fingerprints(fs []*vigilv1.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Fingerprint
	}
	return out
}

// A pillar filter walks the severity index one severity at a time; its
// pages, followed by token, give every finding of the pillar once, from the
// admitted severities only.
func TestPillarFilterPages(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "vigil.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var fs []*vigilv1.Finding
	want := map[string]bool{}
	for i := 0; i < 60; i++ {
		f := mkFinding("acme", "VGL-X-001", vigilv1.Severity(1+i%5), i)
		if i%3 == 0 {
			f.Pillar = vigilv1.Pillar_PILLAR_CLOUD
		} else if f.Severity >= vigilv1.Severity_SEVERITY_MEDIUM {
			want[f.Fingerprint] = true
		}
		fs = append(fs, f)
	}
	scan(t, s, &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "k", Target: "/m"}, "s1", true, fs, nil, fingerprints(fs), time.Now())
	got := map[string]bool{}
	filter := &vigilv1.FindingFilter{Pillar: vigilv1.Pillar_PILLAR_CLUSTER, MinSeverity: vigilv1.Severity_SEVERITY_MEDIUM}
	for token, pages := "", 0; ; pages++ {
		page, next, err := s.List(filter, 7, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page {
			if got[f.Finding.Fingerprint] || !want[f.Finding.Fingerprint] {
				t.Fatalf("page %d: %s (%s, %s) listed twice or not asked for", pages, f.Finding.Fingerprint, f.Finding.Pillar, f.Finding.Severity)
			}
			got[f.Finding.Fingerprint] = true
		}
		if token = next; token == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d findings listed, want %d", len(got), len(want))
	}
}
