package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/version"
	"github.com/vigilsec/vigil/server/store"
)

// vigil version prints the client's and each server's version, and agents
// list marks the agents whose version sorts before the server's.
func TestVersionAndOlderAgents(t *testing.T) {
	now := time.Now()
	_, addrs := serveShards(t, 2, func(_ int, w *store.Writer) error {
		for id, v := range map[string]string{"old": "0.0.9", "same": version.Version, "newer": "99.0.0", "unstamped": "dev"} {
			if err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: id, Version: v}, now); err != nil {
				return err
			}
		}
		return nil
	})
	out, err := run(t, "--server", addrs, "version")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "client") || !strings.Contains(lines[0], version.Version) {
		t.Fatalf("version printed:\n%s", out)
	}
	for i, addr := range strings.Split(addrs, ",") {
		if !strings.Contains(lines[i+1], addr) || !strings.HasSuffix(strings.TrimSpace(lines[i+1]), version.Version) {
			t.Errorf("server line %q: want %s and %s", lines[i+1], addr, version.Version)
		}
	}
	// A server that does not answer: the client is still printed, and the
	// command fails.
	out, err = run(t, "--server", "127.0.0.1:1", "version")
	if err == nil || !strings.Contains(out, version.Version) || !strings.Contains(out, "not reachable") {
		t.Errorf("unreachable server: %v\n%s", err, out)
	}

	out, err = run(t, "--server", addrs, "agents", "list", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var resp vigilv1.ListAgentsResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	older := map[string]bool{}
	for _, a := range resp.Agents {
		older[a.Id] = a.OlderThanServer
	}
	want := map[string]bool{"old": true, "same": false, "newer": false, "unstamped": false}
	for id, w := range want {
		if older[id] != w {
			t.Errorf("agent %s: older than the server %v, want %v", id, older[id], w)
		}
	}
	out, err = run(t, "--server", addrs, "agents", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "older than the server") != strings.Contains(l, " old ") {
			t.Errorf("table row %q", l)
		}
	}
}
