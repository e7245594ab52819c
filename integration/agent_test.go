package integration

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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
