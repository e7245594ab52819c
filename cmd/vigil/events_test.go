package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	"github.com/vigilsec/vigil/server"
	"github.com/vigilsec/vigil/server/trust"
)

// A SIEM credential, which may use only the consumers it names, replays
// its tenant's events with vigil events tail, twice in a row.
func TestEventsTailWithSIEMCredentials(t *testing.T) {
	dir := fixture(t)
	data := t.TempDir()
	tr, err := trust.Init(data, "", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(ctx, server.Config{DataDir: data, GRPCAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:-1", TLS: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	creds, siem := filepath.Join(data, "a1"), filepath.Join(data, "siem")
	if _, err := tr.AgentCredentials("acme", "a1", creds, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SIEMCredentials("splunk", []string{"acme"}, siem, 0); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Credentials: creds, Spec: agent.Spec{Targets: []string{dir}}, Scanner: worker.Local{Logger: quiet}, Once: true, DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		out, err := run(t, "events", "tail", "--nats-url", srv.NATSURL(), "--credentials", siem, "--tenant", "acme", "--replay", "--count", "3", "--format", "json")
		if err != nil {
			t.Fatalf("events tail: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines {
			var ev struct {
				Metadata struct {
					TenantUID string `json:"tenant_uid"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Metadata.TenantUID != "acme" {
				t.Fatalf("not an event of acme: %v %s", err, l)
			}
		}
		if len(lines) != 3 {
			t.Fatalf("events tail printed %d events, want 3", len(lines))
		}
	}
}
