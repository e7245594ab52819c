package store

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// occurrenceScenario applies scans in which fingerprints are shared by
// scopes, leave and come back, change severity and are purged, checking
// the store against a recount from its findings after every step.
func occurrenceScenario(t *testing.T, s *Store, limit int) {
	t.Helper()
	t0 := time.Unix(1_700_000_000, 0)
	var fs, medium []*vigilv1.Finding
	for i := 0; i < 300; i++ {
		fs = append(fs, mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, i))
		medium = append(medium, mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_MEDIUM, i))
	}
	a := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "k", Target: "/m"}
	b := &vigilv1.Scope{Tenant: "acme", Agent: "a2", Scanner: "k", Target: "/m"}
	c := &vigilv1.Scope{Tenant: "other", Agent: "a3", Scanner: "k", Target: "/m"}
	steps := []struct {
		scope *vigilv1.Scope
		set   []*vigilv1.Finding
	}{
		{a, fs},
		{b, fs[100:250]},     // 150 shared with a
		{a, fs[:120]},        // 180 resolved in a; 100..119 still shared
		{b, medium[100:260]}, // severity changes in b
		{c, fs[:50]},         // another tenant: its own counts
		{b, nil},             // b resolves everything
		{a, fs},              // a reopens what it lost
		{b, append(fs[:10:10], medium[200:230]...)},
	}
	for i, st := range steps {
		scan(t, s, st.scope, "s"+string(rune('a'+i)), true, st.set, nil, fingerprints(st.set), t0.Add(time.Duration(i)*time.Minute))
		if err := s.Verify(); err != nil {
			t.Fatalf("limit %d, step %d: %v", limit, i, err)
		}
		if limit > 0 && s.occ.n > limit {
			t.Fatalf("limit %d, step %d: overlay holds %d", limit, i, s.occ.n)
		}
	}
	// Purge what is resolved: removals go through the overlay too.
	if _, err := s.Purge(t0.Add(time.Hour), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(); err != nil {
		t.Fatalf("limit %d, after purge: %v", limit, err)
	}
}

// groupRuns collects every run GroupFingerprints gives, by group.
func groupRuns(t *testing.T, s *Store, statuses ...vigilv1.Status) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := s.GroupFingerprints(&vigilv1.StreamGroupFingerprintsRequest{Statuses: statuses}, func(m *vigilv1.StreamGroupFingerprintsResponse) error {
		k := m.Tenant + "/" + m.Account + "/" + m.Pillar.String() + "/" + m.Severity.String()
		out[k] = append(out[k], m.Fingerprints...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The occurrences overlay gives the same counts and fingerprints whether
// nothing, part or all of it has been written back, and the store closed
// and opened again agrees with itself.
func TestOccurrenceOverlay(t *testing.T) {
	type result struct {
		sum  *vigilv1.SummarizeFindingsResponse
		runs map[string][]byte
	}
	var ref *result
	for _, limit := range []int{1, 40, 0} {
		path := filepath.Join(t.TempDir(), "vigil.db")
		s, err := Open(path, Options{NoSync: true, OccurrenceOverlay: limit})
		if err != nil {
			t.Fatal(err)
		}
		occurrenceScenario(t, s, limit)
		if limit == 0 && s.occ.n == 0 {
			t.Fatal("the default overlay wrote everything back: the scenario tests nothing of it")
		}
		sum, err := s.Summarize(&vigilv1.SummarizeFindingsRequest{ByTenant: true, Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN, vigilv1.Status_STATUS_REOPENED, vigilv1.Status_STATUS_RESOLVED}})
		if err != nil {
			t.Fatal(err)
		}
		got := &result{sum: sum, runs: groupRuns(t, s, vigilv1.Status_STATUS_OPEN, vigilv1.Status_STATUS_REOPENED)}
		if ref == nil {
			ref = got
		} else {
			if !proto.Equal(ref.sum, got.sum) {
				t.Errorf("limit %d: summary %v, with everything written back %v", limit, got.sum, ref.sum)
			}
			for k, fps := range ref.runs {
				if !bytes.Equal(fps, got.runs[k]) {
					t.Errorf("limit %d: group %s has %d fingerprints, with everything written back %d", limit, k, len(got.runs[k])/occurrenceFPLen, len(fps)/occurrenceFPLen)
				}
			}
			if len(ref.runs) != len(got.runs) {
				t.Errorf("limit %d: %d groups, with everything written back %d", limit, len(got.runs), len(ref.runs))
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(path, Options{NoSync: true, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if s.occ.n != 0 || pendingMark(t, s) {
			t.Errorf("limit %d: closed store left %d counts in memory, pending mark %v", limit, s.occ.n, pendingMark(t, s))
		}
		if err := s.Verify(); err != nil {
			t.Errorf("limit %d, reopened: %v", limit, err)
		}
		s.Close()
	}
}

func pendingMark(t *testing.T, s *Store) bool {
	t.Helper()
	var marked bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		marked = tx.Bucket(bMeta).Get(keyOccurPending) != nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return marked
}

// A store left without Close (the copy of the file is what a crash
// leaves) rebuilds its occurrences and counts from the findings when it is
// next opened for writing; read-only, it checks what it can.
func TestOccurrencesRebuiltWhenNotClosed(t *testing.T) {
	s := openTemp(t)
	occurrenceScenario(t, s, 0)
	if s.occ.n == 0 || !pendingMark(t, s) {
		t.Fatalf("overlay %d, mark %v: nothing left to rebuild", s.occ.n, pendingMark(t, s))
	}
	want := groupRuns(t, s)
	wantSum, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{ByTenant: true})
	crash := filepath.Join(t.TempDir(), "crashed.db")
	if err := s.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(crash, 0o600) }); err != nil {
		t.Fatal(err)
	}

	ro, err := Open(crash, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Verify(); err != nil {
		t.Errorf("read-only, before the rebuild: %v", err)
	}
	ro.Close()

	// The bucket alone lags: without the rebuild it would not match.
	r, err := Open(crash, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if pendingMark(t, r) {
		t.Error("rebuilt store still marked pending")
	}
	if err := r.Verify(); err != nil {
		t.Fatalf("after the rebuild: %v", err)
	}
	got := groupRuns(t, r)
	if len(got) != len(want) {
		t.Fatalf("%d groups after the rebuild, want %d", len(got), len(want))
	}
	for k := range want {
		if !bytes.Equal(got[k], want[k]) {
			t.Errorf("group %s: %d fingerprints after the rebuild, want %d", k, len(got[k])/occurrenceFPLen, len(want[k])/occurrenceFPLen)
		}
	}
	if gotSum, _ := r.Summarize(&vigilv1.SummarizeFindingsRequest{ByTenant: true}); !proto.Equal(gotSum, wantSum) {
		t.Errorf("summary after the rebuild %v, want %v", gotSum, wantSum)
	}
}
