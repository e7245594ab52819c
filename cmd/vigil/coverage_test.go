package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/server"
)

// An agent scans a tree with a file that does not parse and one with
// invalid bytes in a comment: the server stores what was and was not
// assessed, vigil coverage lists it, and when the agent goes silent it is
// listed as stale and one coverage.lost event reaches the stream.
func TestCoverageOfAnAgentScan(t *testing.T) {
	dir := fixture(t) // holds broken.yaml, which does not parse
	odd := "# caf\xe9 \xff\xfe\napiVersion: v1\nkind: Pod\nmetadata: {name: odd}\nspec:\n  hostPID: true\n  containers: [{name: c, image: nginx}]\n"
	if err := os.WriteFile(filepath.Join(dir, "odd.yaml"), []byte(odd), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:-1",
		SweepEvery: 100 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	a, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Tenant: "acme", ID: "watcher", Spec: agent.Spec{Targets: []string{dir}}, Scanner: worker.Local{Logger: quiet}, DataDir: t.TempDir(),
		Interval: time.Hour, HeartbeatInterval: 200 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	agentCtx, stopAgent := context.WithCancel(ctx)
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(agentCtx) }()
	var once sync.Once
	stop := func() { once.Do(func() { stopAgent(); <-agentDone }) }
	defer stop()

	addr := srv.GRPCAddr()
	var cov vigilv1.ListCoverageResponse
	kube := func() *vigilv1.ScopeCoverage {
		for _, sc := range cov.Scopes {
			if sc.Scope.Scanner == "kubernetes" {
				return sc
			}
		}
		return nil
	}
	waitUntil(t, 20*time.Second, "the kubernetes scope's coverage", func() bool {
		out, err := run(t, "--server", addr, "coverage", "--format", "json")
		return err == nil && protojson.Unmarshal([]byte(out), &cov) == nil && kube() != nil
	})
	k := kube()
	// deploy.yaml, broken.yaml and odd.yaml are the kubernetes scanner's.
	if c := k.Coverage; c.UnitsAttempted != 3 || c.UnitsAssessed != 2 || len(c.NotAssessed) != 1 ||
		!strings.HasSuffix(c.NotAssessed[0].Path, "broken.yaml") || c.NotAssessed[0].Reason != pipeline.ParseError {
		t.Fatalf("kubernetes coverage %v", c)
	}
	if k.Stale || k.AgentStale {
		t.Fatalf("a fresh scope is stale: %v", k)
	}
	// odd.yaml's findings are there, its stray bytes notwithstanding.
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last findings list:\n%s", last)
		}
	}()
	waitUntil(t, 20*time.Second, "odd.yaml's hostPID finding", func() bool {
		out, err := run(t, "--server", addr, "findings", "list", "--check", "VGL-CLUSTER-003")
		last = out
		return err == nil && strings.Contains(out, "odd.yaml")
	})
	out, err := run(t, "--server", addr, "coverage")
	if err != nil || !strings.Contains(out, "2/3") || !strings.Contains(out, "1 parse error") || !strings.Contains(out, "broken.yaml") {
		t.Fatalf("coverage table: %v\n%s", err, out)
	}
	out, err = run(t, "--server", addr, "coverage", "--reason", "parse-error", "--format", "json")
	var only vigilv1.ListCoverageResponse
	if err != nil || protojson.Unmarshal([]byte(out), &only) != nil || len(only.Scopes) != 1 || only.Scopes[0].Scope.Scanner != "kubernetes" {
		t.Fatalf("--reason parse-error: %v\n%s", err, out)
	}
	out, err = run(t, "--server", addr, "findings", "summary")
	if err != nil || !strings.Contains(out, "acme: assessed ") || !strings.Contains(out, "; 0 of 1 agents stale") {
		t.Fatalf("summary: %v\n%s", err, out)
	}

	// The agent stops: within three heartbeat intervals (rounded up to a
	// second each) and a sweep, it is stale and announced once.
	stop()
	stopped := time.Now()
	var stale vigilv1.ListCoverageResponse
	waitUntil(t, 15*time.Second, "the silent agent listed as stale", func() bool {
		out, err := run(t, "--server", addr, "coverage", "--stale", "--format", "json")
		return err == nil && protojson.Unmarshal([]byte(out), &stale) == nil && len(stale.StaleAgents) == 1
	})
	if took := time.Since(stopped); took > 3*time.Second+2*time.Second {
		t.Errorf("stale after %v, want within three 1 s intervals and a sweep", took)
	}
	if stale.StaleAgents[0].Id != "watcher" || len(stale.Scopes) == 0 || !stale.Scopes[0].AgentStale {
		t.Fatalf("--stale: %v", &stale)
	}
	if out, _ := run(t, "--server", addr, "coverage", "--stale"); !strings.Contains(out, "stale agents:\n  acme/watcher") {
		t.Fatalf("--stale table:\n%s", out)
	}
	nc, err := nats.Connect(srv.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	count := func() uint64 {
		st, err := js.Stream(ctx, bus.EventsStream)
		if err != nil {
			return 0
		}
		info, err := st.Info(ctx, jetstream.WithSubjectFilter("vigil.events.acme.coverage.>"))
		if err != nil {
			return 0
		}
		return info.State.Subjects["vigil.events.acme.coverage.lost"]
	}
	waitUntil(t, 10*time.Second, "a coverage.lost event", func() bool { return count() >= 1 })
	time.Sleep(500 * time.Millisecond) // several more sweeps
	if n := count(); n != 1 {
		t.Fatalf("%d coverage.lost events, want one for the agent (not one per scope, not one per sweep)", n)
	}
}

func waitUntil(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
