package store

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

func statusOf(t *testing.T, s *Store, fp string) *vigilv1.StoredFinding {
	t.Helper()
	sf, err := s.Get(fp)
	if err != nil {
		t.Fatalf("get %s: %v", fp, err)
	}
	return sf
}

func verify(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Verify(); err != nil {
		t.Fatalf("store invariants: %v", err)
	}
}

func createSupp(t *testing.T, s *Store, sp *vigilv1.Suppression, now time.Time) (*vigilv1.Suppression, uint64, []*vigilv1.FindingEvent) {
	t.Helper()
	var out *vigilv1.Suppression
	var n uint64
	var evs []*vigilv1.FindingEvent
	err := s.Update(func(w *Writer) error {
		var err error
		out, n, err = w.CreateSuppression(sp, now)
		evs = w.Events
		return err
	})
	if err != nil {
		t.Fatalf("create suppression: %v", err)
	}
	return out, n, evs
}

func TestSuppressionLifecycle(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	t0 := time.Unix(1_700_000_000, 0)
	var fs []*vigilv1.Finding
	var set []string
	for i := range 30 {
		f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, i)
		fs = append(fs, f)
		set = append(set, f.Fingerprint)
	}
	other := mkFinding("acme", "VGL-CLUSTER-002", vigilv1.Severity_SEVERITY_HIGH, 1)
	scan(t, s, scope, "s1", true, append(fs, other), nil, append(set, other.Fingerprint), t0)

	// app-1 and app-10..19 match the pattern: 11 findings of the check.
	sp, n, evs := createSupp(t, s, &vigilv1.Suppression{CheckId: "VGL-CLUSTER-001", Tenant: "acme", NamePattern: "app-1*", Reason: "accepted risk", Author: "alice",
		Expires: timestamppb.New(t0.Add(48 * time.Hour))}, t0.Add(time.Minute))
	if n != 11 || types(evs)[vigilv1.EventType_EVENT_TYPE_SUPPRESSED] != 11 || sp.Id == "" || sp.Author != "alice" {
		t.Fatalf("create: affected %d, events %v, suppression %v", n, types(evs), sp)
	}
	if got := statusOf(t, s, fs[1].Fingerprint); got.Status != vigilv1.Status_STATUS_SUPPRESSED || got.Suppression.GetId() != sp.Id {
		t.Fatalf("app-1 = %v", got)
	}
	if got := statusOf(t, s, other.Fingerprint); got.Status != vigilv1.Status_STATUS_OPEN {
		t.Fatalf("other check = %v", got.Status)
	}
	verify(t, s)
	sum, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{})
	if sum.Total != 20 {
		t.Fatalf("open total with 11 suppressed = %d, want 20", sum.Total)
	}
	// A delta re-scan that changes nothing keeps them suppressed and asks
	// for no resend: suppressed findings are still present.
	if evs := scan(t, s, scope, "s2", false, nil, nil, append(set, other.Fingerprint), t0.Add(time.Hour)); len(evs) != 0 {
		t.Fatalf("unchanged rescan events %v", types(evs))
	}
	if sr, _ := s.Scope(scope); sr.ResendRequested {
		t.Fatal("suppression broke the scope digest")
	}
	// A new finding the suppression selects arrives suppressed; a fixed
	// one resolves, and suppressed again when it comes back.
	n31 := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 100)
	set2 := append(append([]string{}, set[2:]...), other.Fingerprint, n31.Fingerprint)
	evs = scan(t, s, scope, "s3", false, []*vigilv1.Finding{n31}, []string{fs[1].Fingerprint}, append(set2, fs[0].Fingerprint), t0.Add(2*time.Hour))
	if tp := types(evs); tp[vigilv1.EventType_EVENT_TYPE_SUPPRESSED] != 1 || tp[vigilv1.EventType_EVENT_TYPE_RESOLVED] != 1 {
		t.Fatalf("new + fixed events %v", tp)
	}
	evs = scan(t, s, scope, "s4", false, []*vigilv1.Finding{fs[1]}, nil, append(set2, fs[0].Fingerprint, fs[1].Fingerprint), t0.Add(3*time.Hour))
	if tp := types(evs); tp[vigilv1.EventType_EVENT_TYPE_SUPPRESSED] != 1 || len(evs) != 1 {
		t.Fatalf("comeback events %v", tp)
	}
	verify(t, s)

	// Expiry opens all 12 again, with UNSUPPRESSED events and an audit entry.
	var expired uint64
	err := s.Update(func(w *Writer) error {
		var err error
		expired, err = w.ExpireSuppressions(t0.Add(49 * time.Hour))
		evs = w.Events
		return err
	})
	if err != nil || expired != 12 || types(evs)[vigilv1.EventType_EVENT_TYPE_UNSUPPRESSED] != 12 {
		t.Fatalf("expiry: %d, %v, %v", expired, types(evs), err)
	}
	if got := statusOf(t, s, fs[1].Fingerprint); got.Status != vigilv1.Status_STATUS_OPEN || got.Suppression != nil {
		t.Fatalf("after expiry = %v", got)
	}
	active, _ := s.Suppressions(nil, false, t0.Add(49*time.Hour))
	all, _ := s.Suppressions(nil, true, t0.Add(49*time.Hour))
	if len(active) != 0 || len(all) != 1 || all[0].EndedBy != ExpiryActor {
		t.Fatalf("suppressions after expiry: active %d, all %v", len(active), all)
	}
	audit, _, err := s.Audit(nil, 0, "")
	if err != nil || len(audit) != 2 || audit[0].Action != "create" || audit[0].Affected != 11 || audit[1].Action != "expire" || audit[1].Affected != 12 {
		t.Fatalf("audit = %v, %v", audit, err)
	}
	verify(t, s)
}

func TestSuppressionRevokeAndFingerprint(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	t0 := time.Unix(1_700_000_000, 0)
	a, b := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1), mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 2)
	scan(t, s, scope, "s1", true, []*vigilv1.Finding{a, b}, nil, []string{a.Fingerprint, b.Fingerprint}, t0)

	byFP, n, _ := createSupp(t, s, &vigilv1.Suppression{Fingerprint: a.Fingerprint, Reason: "false positive", Author: "bob"}, t0)
	if n != 1 {
		t.Fatalf("fingerprint suppression affected %d", n)
	}
	byCheck, n, _ := createSupp(t, s, &vigilv1.Suppression{CheckId: "VGL-CLUSTER-001", Reason: "migrating", Author: "bob"}, t0)
	if n != 1 { // a is already suppressed
		t.Fatalf("check suppression affected %d", n)
	}
	// Revoking the fingerprint one leaves a under the check one: no event.
	var evs []*vigilv1.FindingEvent
	err := s.Update(func(w *Writer) error {
		_, n, err := w.RevokeSuppression(byFP.Id, "carol", t0.Add(time.Hour))
		evs = w.Events
		if n != 1 {
			t.Errorf("revoke affected %d", n)
		}
		return err
	})
	if err != nil || len(evs) != 0 {
		t.Fatalf("revoke: %v, events %v", err, types(evs))
	}
	if got := statusOf(t, s, a.Fingerprint); got.Status != vigilv1.Status_STATUS_SUPPRESSED || got.Suppression.Id != byCheck.Id {
		t.Fatalf("a after first revoke = %v", got)
	}
	err = s.Update(func(w *Writer) error {
		_, _, err := w.RevokeSuppression(byCheck.Id, "carol", t0.Add(2*time.Hour))
		evs = w.Events
		return err
	})
	if err != nil || types(evs)[vigilv1.EventType_EVENT_TYPE_UNSUPPRESSED] != 2 {
		t.Fatalf("second revoke: %v, %v", err, types(evs))
	}
	err = s.Update(func(w *Writer) error {
		_, _, err := w.RevokeSuppression(byCheck.Id, "carol", t0.Add(3*time.Hour))
		return err
	})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("revoking twice: %v", err)
	}
	for _, bad := range []*vigilv1.Suppression{
		{Reason: "no selector"},
		{CheckId: "VGL-X", Reason: ""},
		{Fingerprint: "abc", Reason: "short"},
		{CheckId: "VGL-X", Reason: "past", Expires: timestamppb.New(t0.Add(-time.Hour))},
		{CheckId: "VGL-X", Reason: "bad glob", NamePattern: "["},
	} {
		err := s.Update(func(w *Writer) error { _, _, err := w.CreateSuppression(bad, t0); return err })
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v accepted: %v", bad, err)
		}
	}
	verify(t, s)
}

func TestExemptionFromSource(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	t0 := time.Unix(1_700_000_000, 0)
	a := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1)
	a.Exemption = &vigilv1.Exemption{Reason: "legacy app", Expires: timestamppb.New(t0.Add(24 * time.Hour)), Source: "annotation vigil.dev/ignore"}
	evs := scan(t, s, scope, "s1", true, []*vigilv1.Finding{a}, nil, []string{a.Fingerprint}, t0)
	if types(evs)[vigilv1.EventType_EVENT_TYPE_SUPPRESSED] != 1 {
		t.Fatalf("exempt finding events %v", types(evs))
	}
	if got := statusOf(t, s, a.Fingerprint); got.Suppression.GetReason() != "legacy app" || got.Suppression.GetId() != "" {
		t.Fatalf("exempt finding = %v", got)
	}
	verify(t, s)
	// The annotation is removed: the next scan carries the finding without it.
	plain := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1)
	evs = scan(t, s, scope, "s2", false, []*vigilv1.Finding{plain}, nil, []string{a.Fingerprint}, t0.Add(time.Hour))
	if types(evs)[vigilv1.EventType_EVENT_TYPE_UNSUPPRESSED] != 1 || statusOf(t, s, a.Fingerprint).Status != vigilv1.Status_STATUS_OPEN {
		t.Fatalf("annotation removed: events %v", types(evs))
	}
	// Put back; then it runs out without any new scan.
	evs = scan(t, s, scope, "s3", false, []*vigilv1.Finding{a}, nil, []string{a.Fingerprint}, t0.Add(2*time.Hour))
	if types(evs)[vigilv1.EventType_EVENT_TYPE_SUPPRESSED] != 1 {
		t.Fatalf("annotation back: events %v", types(evs))
	}
	err := s.Update(func(w *Writer) error {
		n, err := w.ExpireSuppressions(t0.Add(23 * time.Hour))
		if n != 0 {
			t.Errorf("expired %d before the time", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(w *Writer) error {
		_, err := w.ExpireSuppressions(t0.Add(25 * time.Hour))
		evs = w.Events
		return err
	})
	if err != nil || types(evs)[vigilv1.EventType_EVENT_TYPE_UNSUPPRESSED] != 1 || statusOf(t, s, a.Fingerprint).Status != vigilv1.Status_STATUS_OPEN {
		t.Fatalf("exemption expiry: %v, %v", types(evs), err)
	}
	// A past exemption never suppresses.
	b := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 2)
	b.Exemption = &vigilv1.Exemption{Reason: "old", Expires: timestamppb.New(t0)}
	evs = scan(t, s, scope, "s4", false, []*vigilv1.Finding{b}, nil, []string{a.Fingerprint, b.Fingerprint}, t0.Add(26*time.Hour))
	if types(evs)[vigilv1.EventType_EVENT_TYPE_OPENED] != 1 {
		t.Fatalf("expired exemption: events %v", types(evs))
	}
	verify(t, s)
}

func TestExpiryDueReadsOnly(t *testing.T) {
	s := openTemp(t)
	t0 := time.Unix(1_700_000_000, 0)
	if due, err := s.ExpiryDue(t0); err != nil || due {
		t.Fatalf("empty store due: %v %v", due, err)
	}
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	a := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1)
	a.Exemption = &vigilv1.Exemption{Reason: "r", Expires: timestamppb.New(t0.Add(time.Hour))}
	scan(t, s, scope, "s1", true, []*vigilv1.Finding{a}, nil, []string{a.Fingerprint}, t0)
	createSupp(t, s, &vigilv1.Suppression{CheckId: "VGL-X", Reason: "r", Expires: timestamppb.New(t0.Add(3 * time.Hour))}, t0)
	for _, c := range []struct {
		at  time.Duration
		due bool
	}{{30 * time.Minute, false}, {2 * time.Hour, true}} {
		if due, err := s.ExpiryDue(t0.Add(c.at)); err != nil || due != c.due {
			t.Fatalf("at +%v: due %v, want %v (%v)", c.at, due, c.due, err)
		}
	}
	s.Update(func(w *Writer) error { _, err := w.ExpireSuppressions(t0.Add(2 * time.Hour)); return err })
	if due, _ := s.ExpiryDue(t0.Add(2 * time.Hour)); due {
		t.Fatal("still due after the sweep")
	}
	if due, _ := s.ExpiryDue(t0.Add(4 * time.Hour)); !due {
		t.Fatal("the suppression's expiry is not due")
	}
}
