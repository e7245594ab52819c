package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

func examplesDir() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(self)), "examples")
}

// fleet is what one agent scans.
type fleet struct {
	tenant, id, data string
	targets          []string
}

func fingerprints(fs []*vigilv1.Finding) map[string]*vigilv1.Finding {
	m := map[string]*vigilv1.Finding{}
	for _, f := range fs {
		m[f.Fingerprint] = f
	}
	return m
}

// expectSame asserts that the server's findings of a tenant, open or
// reopened, are exactly those `vigil scan` reports for the tenant's paths,
// and that SummarizeFindings agrees group by group.
func expectSame(t *testing.T, s *vigilServer, tenant string, want []*vigilv1.Finding) {
	t.Helper()
	stored := s.listAll(&vigilv1.FindingFilter{Tenant: tenant, Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN, vigilv1.Status_STATUS_REOPENED}})
	got := map[string]int{}
	for _, f := range stored {
		got[f.Finding.Fingerprint]++
	}
	wantFP := fingerprints(want)
	for fp, n := range got {
		if n != 1 {
			t.Errorf("tenant %s: fingerprint %s stored %d times", tenant, fp, n)
		}
		if wantFP[fp] == nil {
			t.Errorf("tenant %s: server has %s which vigil scan does not report", tenant, fp)
		}
	}
	for fp, f := range wantFP {
		if got[fp] == 0 {
			t.Errorf("tenant %s: server lacks %s %s at %s:%d", tenant, f.CheckId, fp, f.Location.Path, f.Location.StartLine)
		}
	}
	type key struct {
		p vigilv1.Pillar
		s vigilv1.Severity
	}
	wantGroups := map[key]uint64{}
	for _, f := range want {
		wantGroups[key{f.Pillar, f.Severity}]++
	}
	sum := s.summary(&vigilv1.SummarizeFindingsRequest{Tenant: tenant})
	if sum.Total != uint64(len(wantFP)) {
		t.Errorf("tenant %s: summary total %d, vigil scan reports %d", tenant, sum.Total, len(wantFP))
	}
	for _, g := range sum.Groups {
		if wantGroups[key{g.Pillar, g.Severity}] != g.Count {
			t.Errorf("tenant %s: summary %v/%v = %d, vigil scan %d", tenant, g.Pillar, g.Severity, g.Count, wantGroups[key{g.Pillar, g.Severity}])
		}
		delete(wantGroups, key{g.Pillar, g.Severity})
	}
	if len(wantGroups) > 0 {
		t.Errorf("tenant %s: summary lacks groups %v", tenant, wantGroups)
	}
}

// ingested waits until the server holds exactly n open findings of a tenant.
func ingested(t *testing.T, s *vigilServer, tenant string, n int) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d open findings of %s", n, tenant), func() bool {
		return s.summary(&vigilv1.SummarizeFindingsRequest{Tenant: tenant}).Total == uint64(n)
	})
}

// watcher collects WatchFindings events.
type watcher struct {
	mu     sync.Mutex
	events []*vigilv1.FindingEvent
}

func (w *watcher) has(typ vigilv1.EventType, fp string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e.Type == typ && e.Finding.Finding.Fingerprint == fp {
			return true
		}
	}
	return false
}

func (w *watcher) count(typ vigilv1.EventType) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func watch(t *testing.T, s *vigilServer, filter *vigilv1.FindingFilter) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := s.findings().WatchFindings(ctx, &vigilv1.WatchFindingsRequest{Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{}
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				return
			}
			w.mu.Lock()
			w.events = append(w.events, r.Event)
			w.mu.Unlock()
		}
	}()
	return w
}

func TestSpine(t *testing.T) {
	nats := startNATS(t)
	srv := startServer(t, nats.url())
	w := watch(t, srv, &vigilv1.FindingFilter{Tenant: "acme"})
	time.Sleep(200 * time.Millisecond) // let the watch stream attach

	root := t.TempDir()
	copyDir(t, filepath.Join(examplesDir(), "payments"), filepath.Join(root, "a1", "payments"))
	copyDir(t, filepath.Join(examplesDir(), "docker"), filepath.Join(root, "a1", "docker"))
	copyDir(t, filepath.Join(examplesDir(), "platform"), filepath.Join(root, "a2", "platform"))
	copyDir(t, filepath.Join(examplesDir(), "payments"), filepath.Join(root, "g1", "payments"))
	fleets := []fleet{
		{"acme", "a1", t.TempDir(), []string{filepath.Join(root, "a1", "payments"), filepath.Join(root, "a1", "docker")}},
		{"acme", "a2", t.TempDir(), []string{filepath.Join(root, "a2", "platform")}},
		{"globex", "g1", t.TempDir(), []string{filepath.Join(root, "g1", "payments")}},
	}
	expected := func(tenant string) []*vigilv1.Finding {
		var paths []string
		for _, f := range fleets {
			if f.tenant == tenant {
				paths = append(paths, f.targets...)
			}
		}
		rep := localScan(t, tenant, paths...)
		if len(rep.Errors) > 0 {
			t.Fatalf("vigil scan errors: %v", rep.Errors)
		}
		return rep.Findings
	}
	scanAll := func(fs ...fleet) {
		t.Helper()
		var ps []*proc
		for _, f := range fs {
			ps = append(ps, runAgent(t, nats.url(), f.tenant, f.id, f.data, nil, f.targets...))
		}
		for _, p := range ps {
			if err := p.wait(t, 2*time.Minute); err != nil {
				t.Fatalf("%s: %v\n%s", p.name, err, tail(p.out.String(), 20))
			}
		}
	}

	// 1. Three agents, two tenants: the server matches vigil scan.
	scanAll(fleets...)
	acme, globex := expected("acme"), expected("globex")
	if len(acme) < 40 || len(globex) < 20 {
		t.Fatalf("the example fleet is too small to prove anything: %d, %d findings", len(acme), len(globex))
	}
	ingested(t, srv, "acme", len(acme))
	ingested(t, srv, "globex", len(globex))
	expectSame(t, srv, "acme", acme)
	expectSame(t, srv, "globex", globex)
	waitFor(t, 10*time.Second, "OPENED events", func() bool { return w.count(vigilv1.EventType_EVENT_TYPE_OPENED) == len(acme) })
	if n := w.count(vigilv1.EventType_EVENT_TYPE_OPENED); n != len(acme) {
		t.Fatalf("watch saw %d OPENED events for acme, want %d", n, len(acme))
	}
	agents, err := vigilv1.NewAgentServiceClient(srv.conn).ListAgents(context.Background(), &vigilv1.ListAgentsRequest{})
	if err != nil || len(agents.Agents) != 3 {
		t.Fatalf("ListAgents = %v, %v", agents, err)
	}

	// 2. An identical second scan adds nothing and counts times seen.
	scanAll(fleets[0])
	waitFor(t, 30*time.Second, "times_seen 2 on a1's findings", func() bool {
		for _, f := range srv.listAll(&vigilv1.FindingFilter{Tenant: "acme"}) {
			if f.Scope.Agent == "a1" && f.TimesSeen != 2 {
				return false
			}
		}
		return true
	})
	expectSame(t, srv, "acme", acme)
	if n := len(srv.listAll(&vigilv1.FindingFilter{Tenant: "acme"})); n != len(acme) {
		t.Fatalf("second scan changed the number of stored findings: %d, want %d", n, len(acme))
	}

	// 3. A fixed violation resolves; when it comes back it reopens.
	manifest := filepath.Join(root, "a1", "payments", "deployment.yaml")
	orig, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	privileged := ""
	for _, f := range acme {
		if f.CheckId == "VGL-CLUSTER-001" && f.Location.Path == manifest && strings.Contains(f.Location.Snippet, "privileged: true") {
			privileged = f.Fingerprint
		}
	}
	if privileged == "" {
		t.Fatal("the example fleet has no privileged container")
	}
	fixed := strings.Replace(string(orig), "privileged: true", "privileged: false", 1)
	if err := os.WriteFile(manifest, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	scanAll(fleets[0])
	waitFor(t, 30*time.Second, "RESOLVED event", func() bool { return w.has(vigilv1.EventType_EVENT_TYPE_RESOLVED, privileged) })
	if got := statusOf(t, srv, privileged); got != vigilv1.Status_STATUS_RESOLVED {
		t.Fatalf("fixed finding is %v, want RESOLVED", got)
	}
	expectSame(t, srv, "acme", expected("acme"))
	if err := os.WriteFile(manifest, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	scanAll(fleets[0])
	waitFor(t, 30*time.Second, "REOPENED event", func() bool { return w.has(vigilv1.EventType_EVENT_TYPE_REOPENED, privileged) })
	if got := statusOf(t, srv, privileged); got != vigilv1.Status_STATUS_REOPENED {
		t.Fatalf("returning finding is %v, want REOPENED", got)
	}
	expectSame(t, srv, "acme", acme)

	// 4. NATS down while an agent scans: the outbox keeps everything.
	extra := filepath.Join(root, "a2", "platform", "extra.yaml")
	if err := os.WriteFile(extra, []byte(generated(5, "extra")), 0o644); err != nil {
		t.Fatal(err)
	}
	nats.stop()
	p := runAgent(t, nats.url(), "acme", "a2", fleets[1].data, nil, fleets[1].targets...)
	p.waitLine(t, "scan enqueued", 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	nats.start()
	if err := p.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent after NATS restart: %v", err)
	}
	acme = expected("acme")
	ingested(t, srv, "acme", len(acme))
	expectSame(t, srv, "acme", acme)

	// 5. The server killed mid-ingest and restarted: nothing lost, nothing twice.
	big := fleet{"globex", "g2", t.TempDir(), []string{filepath.Join(root, "g2")}}
	if err := os.MkdirAll(big.targets[0], 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if err := os.WriteFile(filepath.Join(big.targets[0], fmt.Sprintf("app-%02d.yaml", i)), []byte(generated(10, fmt.Sprintf("app%02d", i))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fleets = append(fleets, big)
	globex = expected("globex")
	srv.stop() // graceful: SIGTERM exits cleanly
	pa := runAgent(t, nats.url(), big.tenant, big.id, big.data, []string{"--batch-size", "4"}, big.targets...)
	if err := pa.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent: %v", err)
	}
	srv.args = []string{"--fetch-batch", "2"}
	srv.start()
	var atKill uint64
	waitFor(t, 60*time.Second, "ingest under way", func() bool {
		atKill = srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "globex"}).Total
		return atKill > 0
	})
	srv.kill()
	if atKill >= uint64(len(globex)) {
		t.Fatalf("the kill came too late to be mid-ingest (%d of %d ingested)", atKill, len(globex))
	}
	t.Logf("server killed with %d of %d globex findings ingested", atKill, len(globex))
	srv.args = nil
	srv.start()
	ingested(t, srv, "globex", len(globex))
	expectSame(t, srv, "globex", globex)
	expectSame(t, srv, "acme", acme)
	srv.stop()
}

func statusOf(t *testing.T, s *vigilServer, fp string) vigilv1.Status {
	t.Helper()
	r, err := s.findings().GetFinding(context.Background(), &vigilv1.GetFindingRequest{Id: fp})
	if err != nil {
		t.Fatalf("GetFinding(%s): %v", fp, err)
	}
	return r.Finding.Status
}

// generated returns n Deployments with several violations each.
func generated(n int, prefix string) string {
	var b strings.Builder
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: gen
spec:
  template:
    spec:
      hostPID: true
      containers:
        - name: main
          image: example.com/%s:latest
          securityContext:
            privileged: true
        - name: sidecar
          image: example.com/sidecar
`, name, name)
	}
	return b.String()
}
