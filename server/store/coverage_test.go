package store

import (
	"fmt"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

func complete(t *testing.T, s *Store, scope *vigilv1.Scope, id string, at time.Time, cov *vigilv1.Coverage) {
	t.Helper()
	err := s.Update(func(w *Writer) error {
		_, err := w.ApplyCompleted(&vigilv1.ScanCompleted{ScanId: id, Scope: scope, Full: true, FinishedAt: nil, Coverage: cov,
			SetDigest: make([]byte, 32)}, at, true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func heartbeat(t *testing.T, s *Store, tenant, agent string, at time.Time) {
	t.Helper()
	h := &vigilv1.Heartbeat{Tenant: tenant, Agent: agent, IntervalSeconds: 10, ScanIntervalSeconds: 60}
	if err := s.Update(func(w *Writer) error { return w.Heartbeat(h, at) }); err != nil {
		t.Fatal(err)
	}
}

func changes(t *testing.T, s *Store, now time.Time) []CoverageChange {
	t.Helper()
	cs, err := s.CoverageChanges(now, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if err := s.Update(func(w *Writer) error { return w.MarkCoverage(c) }); err != nil {
			t.Fatal(err)
		}
	}
	return cs
}

// Staleness is announced once per change: a silent agent is one change for
// all its scopes; a scope that stops completing while its agent beats is
// its own; both come back as restored.
func TestCoverageStaleness(t *testing.T) {
	s := openTemp(t)
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	parse := &vigilv1.Coverage{UnitsAttempted: 3, UnitsAssessed: 2, UnitsNotAssessed: 1,
		NotAssessed: []*vigilv1.ScanError{{Path: "bad.yaml", Reason: vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_PARSE_ERROR}}}
	a := &vigilv1.Scope{Tenant: "acme", Agent: "n1", Scanner: "kubernetes", Target: "/srv"}
	b := &vigilv1.Scope{Tenant: "acme", Agent: "n1", Scanner: "secrets", Target: "/srv"}
	heartbeat(t, s, "acme", "n1", t0)
	complete(t, s, a, "s1", t0, parse)
	complete(t, s, b, "s1", t0, &vigilv1.Coverage{UnitsAttempted: 3, UnitsAssessed: 3})
	if cs := changes(t, s, t0.Add(20*time.Second)); len(cs) != 0 {
		t.Fatalf("fresh fleet: %v", cs)
	}
	// 31 s without a heartbeat (3 × 10 s): the agent, once.
	cs := changes(t, s, t0.Add(31*time.Second))
	if len(cs) != 1 || !cs[0].Lost || cs[0].Scope != nil || cs[0].Agent != "n1" {
		t.Fatalf("silent agent: %+v", cs)
	}
	if cs := changes(t, s, t0.Add(40*time.Second)); len(cs) != 0 {
		t.Fatalf("announced twice: %+v", cs)
	}
	// Its scopes go stale past 3 × 60 s, but the agent's event covers them.
	if cs := changes(t, s, t0.Add(200*time.Second)); len(cs) != 0 {
		t.Fatalf("scopes of a silent agent announced: %+v", cs)
	}
	// The agent beats again: restored; its scopes are now stale on their own.
	heartbeat(t, s, "acme", "n1", t0.Add(205*time.Second))
	cs = changes(t, s, t0.Add(206*time.Second))
	if len(cs) != 3 || cs[0].Lost || cs[0].Scope != nil || !cs[1].Lost || cs[1].Scope == nil || !cs[2].Lost {
		t.Fatalf("agent back, scopes stale: %+v", cs)
	}
	// A scan completes: that scope is restored, the other stays stale.
	complete(t, s, a, "s2", t0.Add(207*time.Second), parse)
	cs = changes(t, s, t0.Add(208*time.Second))
	if len(cs) != 1 || cs[0].Lost || cs[0].Scope.Scanner != "kubernetes" {
		t.Fatalf("scope back: %+v", cs)
	}

	resp, err := s.Coverage(&vigilv1.ListCoverageRequest{Stale: true}, nil, t0.Add(208*time.Second), 30*time.Second)
	if err != nil || len(resp.Scopes) != 1 || resp.Scopes[0].Scope.Scanner != "secrets" || len(resp.StaleAgents) != 0 {
		t.Fatalf("stale listing: %v %v", resp, err)
	}
	resp, _ = s.Coverage(&vigilv1.ListCoverageRequest{Reason: vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_PARSE_ERROR}, nil, t0, 0)
	if len(resp.Scopes) != 1 || resp.Scopes[0].Coverage.UnitsAssessed != 2 {
		t.Fatalf("by reason: %v", resp)
	}
	if resp, _ = s.Coverage(&vigilv1.ListCoverageRequest{}, []string{"globex"}, t0, 0); len(resp.Scopes) != 0 {
		t.Fatalf("another tenant's scopes: %v", resp)
	}
}

func TestCoveragePages(t *testing.T) {
	s := openTemp(t)
	now := time.Now()
	for i := 0; i < 7; i++ {
		complete(t, s, &vigilv1.Scope{Tenant: "acme", Agent: "a", Scanner: "kubernetes", Target: fmt.Sprint("/t", i)}, "s1", now, &vigilv1.Coverage{UnitsAttempted: 1})
	}
	seen := map[string]bool{}
	req := &vigilv1.ListCoverageRequest{PageSize: 3}
	for pages := 0; ; pages++ {
		resp, err := s.Coverage(req, nil, now, time.Minute)
		if err != nil || pages > 3 {
			t.Fatal(err, pages)
		}
		for _, sc := range resp.Scopes {
			if seen[sc.Scope.Target] {
				t.Fatalf("%s twice", sc.Scope.Target)
			}
			seen[sc.Scope.Target] = true
		}
		if req.PageToken = resp.NextPageToken; req.PageToken == "" {
			break
		}
	}
	if len(seen) != 7 {
		t.Fatalf("paged through %d of 7 scopes", len(seen))
	}
	if _, err := s.Coverage(&vigilv1.ListCoverageRequest{PageToken: "zz"}, nil, now, time.Minute); err != ErrBadToken {
		t.Fatalf("bad token: %v", err)
	}
}
