package integration

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// TestAgentBacklogSurvivesRestart: an agent that cannot reach NATS keeps its
// scan in the outbox, exits with code 3 at the drain timeout, and the next
// start sends the backlog; the server ends up with exactly what vigil scan
// reports.
func TestAgentBacklogSurvivesRestart(t *testing.T) {
	nats := startNATS(t)
	srv := startServer(t, nats.url())
	target := filepath.Join(t.TempDir(), "payments")
	copyDir(t, filepath.Join(examplesDir(), "payments"), target)
	data := t.TempDir()

	nats.stop()
	p := runAgent(t, nats.url(), "initech", "edge-1", data, []string{"--drain-timeout", "1s"}, target)
	err := p.wait(t, time.Minute)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("agent without NATS exited with %v, want exit code 3", err)
	}
	nats.start()
	p = runAgent(t, nats.url(), "initech", "edge-1", data, nil, target)
	if err := p.wait(t, time.Minute); err != nil {
		t.Fatalf("agent with backlog: %v", err)
	}
	want := localScan(t, "initech", target).Findings
	ingested(t, srv, "initech", len(want))
	expectSame(t, srv, "initech", want)
	// Both scans arrived: the backlog's and the restart's.
	waitFor(t, 10*time.Second, "times_seen 2", func() bool {
		for _, f := range srv.listAll(nil) {
			if f.TimesSeen != 2 {
				return false
			}
		}
		return true
	})
}

// TestDigestMismatchAsksForFullResend: a server that lost its store (a new
// data dir on the same stream) sees an agent's delta scan whose digest it
// cannot match; it stores a resend request, the agent reads it at its next
// start and sends the full set, and the server is whole again.
func TestDigestMismatchAsksForFullResend(t *testing.T) {
	nats := startNATS(t)
	srv := startServer(t, nats.url())
	target := filepath.Join(t.TempDir(), "platform")
	copyDir(t, filepath.Join(examplesDir(), "platform"), target)
	data := t.TempDir()
	want := localScan(t, "hooli", target).Findings

	run := func() {
		t.Helper()
		if err := runAgent(t, nats.url(), "hooli", "node-1", data, nil, target).wait(t, time.Minute); err != nil {
			t.Fatalf("agent: %v", err)
		}
	}
	run()
	ingested(t, srv, "hooli", len(want))

	srv.stop()
	srv.dataDir = t.TempDir() // the store is gone; the stream and its consumer are not
	srv.start()
	run() // nothing changed: only a ScanCompleted travels, and its digest does not match
	nc, err := natsgo.Connect(nats.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitFor(t, 30*time.Second, "a resend request in VIGIL_CONTROL", func() bool {
		s, err := js.Stream(context.Background(), "VIGIL_CONTROL")
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs > 0
	})
	if n := srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "hooli"}).Total; n != 0 {
		t.Fatalf("the emptied store holds %d findings before the resend", n)
	}
	run() // reads the request and sends the full set
	ingested(t, srv, "hooli", len(want))
	expectSame(t, srv, "hooli", want)
}
