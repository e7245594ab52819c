package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "vigil.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mkFinding(tenant, check string, sev vigilv1.Severity, n int) *vigilv1.Finding {
	res := &vigilv1.Resource{Tenant: tenant, Provider: "kubernetes", Kind: "Deployment", Name: fmt.Sprintf("app-%d", n)}
	return &vigilv1.Finding{
		Fingerprint: finding.Fingerprint(check, res, "m.yaml", "x"),
		CheckId:     check, Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: sev, Title: check, Resource: res,
		Location: &vigilv1.Location{Path: "m.yaml", StartLine: int32(n)},
	}
}

// scan applies one scan of a scope as full or delta and returns its events.
func scan(t *testing.T, s *Store, scope *vigilv1.Scope, id string, full bool, add []*vigilv1.Finding, gone []string, set []string, at time.Time) []*vigilv1.FindingEvent {
	t.Helper()
	var events []*vigilv1.FindingEvent
	d := finding.DigestOf(set)
	err := s.Update(func(w *Writer) error {
		if err := w.ApplyBatch(&vigilv1.FindingBatch{ScanId: id, Seq: 1, Scope: scope, Full: full, Findings: add, GoneFingerprints: gone}, at); err != nil {
			return err
		}
		ok, err := w.ApplyCompleted(&vigilv1.ScanCompleted{ScanId: id, Scope: scope, Full: full, Batches: 1, FindingCount: uint64(len(set)), SetDigest: d[:]}, at, false)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("completion of %s not applied", id)
		}
		events = w.Events
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func types(evs []*vigilv1.FindingEvent) map[vigilv1.EventType]int {
	m := map[vigilv1.EventType]int{}
	for _, e := range evs {
		m[e.Type]++
	}
	return m
}

func TestLifecycle(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	a, b := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1), mkFinding("acme", "VGL-CLUSTER-002", vigilv1.Severity_SEVERITY_LOW, 2)
	t0 := time.Unix(1_700_000_000, 0)

	evs := scan(t, s, scope, "s1", true, []*vigilv1.Finding{a, b}, nil, []string{a.Fingerprint, b.Fingerprint}, t0)
	if got := types(evs); got[vigilv1.EventType_EVENT_TYPE_OPENED] != 2 || len(evs) != 2 {
		t.Fatalf("first scan events = %v", got)
	}
	// Same scan delivered again: no change at all.
	if evs := scan(t, s, scope, "s1", true, []*vigilv1.Finding{a, b}, nil, []string{a.Fingerprint, b.Fingerprint}, t0); len(evs) != 0 {
		t.Fatalf("redelivery produced events %v", types(evs))
	}
	// Second scan, nothing changed, delta: only the completion travels.
	evs = scan(t, s, scope, "s2", false, nil, nil, []string{a.Fingerprint, b.Fingerprint}, t0.Add(time.Hour))
	if len(evs) != 0 {
		t.Fatalf("unchanged scan events = %v", types(evs))
	}
	sr, _ := s.Scope(scope)
	if sr.ResendRequested || sr.Scans != 2 || sr.Present != 2 {
		t.Fatalf("scope after unchanged scan = %+v", sr)
	}
	list, _, err := s.List(&vigilv1.FindingFilter{Tenant: "acme"}, 10, "")
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %d, %v", len(list), err)
	}
	for _, f := range list {
		if f.TimesSeen != 2 || !f.LastSeen.AsTime().Equal(t0.Add(time.Hour)) || !f.FirstSeen.AsTime().Equal(t0) {
			t.Fatalf("after two scans: times_seen %d last_seen %v first_seen %v", f.TimesSeen, f.LastSeen.AsTime(), f.FirstSeen.AsTime())
		}
	}
	// b fixed (delta): resolved.
	evs = scan(t, s, scope, "s3", false, nil, []string{b.Fingerprint}, []string{a.Fingerprint}, t0.Add(2*time.Hour))
	if got := types(evs); got[vigilv1.EventType_EVENT_TYPE_RESOLVED] != 1 || len(evs) != 1 {
		t.Fatalf("fix events = %v", got)
	}
	got, err := s.Get(evs[0].Finding.Id)
	if err != nil || got.Status != vigilv1.Status_STATUS_RESOLVED || got.TimesSeen != 2 || !got.LastSeen.AsTime().Equal(t0.Add(time.Hour)) {
		t.Fatalf("resolved finding = %v, %v", got, err)
	}
	// b back (full scan): reopened; a full scan that omits nothing resolves nothing.
	evs = scan(t, s, scope, "s4", true, []*vigilv1.Finding{a, b}, nil, []string{a.Fingerprint, b.Fingerprint}, t0.Add(3*time.Hour))
	if got := types(evs); got[vigilv1.EventType_EVENT_TYPE_REOPENED] != 1 || len(evs) != 1 {
		t.Fatalf("reappearance events = %v", got)
	}
	// A full scan that omits a resolves it.
	evs = scan(t, s, scope, "s5", true, []*vigilv1.Finding{b}, nil, []string{b.Fingerprint}, t0.Add(4*time.Hour))
	if got := types(evs); got[vigilv1.EventType_EVENT_TYPE_RESOLVED] != 1 || len(evs) != 1 || evs[0].Finding.Finding.Fingerprint != a.Fingerprint {
		t.Fatalf("full scan omission events = %v", got)
	}
	sum, err := s.Summarize(&vigilv1.SummarizeFindingsRequest{})
	if err != nil || sum.Total != 1 {
		t.Fatalf("summary total = %v, %v", sum, err)
	}
	all, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_RESOLVED, vigilv1.Status_STATUS_REOPENED, vigilv1.Status_STATUS_OPEN}})
	if all.Total != 2 {
		t.Fatalf("summary of all statuses = %d", all.Total)
	}
}

func TestDigestMismatchAsksResend(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	a := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1)
	scan(t, s, scope, "s1", false, []*vigilv1.Finding{a}, nil, []string{a.Fingerprint, "missing"}, time.Now())
	sr, _ := s.Scope(scope)
	if !sr.ResendRequested {
		t.Fatal("a digest mismatch did not request a resend")
	}
}

func TestIndexesAndPagination(t *testing.T) {
	s := openTemp(t)
	var fs []*vigilv1.Finding
	var set []string
	for i := 0; i < 250; i++ {
		tenant := []string{"acme", "globex"}[i%2]
		sev := vigilv1.Severity(1 + i%5)
		f := mkFinding(tenant, fmt.Sprintf("VGL-CLUSTER-%03d", i%7), sev, i)
		if i%3 == 0 {
			f.Resource.Account = "123456789012"
		}
		fs = append(fs, f)
		set = append(set, f.Fingerprint)
	}
	// Two scopes so that keys interleave.
	for _, tenant := range []string{"acme", "globex"} {
		var mine []*vigilv1.Finding
		var ids []string
		for _, f := range fs {
			if f.Resource.Tenant == tenant {
				mine = append(mine, f)
				ids = append(ids, f.Fingerprint)
			}
		}
		scan(t, s, &vigilv1.Scope{Tenant: tenant, Agent: "a", Scanner: "k", Target: "t"}, "s1", true, mine, nil, ids, time.Now())
	}
	count := func(f *vigilv1.FindingFilter, page int) int {
		seen := map[string]bool{}
		token := ""
		for {
			got, next, err := s.List(f, page, token)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if seen[g.Id] {
					t.Fatalf("page repeated %s", g.Id)
				}
				seen[g.Id] = true
			}
			if next == "" {
				return len(seen)
			}
			token = next
		}
	}
	want := func(pred func(*vigilv1.Finding) bool) int {
		n := 0
		for _, f := range fs {
			if pred(f) {
				n++
			}
		}
		return n
	}
	cases := []struct {
		f    *vigilv1.FindingFilter
		pred func(*vigilv1.Finding) bool
	}{
		{&vigilv1.FindingFilter{}, func(*vigilv1.Finding) bool { return true }},
		{&vigilv1.FindingFilter{Tenant: "acme"}, func(f *vigilv1.Finding) bool { return f.Resource.Tenant == "acme" }},
		{&vigilv1.FindingFilter{CheckId: "VGL-CLUSTER-003"}, func(f *vigilv1.Finding) bool { return f.CheckId == "VGL-CLUSTER-003" }},
		{&vigilv1.FindingFilter{Account: "123456789012", Tenant: "acme"}, func(f *vigilv1.Finding) bool {
			return f.Resource.Account == "123456789012" && f.Resource.Tenant == "acme"
		}},
		{&vigilv1.FindingFilter{Tenant: "globex", MinSeverity: vigilv1.Severity_SEVERITY_HIGH}, func(f *vigilv1.Finding) bool {
			return f.Resource.Tenant == "globex" && f.Severity >= vigilv1.Severity_SEVERITY_HIGH
		}},
		{&vigilv1.FindingFilter{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN}, Pillar: vigilv1.Pillar_PILLAR_CLUSTER}, func(*vigilv1.Finding) bool { return true }},
		{&vigilv1.FindingFilter{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_RESOLVED}}, func(*vigilv1.Finding) bool { return false }},
	}
	for i, c := range cases {
		for _, page := range []int{1, 7, 100, 1000} {
			if got, exp := count(c.f, page), want(c.pred); got != exp {
				t.Errorf("case %d page %d: listed %d, want %d", i, page, got, exp)
			}
		}
	}
	if _, _, err := s.List(&vigilv1.FindingFilter{Tenant: "acme"}, 5, "bogus!"); err == nil {
		t.Error("a bad token was accepted")
	}
	first, next, _ := s.List(&vigilv1.FindingFilter{Tenant: "acme"}, 5, "")
	if _, _, err := s.List(&vigilv1.FindingFilter{Tenant: "globex"}, 5, next); err == nil {
		t.Error("a token of another filter was accepted")
	}
	if g, err := s.Get(first[0].Finding.Fingerprint); err != nil || g.Id != first[0].Id {
		t.Errorf("get by fingerprint = %v, %v", g, err)
	}
	sum, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{ByTenant: true})
	var total uint64
	for _, g := range sum.Groups {
		total += g.Count
	}
	if total != 250 || sum.Total != 250 {
		t.Errorf("summary total %d / %d, want 250", total, sum.Total)
	}
}

func TestRefusesForeignFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junk.db")
	if err := writeFile(p, []byte("this is not a bbolt file, just some bytes that are long enough to look like a header and more")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p, Options{}); err == nil {
		t.Fatal("opened a file that is not a store")
	}
}

func TestCompletionWaitsForItsBatches(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	a, b := mkFinding("acme", "C-X-001", vigilv1.Severity_SEVERITY_HIGH, 1), mkFinding("acme", "C-X-002", vigilv1.Severity_SEVERITY_HIGH, 2)
	d := finding.DigestOf([]string{a.Fingerprint, b.Fingerprint})
	done := &vigilv1.ScanCompleted{ScanId: "s1", Scope: scope, Full: true, Batches: 2, FindingCount: 2, SetDigest: d[:]}
	apply := func(fn func(w *Writer) error) {
		if err := s.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	// Batch 1, then the completion (batch 2 still missing), then batch 2
	// redelivered, then the completion again.
	apply(func(w *Writer) error {
		return w.ApplyBatch(&vigilv1.FindingBatch{ScanId: "s1", Seq: 1, Scope: scope, Full: true, Findings: []*vigilv1.Finding{a}}, time.Now())
	})
	apply(func(w *Writer) error {
		ok, err := w.ApplyCompleted(done, time.Now(), false)
		if ok {
			t.Error("completion applied with a batch missing")
		}
		return err
	})
	apply(func(w *Writer) error {
		return w.ApplyBatch(&vigilv1.FindingBatch{ScanId: "s1", Seq: 2, Scope: scope, Full: true, Findings: []*vigilv1.Finding{b}}, time.Now())
	})
	apply(func(w *Writer) error {
		ok, err := w.ApplyCompleted(done, time.Now(), false)
		if !ok {
			t.Error("completion not applied with every batch present")
		}
		return err
	})
	sr, _ := s.Scope(scope)
	if sr.ResendRequested || sr.Present != 2 || sr.Scans != 1 {
		t.Fatalf("scope = %+v", sr)
	}
}

// A batch delivered twice, in one transaction or in two, counts once.
func TestDuplicateBatchCountsOnce(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	b := &vigilv1.FindingBatch{ScanId: "s1", Seq: 1, Scope: scope, Full: true, Findings: []*vigilv1.Finding{mkFinding("acme", "C-X-001", vigilv1.Severity_SEVERITY_HIGH, 1)}}
	for i := 0; i < 2; i++ {
		err := s.Update(func(w *Writer) error {
			if err := w.ApplyBatch(b, time.Now()); err != nil {
				return err
			}
			return w.ApplyBatch(b, time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sr, _ := s.Scope(scope)
	sum, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{})
	if sr.Present != 1 || sr.Records != 1 || sum.Total != 1 {
		t.Fatalf("present %d, records %d, total %d; want 1 each", sr.Present, sr.Records, sum.Total)
	}
}

// TestListMemoryBudget: a page of large findings ends at MaxPageBytes with
// a token, and paging on returns every finding once.
func TestListMemoryBudget(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	var add []*vigilv1.Finding
	var set []string
	for i := range 60 {
		f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, i)
		f.Message = strings.Repeat("x", 256<<10)
		add = append(add, f)
		set = append(set, f.Fingerprint)
	}
	scan(t, s, scope, "s1", true, add, nil, set, time.Unix(1_700_000_000, 0))
	seen := map[string]bool{}
	token, pages := "", 0
	for {
		page, next, err := s.List(&vigilv1.FindingFilter{Tenant: "acme"}, MaxPageSize, token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		size := 0
		for _, f := range page {
			size += proto.Size(f)
			if seen[f.Id] {
				t.Fatalf("%s listed twice", f.Id)
			}
			seen[f.Id] = true
		}
		if size > MaxPageBytes+(300<<10) {
			t.Fatalf("page %d holds %d bytes, over the budget of %d", pages, size, MaxPageBytes)
		}
		if next == "" {
			break
		}
		token = next
	}
	if len(seen) != 60 || pages < 4 {
		t.Fatalf("%d findings in %d pages", len(seen), pages)
	}
}

// Agents page in key order with a total over all pages, counting only
// the tenants the caller may see.
func TestAgentsPage(t *testing.T) {
	s := openTemp(t)
	now := time.Now()
	if err := s.Update(func(w *Writer) error {
		for i := range 7 {
			for _, tenant := range []string{"acme", "globex"} {
				if err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: tenant, Agent: fmt.Sprintf("a%d", i)}, now); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	onlyAcme := func(tenant string) bool { return tenant == "acme" }
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		page, next, total, err := s.AgentsPage("", onlyAcme, token, 3, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if total != 7 {
			t.Fatalf("total %d, want the 7 agents of acme", total)
		}
		for _, a := range page {
			got = append(got, a.Tenant+"/"+a.Id)
		}
		if next == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		token = next
	}
	if len(got) != 7 || got[0] != "acme/a0" || got[6] != "acme/a6" {
		t.Errorf("agents %v", got)
	}
	if _, _, _, err := s.AgentsPage("globex", nil, token, 3, now, time.Minute); err != ErrBadToken {
		t.Errorf("acme's token for globex: %v, want ErrBadToken", err)
	}
	if page, _, total, _ := s.AgentsPage("globex", nil, "", 100, now, time.Minute); total != 7 || len(page) != 7 || page[0].Tenant != "globex" {
		t.Errorf("globex: %d of %d", len(page), total)
	}
}
