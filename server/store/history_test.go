package store

import (
	"fmt"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// A finding keeps its transitions after the first opening, oldest first,
// the last maxHistory of them; events carry only their own transition.
func TestFindingHistory(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "k", Target: "/m"}
	other := mkFinding("acme", "VGL-CLUSTER-002", vigilv1.Severity_SEVERITY_LOW, 2)
	set, without := []*vigilv1.Finding{f, other}, []*vigilv1.Finding{other}
	scan(t, s, scope, "s000", true, set, nil, fingerprints(set), t0)
	got, err := s.Get(f.Fingerprint)
	if err != nil || len(got.History) != 0 {
		t.Fatalf("a new finding has history %v (%v)", got.GetHistory(), err)
	}
	// Gone, back, gone, back…: 20 flaps, 40 transitions.
	at := t0
	for i := 0; i < 20; i++ {
		at = at.Add(time.Minute)
		evs := scan(t, s, scope, fmt.Sprintf("s%03d", 2*i+1), true, without, nil, fingerprints(without), at)
		for _, ev := range evs {
			if len(ev.Finding.History) != 0 {
				t.Fatalf("event carries the history: %v", ev.Finding.History)
			}
		}
		at = at.Add(time.Minute)
		scan(t, s, scope, fmt.Sprintf("s%03d", 2*i+2), true, set, nil, fingerprints(set), at)
	}
	got, err = s.Get(f.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	h := got.History
	if len(h) != maxHistory {
		t.Fatalf("%d transitions kept, want %d", len(h), maxHistory)
	}
	if last := h[len(h)-1]; last.Type != vigilv1.EventType_EVENT_TYPE_REOPENED || !last.Time.AsTime().Equal(at) {
		t.Errorf("last transition %v at %v, want REOPENED at %v", last.Type, last.Time.AsTime(), at)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Time.AsTime().Before(h[i-1].Time.AsTime()) || h[i].Type == h[i-1].Type {
			t.Fatalf("history out of order at %d: %v", i, h)
		}
	}
	// A retirement says so.
	err = s.Update(func(w *Writer) error {
		_, _, err := w.RetireAgent("acme", "a1", "admin@example", "host gone", at.Add(time.Minute))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(f.Fingerprint)
	if last := got.History[len(got.History)-1]; last.Type != vigilv1.EventType_EVENT_TYPE_RESOLVED || last.Detail != Retired {
		t.Errorf("retirement recorded as %v %q", last.Type, last.Detail)
	}
}
