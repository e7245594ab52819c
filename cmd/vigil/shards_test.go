package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/server"
	"github.com/vigilsec/vigil/server/store"
)

// Two write shards answer, through the CLI's fan-out, exactly what one
// server reading every shard answers.
func TestTwoShardsEqualOneServer(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true, MaxPayload: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	defer ns.Shutdown()
	for src, dst := range bus.ShardMappings(2) {
		if err := ns.GlobalAccount().AddMapping(src, dst); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var servers []*server.Server
	var done []chan error
	for _, shard := range []int{0, 1, -1} {
		s, err := server.New(ctx, server.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSURL: ns.ClientURL(), Shards: 2, Shard: shard, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan error, 1)
		go func() { ch <- s.Serve(ctx) }()
		servers = append(servers, s)
		done = append(done, ch)
	}
	defer func() {
		cancel()
		for _, ch := range done {
			<-ch
		}
	}()

	want := 0
	for i := range 8 {
		dir := t.TempDir()
		var doc string
		for j := 0; j <= i; j++ {
			doc += fmt.Sprintf("---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d-%d}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n", i, j)
		}
		os.WriteFile(filepath.Join(dir, "pods.yaml"), []byte(doc), 0o644)
		tenant := []string{"acme", "globex"}[i/4]
		a, err := agent.New(agent.Config{NATSURL: ns.ClientURL(), Tenant: tenant, ID: fmt.Sprintf("a%d", i), Spec: agent.Spec{Targets: []string{dir}}, Scanner: worker.Local{Logger: quiet}, Once: true, DataDir: t.TempDir(), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Run(ctx); err != nil {
			t.Fatal(err)
		}
		out, _ := run(t, "scan", "--format", "json", "--tenant", tenant, dir)
		var rep vigilv1.ScanReport
		protojson.Unmarshal([]byte(out), &rep)
		want += len(rep.Findings)
	}
	full := servers[2]
	total := func(s *server.Server) int {
		sum, err := s.Store().Summarize(&vigilv1.SummarizeFindingsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return int(sum.Total)
	}
	deadline := time.Now().Add(30 * time.Second)
	for total(full) != want || total(servers[0])+total(servers[1]) != want {
		if time.Now().After(deadline) {
			t.Fatalf("findings: shard 0 %d, shard 1 %d, all %d, want %d", total(servers[0]), total(servers[1]), total(full), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if total(servers[0]) == 0 || total(servers[1]) == 0 {
		t.Fatalf("the mapping did not split the agents: %d and %d findings", total(servers[0]), total(servers[1]))
	}

	list := func(addr string) []string {
		out, err := run(t, "--server", addr, "findings", "list", "--format", "json", "--page-size", "3")
		if err != nil {
			t.Fatal(err)
		}
		var resp vigilv1.ListFindingsResponse
		if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range resp.Findings {
			ids = append(ids, f.Id+"/"+f.Status.String())
		}
		sort.Strings(ids)
		return ids
	}
	sharded := list(servers[0].GRPCAddr() + "," + servers[1].GRPCAddr())
	single := list(full.GRPCAddr())
	if len(single) == 0 || fmt.Sprint(sharded) != fmt.Sprint(single) {
		t.Fatalf("two shards list %d findings, one server %d", len(sharded), len(single))
	}
	summary := func(addr string) string {
		out, err := run(t, "--server", addr, "findings", "summary", "--by-tenant", "--format", "json")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if a, b := summary(servers[0].GRPCAddr()+","+servers[1].GRPCAddr()), summary(full.GRPCAddr()); a != b {
		t.Fatalf("summaries differ:\n%s\n%s", a, b)
	}
	// A finding is found through the fan-out whichever shard holds it.
	if out, err := run(t, "--server", servers[0].GRPCAddr()+","+servers[1].GRPCAddr(), "findings", "get", single[len(single)-1][:80]); err != nil || out == "" {
		t.Fatalf("get through the fan-out: %v", err)
	}
}

// serveShards starts n servers, each with its own embedded NATS and store,
// after seed wrote into the i-th store, and stops them when the test ends.
// It returns the servers and their gRPC addresses joined for --server.
func serveShards(t *testing.T, n int, seed func(i int, w *store.Writer) error) ([]*server.Server, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var servers []*server.Server
	var addrs []string
	var done []chan error
	t.Cleanup(func() {
		cancel()
		for _, ch := range done {
			<-ch
		}
	})
	for i := range n {
		s, err := server.New(ctx, server.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:-1", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Store().Update(func(w *store.Writer) error { return seed(i, w) }); err != nil {
			t.Fatal(err)
		}
		ch := make(chan error, 1)
		go func() { ch <- s.Serve(ctx) }()
		servers, addrs, done = append(servers, s), append(addrs, s.GRPCAddr()), append(done, ch)
	}
	return servers, strings.Join(addrs, ",")
}

// seedScan stores one full scan of scope holding fs, at.
func seedScan(w *store.Writer, scope *vigilv1.Scope, at time.Time, fs ...*vigilv1.Finding) error {
	var fps []string
	for _, f := range fs {
		fps = append(fps, f.Fingerprint)
	}
	d := finding.DigestOf(fps)
	if err := w.ApplyBatch(&vigilv1.FindingBatch{ScanId: "s1", Seq: 1, Scope: scope, Full: true, Findings: fs}, at); err != nil {
		return err
	}
	_, err := w.ApplyCompleted(&vigilv1.ScanCompleted{ScanId: "s1", Scope: scope, Full: true, Batches: 1, FindingCount: uint64(len(fs)), SetDigest: d[:]}, at, false)
	return err
}

// agents list pages through every shard (more agents than one page on
// each) and merges the agents heard by both into one.
func TestAgentsListPagesThroughShards(t *testing.T) {
	now := time.Now()
	// Each shard has heard 1,500 agents; 500 of them both have.
	_, both := serveShards(t, 2, func(shard int, w *store.Writer) error {
		for i := shard * 1000; i < shard*1000+1500; i++ {
			if err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: fmt.Sprintf("agent-%05d", i)}, now); err != nil {
				return err
			}
		}
		return nil
	})
	out, err := run(t, "--server", both, "agents", "list", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var resp vigilv1.ListAgentsResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, a := range resp.Agents {
		ids[a.Id] = true
	}
	if len(resp.Agents) != 2500 || len(ids) != 2500 {
		t.Errorf("%d agents (%d distinct), want 2,500", len(resp.Agents), len(ids))
	}
}

// agents retire reaches every shard: each resolves the agent's findings
// it holds, and the summaries of both drop them; scopes retire does the
// same for one target.
func TestAgentsRetireAcrossShards(t *testing.T) {
	now := time.Now()
	servers, both := serveShards(t, 2, func(shard int, w *store.Writer) error {
		scope := &vigilv1.Scope{Tenant: "acme", Agent: "old", Scanner: "kubernetes", Target: fmt.Sprintf("/srv/%d", shard)}
		res := &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Kind: "Pod", Name: fmt.Sprintf("p%d", shard)}
		f := &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CLUSTER-005", res, "pods.yaml", "x"), CheckId: "VGL-CLUSTER-005",
			Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH, Resource: res}
		if err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: "old"}, now); err != nil {
			return err
		}
		return seedScan(w, scope, now, f)
	})
	// One target first: only the shard holding it changes.
	out, err := run(t, "--server", both, "scopes", "retire", "--tenant", "acme", "--agent", "old", "--target", "/srv/0", "--reason", "repository moved")
	if err != nil || !strings.Contains(out, "1 open findings resolved in 1 scopes") {
		t.Fatalf("scopes retire: %q %v", out, err)
	}
	if sum, _ := servers[1].Store().Summarize(&vigilv1.SummarizeFindingsRequest{}); sum.Total != 1 {
		t.Errorf("the other target's finding: %d", sum.Total)
	}
	out, _ = run(t, "--server", both, "scopes", "list", "--tenant", "acme")
	if !strings.Contains(out, "/srv/0") || !regexp.MustCompile(`/srv/0\s+\S+\s+retired`).MatchString(out) || strings.Count(out, "retired") != 1 {
		t.Errorf("scopes list:\n%s", out)
	}
	out, err = run(t, "--server", both, "agents", "retire", "old", "--tenant", "acme", "--reason", "host decommissioned")
	if err != nil || !strings.Contains(out, "1 open findings resolved in 2 scopes") {
		t.Fatalf("retire: %q %v", out, err)
	}
	for i, s := range servers {
		if sum, _ := s.Store().Summarize(&vigilv1.SummarizeFindingsRequest{}); sum.Total != 0 {
			t.Errorf("shard %d still counts %d", i, sum.Total)
		}
	}
	if _, err := run(t, "--server", both, "agents", "retire", "ghost", "--tenant", "acme"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("an unknown agent: %v", err)
	}
}

// findings get of a fingerprint two shards hold (two agents on one
// repository) shows both occurrences, through the fan-out.
func TestFindingsGetShowsEveryOccurrence(t *testing.T) {
	res := &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Kind: "Pod", Name: "web"}
	f := &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CLUSTER-005", res, "pods.yaml", "x"), CheckId: "VGL-CLUSTER-005",
		Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH, Resource: res}
	_, both := serveShards(t, 2, func(i int, w *store.Writer) error {
		scope := &vigilv1.Scope{Tenant: "acme", Agent: []string{"ci", "laptop"}[i], Scanner: "kubernetes", Target: fmt.Sprintf("/checkout-%d/repo", i)}
		return seedScan(w, scope, time.Now(), f)
	})
	out, err := run(t, "--server", both, "findings", "get", f.Fingerprint)
	if err != nil || !strings.Contains(out, "Seen by 2 scopes") || !strings.Contains(out, "laptop") || !strings.Contains(out, "/checkout-0/repo") {
		t.Fatalf("get: %v\n%s", err, out)
	}
	out, _ = run(t, "--server", both, "findings", "get", "--format", "json", f.Fingerprint)
	var resp vigilv1.GetFindingResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil || len(resp.Occurrences) != 2 || resp.Finding.GetFinding().GetFingerprint() != f.Fingerprint {
		t.Errorf("json: %v %d occurrences", err, len(resp.Occurrences))
	}
}

// Each filter of findings list, through gRPC and the fan-out over two
// shards: namespace, kind, name, agent, advisory, package, control, first
// seen and last change.
func TestFindingFiltersThroughShards(t *testing.T) {
	old := time.Now().Add(-72 * time.Hour)
	type seed struct {
		agent string
		res   *vigilv1.Resource
		check string
		refs  []string
		at    time.Time
	}
	shardsSeeds := [][]seed{{
		{"node-1", &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Namespace: "payments", Kind: "Deployment", Name: "api"}, "VGL-CLUSTER-001", []string{"CIS-K8S-5.2.1", "PSS-baseline"}, old},
		{"node-1", &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Namespace: "web", Kind: "Deployment", Name: "front"}, "VGL-CLUSTER-005", []string{"CIS-K8S-5.2.4"}, time.Now()},
	}, {
		{"ci-1", &vigilv1.Resource{Tenant: "acme", Provider: "go", Kind: "Package", Name: "golang.org/x/text"}, "VGL-CODE-001", []string{"GO-2022-1059", "CVE-2022-32149"}, time.Now()},
		{"ci-1", &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Namespace: "payments", Kind: "CronJob", Name: "settle"}, "VGL-CLUSTER-001", []string{"CIS-K8S-5.2.1"}, time.Now()},
	}}
	_, both := serveShards(t, len(shardsSeeds), func(i int, w *store.Writer) error {
		for j, sd := range shardsSeeds[i] {
			f := &vigilv1.Finding{Fingerprint: finding.Fingerprint(sd.check, sd.res, "x", fmt.Sprint(i, j)), CheckId: sd.check,
				Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH, Resource: sd.res, References: sd.refs}
			scope := &vigilv1.Scope{Tenant: "acme", Agent: sd.agent, Scanner: "s", Target: fmt.Sprintf("/t/%d/%d", i, j)}
			if err := seedScan(w, scope, sd.at, f); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range []struct {
		flags []string
		want  []string // resource names
	}{
		{nil, []string{"api", "front", "golang.org/x/text", "settle"}},
		{[]string{"--namespace", "payments"}, []string{"api", "settle"}},
		{[]string{"--kind", "CronJob"}, []string{"settle"}},
		{[]string{"--name", "front"}, []string{"front"}},
		{[]string{"--agent", "ci-1"}, []string{"golang.org/x/text", "settle"}},
		{[]string{"--cve", "cve-2022-32149"}, []string{"golang.org/x/text"}},
		{[]string{"--package", "golang.org/x/text"}, []string{"golang.org/x/text"}},
		{[]string{"--control", "CIS-K8S-5.2.1"}, []string{"api", "settle"}},
		{[]string{"--control", "PSS"}, []string{"api"}},
		{[]string{"--since", "24h"}, []string{"front", "golang.org/x/text", "settle"}},
		{[]string{"--changed-since", old.Add(-time.Hour).Format(time.RFC3339), "--namespace", "payments", "--agent", "node-1"}, []string{"api"}},
	} {
		out, err := run(t, append([]string{"--server", both, "findings", "list", "--format", "json"}, c.flags...)...)
		if err != nil {
			t.Fatalf("%v: %v", c.flags, err)
		}
		var resp vigilv1.ListFindingsResponse
		if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range resp.Findings {
			got = append(got, f.Finding.Resource.Name)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%v: %v, want %v", c.flags, got, c.want)
		}
	}
	if _, err := run(t, "--server", both, "findings", "list", "--since", "last tuesday"); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("a --since that does not parse: %v", err)
	}
}

// --sort severity --limit 2 over two shards gives the two most severe of
// all, not the first shard's first two.
func TestSortedListThroughShards(t *testing.T) {
	sevs := [][]vigilv1.Severity{
		{vigilv1.Severity_SEVERITY_LOW, vigilv1.Severity_SEVERITY_MEDIUM, vigilv1.Severity_SEVERITY_LOW},
		{vigilv1.Severity_SEVERITY_CRITICAL, vigilv1.Severity_SEVERITY_LOW, vigilv1.Severity_SEVERITY_HIGH},
	}
	_, both := serveShards(t, 2, func(i int, w *store.Writer) error {
		for j, sev := range sevs[i] {
			res := &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Kind: "Pod", Name: fmt.Sprintf("p%d%d", i, j)}
			f := &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CLUSTER-005", res, "x", "y"), CheckId: "VGL-CLUSTER-005",
				Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: sev, Resource: res}
			if err := seedScan(w, &vigilv1.Scope{Tenant: "acme", Agent: "a", Scanner: "s", Target: fmt.Sprintf("/t%d%d", i, j)}, time.Now(), f); err != nil {
				return err
			}
		}
		return nil
	})
	out, err := run(t, "--server", both, "findings", "list", "--sort", "severity", "--limit", "2", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var resp vigilv1.ListFindingsResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Findings) != 2 || resp.Findings[0].Finding.Resource.Name != "p10" || resp.Findings[1].Finding.Resource.Name != "p12" {
		t.Errorf("the two most severe: %v", resp.Findings)
	}
	if _, err := run(t, "--server", both, "findings", "list", "--sort", "name"); err == nil {
		t.Error("an unknown order was accepted")
	}
}

// A fingerprint that agents on two shards report counts once in the
// summary over both, as it would on one server; each shard's own finding
// counts too.
func TestSummaryThroughShardsCountsAFingerprintOnce(t *testing.T) {
	mk := func(check, name string) *vigilv1.Finding {
		res := &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Kind: "Pod", Name: name}
		return &vigilv1.Finding{Fingerprint: finding.Fingerprint(check, res, "pods.yaml", "x"), CheckId: check,
			Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH, Resource: res}
	}
	shared := mk("VGL-CLUSTER-005", "web")
	own := []*vigilv1.Finding{mk("VGL-CLUSTER-006", "api"), mk("VGL-CLUSTER-006", "db")}
	_, both := serveShards(t, 2, func(i int, w *store.Writer) error {
		scope := &vigilv1.Scope{Tenant: "acme", Agent: []string{"ci", "laptop"}[i], Scanner: "kubernetes", Target: "repo://github.com/acme/app"}
		return seedScan(w, scope, time.Now(), shared, own[i])
	})
	out, err := run(t, "--server", both, "findings", "summary", "--by-tenant", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var resp vigilv1.SummarizeFindingsResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Total != 3 || len(resp.Groups) != 1 || resp.Groups[0].Count != 3 || resp.Groups[0].Tenant != "acme" {
		t.Fatalf("summary over shards: total %d, groups %v; want 3 (the shared fingerprint once)", resp.Total, resp.Groups)
	}
}
