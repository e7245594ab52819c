package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// A retired agent's findings are resolved as retired with their events,
// leave the summary, and the agent is neither stale nor due again; the
// audit log names who retired it. A heartbeat brings it back and its next
// scan reopens what it still sees. Another agent is untouched.
func TestRetireAgent(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	gone := &vigilv1.Scope{Tenant: "acme", Agent: "old", Scanner: "kubernetes", Target: "/srv/m"}
	gone2 := &vigilv1.Scope{Tenant: "acme", Agent: "old", Scanner: "dockerfile", Target: "/srv/m"}
	live := &vigilv1.Scope{Tenant: "acme", Agent: "new", Scanner: "kubernetes", Target: "/srv/n"}
	a, b, c := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1), mkFinding("acme", "VGL-CLUSTER-002", vigilv1.Severity_SEVERITY_LOW, 2), mkFinding("acme", "VGL-CLUSTER-003", vigilv1.Severity_SEVERITY_LOW, 3)
	if err := s.Update(func(w *Writer) error {
		for _, ag := range []string{"old", "new"} {
			if err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: ag, IntervalSeconds: 30}, t0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	scan(t, s, gone, "s1", true, []*vigilv1.Finding{a}, nil, []string{a.Fingerprint}, t0)
	scan(t, s, gone2, "s1", true, []*vigilv1.Finding{b}, nil, []string{b.Fingerprint}, t0)
	scan(t, s, live, "s1", true, []*vigilv1.Finding{c}, nil, []string{c.Fingerprint}, t0)

	later := t0.Add(40 * 24 * time.Hour)
	due, err := s.RetireDue(later.Add(-30 * 24 * time.Hour))
	if err != nil || len(due) != 2 {
		t.Fatalf("due %v %v: both agents are silent for 40 days", due, err)
	}
	var events []*vigilv1.FindingEvent
	var resolved uint64
	var scopes int
	if err := s.Update(func(w *Writer) error {
		resolved, scopes, err = w.RetireAgent("acme", "old", "admin@example", "decommissioned", later)
		events = w.Events
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if resolved != 2 || scopes != 2 || types(events)[vigilv1.EventType_EVENT_TYPE_RESOLVED] != 2 {
		t.Fatalf("resolved %d in %d scopes, events %v", resolved, scopes, types(events))
	}
	if got, _ := s.Get(events[0].Finding.Id); got.Status != vigilv1.Status_STATUS_RESOLVED || got.Resolution != Retired {
		t.Errorf("retired finding %v", got)
	}
	if sum, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{}); sum.Total != 1 {
		t.Errorf("summary counts %d, want only the live agent's finding", sum.Total)
	}
	agents, _ := s.Agents("acme", later, time.Minute)
	for _, ag := range agents {
		if ag.Id == "old" && (!ag.Retired || ag.Stale) {
			t.Errorf("retired agent %v", ag)
		}
		if ag.Id == "new" && (ag.Retired || !ag.Stale) {
			t.Errorf("the other agent %v", ag)
		}
	}
	if due, _ := s.RetireDue(later); len(due) != 1 || due[0][1] != "new" {
		t.Errorf("due after retirement %v", due)
	}
	audit, _, _ := s.Audit([]string{"acme"}, 10, "")
	if len(audit) != 1 || audit[0].Action != "retire" || audit[0].Actor != "admin@example" || audit[0].Affected != 2 || audit[0].Reason != "decommissioned" {
		t.Errorf("audit %v", audit)
	}
	if err := s.Update(func(w *Writer) error {
		_, _, err := w.RetireAgent("acme", "nobody", "admin@example", "", later)
		return err
	}); !errors.Is(err, ErrNoAgent) {
		t.Errorf("unknown agent: %v", err)
	}

	// Back: a heartbeat, then a scan that still sees a.
	if err := s.Update(func(w *Writer) error {
		return w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: "old"}, later.Add(time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	evs := scan(t, s, gone, "s2", true, []*vigilv1.Finding{a}, nil, []string{a.Fingerprint}, later.Add(time.Hour))
	if types(evs)[vigilv1.EventType_EVENT_TYPE_REOPENED] != 1 {
		t.Errorf("return events %v", types(evs))
	}
	if got, _ := s.Get(evs[0].Finding.Id); got.Resolution != "" {
		t.Errorf("reopened finding keeps resolution %q", got.Resolution)
	}
	if sr, _ := s.Scope(gone); sr.Retired {
		t.Error("the scope stays retired after a completed scan")
	}
}

// Retiring a target retires its scopes (one scanner's, or all), leaves the
// agent and its other targets alone, and is audited.
func TestRetireTarget(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	k8s := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/srv/repo"}
	docker := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "dockerfile", Target: "/srv/repo"}
	other := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/srv/other"}
	fs := []*vigilv1.Finding{mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1),
		mkFinding("acme", "VGL-CLUSTER-002", vigilv1.Severity_SEVERITY_HIGH, 2), mkFinding("acme", "VGL-CLUSTER-003", vigilv1.Severity_SEVERITY_HIGH, 3)}
	for i, sc := range []*vigilv1.Scope{k8s, docker, other} {
		scan(t, s, sc, "s1", true, fs[i:i+1], nil, []string{fs[i].Fingerprint}, t0)
	}
	retire := func(scanner string) (uint64, int, error) {
		var r uint64
		var n int
		err := s.Update(func(w *Writer) error {
			var err error
			r, n, err = w.RetireTarget("acme", "a1", "/srv/repo", scanner, "admin@example", "moved", t0)
			return err
		})
		return r, n, err
	}
	if r, n, err := retire("dockerfile"); err != nil || r != 1 || n != 1 {
		t.Fatalf("one scanner: %d in %d, %v", r, n, err)
	}
	if r, n, err := retire(""); err != nil || r != 1 || n != 2 {
		t.Fatalf("the rest of the target: %d in %d, %v", r, n, err)
	}
	if sum, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{}); sum.Total != 1 {
		t.Errorf("summary %d, want the other target's finding", sum.Total)
	}
	if sr, _ := s.Scope(other); sr.Retired {
		t.Error("another target retired")
	}
	if err := s.Update(func(w *Writer) error {
		_, _, err := w.RetireTarget("acme", "a1", "/srv/none", "", "admin@example", "", t0)
		return err
	}); !errors.Is(err, ErrNoScope) {
		t.Errorf("unknown target: %v", err)
	}
	audit, _, _ := s.Audit(nil, 10, "")
	scanners := map[string]bool{}
	for _, e := range audit {
		if e.Action == "retire-target" && e.Target == "/srv/repo" {
			scanners[e.Scanner] = true
		}
	}
	if len(audit) != 2 || !scanners["dockerfile"] || !scanners[""] {
		t.Errorf("audit %v", audit)
	}
}

// One fingerprint seen by two scopes (two agents on one repository): Get
// by fingerprint returns the occurrence that matters most, and GetAll
// lists both with their scopes.
func TestOccurrencesOfAFingerprint(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1)
	one := &vigilv1.Scope{Tenant: "acme", Agent: "ci", Scanner: "kubernetes", Target: "/builds/repo"}
	two := &vigilv1.Scope{Tenant: "acme", Agent: "laptop", Scanner: "kubernetes", Target: "/home/dev/repo"}
	scan(t, s, one, "s1", true, []*vigilv1.Finding{f}, nil, []string{f.Fingerprint}, t0)
	scan(t, s, two, "s1", true, []*vigilv1.Finding{f}, nil, []string{f.Fingerprint}, t0.Add(time.Hour))
	scan(t, s, one, "s2", true, nil, nil, nil, t0.Add(2*time.Hour)) // fixed on ci: resolved there
	got, all, err := s.GetAll(f.Fingerprint, 0, nil)
	if err != nil || len(all) != 2 {
		t.Fatalf("%d occurrences, %v", len(all), err)
	}
	if got.Scope.Agent != "laptop" || got.Status != vigilv1.Status_STATUS_OPEN {
		t.Errorf("by fingerprint: %v, want the open occurrence", got.Scope)
	}
	agents := map[string]vigilv1.Status{}
	for _, o := range all {
		agents[o.Scope.Agent] = o.Status
	}
	if agents["ci"] != vigilv1.Status_STATUS_RESOLVED || agents["laptop"] != vigilv1.Status_STATUS_OPEN {
		t.Errorf("occurrences %v", agents)
	}
	byID, all2, err := s.GetAll(all[0].Id, 0, nil)
	if err != nil || byID.Id != all[0].Id || len(all2) != 2 {
		t.Errorf("by id: %v, %d occurrences, %v", byID.GetId(), len(all2), err)
	}
}

// ListTotal counts every match while returning one page; the agent
// filter reads the scope.
func TestListTotalAndAgentFilter(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	for a, agent := range []string{"a1", "a2"} {
		sc := &vigilv1.Scope{Tenant: "acme", Agent: agent, Scanner: "kubernetes", Target: "/m"}
		var fs []*vigilv1.Finding
		var fps []string
		for i := range 5 {
			f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, a*10+i)
			fs, fps = append(fs, f), append(fps, f.Fingerprint)
		}
		scan(t, s, sc, "s1", true, fs, nil, fps, t0)
	}
	page, next, total, err := s.ListTotal(&vigilv1.FindingFilter{Tenant: "acme", Agent: "a2"}, 2, "")
	if err != nil || len(page) != 2 || next == "" || total != 5 {
		t.Fatalf("page %d, next %q, total %d, %v", len(page), next, total, err)
	}
	for _, f := range page {
		if f.Scope.Agent != "a2" {
			t.Errorf("agent filter let %s through", f.Scope.Agent)
		}
	}
	if _, _, total, _ := s.ListTotal(&vigilv1.FindingFilter{Tenant: "acme", Agent: "a2"}, 2, next); total != 3 {
		t.Errorf("total from the second page %d, want 3", total)
	}
}

// One fingerprint reported by two scopes counts once in summaries, until
// the last scope that holds it open resolves it; Verify agrees.
func TestFingerprintCountsOnce(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1)
	g := mkFinding("acme", "VGL-CLUSTER-002", vigilv1.Severity_SEVERITY_HIGH, 2)
	one := &vigilv1.Scope{Tenant: "acme", Agent: "ci", Scanner: "kubernetes", Target: "/builds/repo"}
	two := &vigilv1.Scope{Tenant: "acme", Agent: "node", Scanner: "kubernetes", Target: "/srv/repo"}
	total := func() uint64 {
		sum, err := s.Summarize(&vigilv1.SummarizeFindingsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return sum.Total
	}
	scan(t, s, one, "s1", true, []*vigilv1.Finding{f, g}, nil, []string{f.Fingerprint, g.Fingerprint}, t0)
	scan(t, s, two, "s1", true, []*vigilv1.Finding{f}, nil, []string{f.Fingerprint}, t0)
	if n := total(); n != 2 {
		t.Fatalf("two scopes, f in both: %d open, want 2", n)
	}
	scan(t, s, one, "s2", true, []*vigilv1.Finding{g}, nil, []string{g.Fingerprint}, t0.Add(time.Hour)) // f fixed in one
	if n := total(); n != 2 {
		t.Errorf("f still open in the other scope: %d, want 2", n)
	}
	scan(t, s, two, "s2", true, nil, nil, nil, t0.Add(time.Hour)) // and in the other
	if n := total(); n != 1 {
		t.Errorf("f resolved everywhere: %d, want 1", n)
	}
	resolved, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_RESOLVED}})
	if resolved.Total != 1 {
		t.Errorf("resolved: %d, want f once", resolved.Total)
	}
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
}

// Sorted lists page in order: by severity from the most severe, by last
// change from the latest, every match once across pages.
func TestListSorted(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	sevs := []vigilv1.Severity{vigilv1.Severity_SEVERITY_LOW, vigilv1.Severity_SEVERITY_CRITICAL, vigilv1.Severity_SEVERITY_MEDIUM,
		vigilv1.Severity_SEVERITY_HIGH, vigilv1.Severity_SEVERITY_LOW, vigilv1.Severity_SEVERITY_CRITICAL, vigilv1.Severity_SEVERITY_HIGH}
	for i, sev := range sevs {
		f := mkFinding("acme", "VGL-CLUSTER-001", sev, i)
		sc := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: fmt.Sprintf("/m%d", i)}
		scan(t, s, sc, "s1", true, []*vigilv1.Finding{f}, nil, []string{f.Fingerprint}, t0.Add(time.Duration(i)*time.Minute))
	}
	for _, order := range []vigilv1.FindingSort{vigilv1.FindingSort_FINDING_SORT_SEVERITY, vigilv1.FindingSort_FINDING_SORT_LAST_CHANGE} {
		var got []*vigilv1.StoredFinding
		token := ""
		for {
			page, next, _, err := s.ListQuery(&vigilv1.FindingFilter{Tenant: "acme"}, Query{PageSize: 2, Token: token, Sort: order})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			token = next
		}
		if len(got) != len(sevs) {
			t.Fatalf("%v: %d findings, want %d", order, len(got), len(sevs))
		}
		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			if order == vigilv1.FindingSort_FINDING_SORT_SEVERITY && a.Finding.Severity < b.Finding.Severity ||
				order == vigilv1.FindingSort_FINDING_SORT_LAST_CHANGE && a.LastChange.AsTime().Before(b.LastChange.AsTime()) {
				t.Errorf("%v: out of order at %d", order, i)
			}
		}
	}
}

// A complete heartbeat retires the agent's scopes it no longer names; an
// incomplete one (a target failed this round) retires nothing, and the
// scope it left out is still retired once a complete round drops it. A
// repeated heartbeat changes nothing more; a scan of the scope brings it
// back.
func TestHeartbeatRetiresDroppedScopes(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	keep := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "repo://github.com/acme/app"}
	drop := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/srv/old/app"}
	other := &vigilv1.Scope{Tenant: "acme", Agent: "a2", Scanner: "kubernetes", Target: "/srv/old/app"}
	a, b, c := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1), mkFinding("acme", "VGL-CLUSTER-002", vigilv1.Severity_SEVERITY_LOW, 2), mkFinding("acme", "VGL-CLUSTER-003", vigilv1.Severity_SEVERITY_LOW, 3)
	scan(t, s, keep, "s1", true, []*vigilv1.Finding{a}, nil, []string{a.Fingerprint}, t0)
	scan(t, s, drop, "s1", true, []*vigilv1.Finding{b}, nil, []string{b.Fingerprint}, t0)
	scan(t, s, other, "s1", true, []*vigilv1.Finding{c}, nil, []string{c.Fingerprint}, t0)
	beat := func(complete bool, at time.Time, scopes ...*vigilv1.Scope) []*vigilv1.FindingEvent {
		t.Helper()
		var events []*vigilv1.FindingEvent
		if err := s.Update(func(w *Writer) error {
			err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a1", Scopes: scopes, ScopesComplete: complete}, at)
			events = w.Events
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return events
	}
	open := func() uint64 {
		sum, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{})
		return sum.Total
	}
	if ev := beat(true, t0, keep, drop); len(ev) != 0 || open() != 3 {
		t.Fatalf("a heartbeat naming every scope retired something: %v, %d open", types(ev), open())
	}
	if ev := beat(false, t0.Add(time.Minute), keep); len(ev) != 0 || open() != 3 {
		t.Fatalf("an incomplete round retired something: %v, %d open", types(ev), open())
	}
	ev := beat(true, t0.Add(2*time.Minute), keep)
	if types(ev)[vigilv1.EventType_EVENT_TYPE_RESOLVED] != 1 || open() != 2 {
		t.Fatalf("dropped scope: events %v, %d open, want its one finding retired", types(ev), open())
	}
	if got, _ := s.Get(ev[0].Finding.Id); got.Resolution != Retired || got.Finding.Fingerprint != b.Fingerprint {
		t.Errorf("retired finding %v", got)
	}
	audit, _, err := s.Audit(nil, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range audit {
		if e.Action == "retire-target" && e.Target == drop.Target && e.Agent == "a1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d audit entries for the dropped scope, want 1", n)
	}
	if ev := beat(true, t0.Add(3*time.Minute), keep); len(ev) != 0 {
		t.Errorf("a repeated heartbeat retired again: %v", types(ev))
	}
	// The target comes back into the configuration.
	scan(t, s, drop, "s2", true, []*vigilv1.Finding{b}, nil, []string{b.Fingerprint}, t0.Add(4*time.Minute))
	if open() != 3 {
		t.Errorf("%d open after the dropped target's next scan, want 3", open())
	}
}
