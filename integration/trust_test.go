package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pki"
)

// run runs a binary to completion and returns its stdout.
func run(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// secureServer is a vigil-server with --tls and its embedded NATS.
type secureServer struct {
	t              *testing.T
	dataDir        string
	grpcAddr, nats string
	p              *proc
}

func (s *secureServer) start() {
	s.t.Helper()
	s.p = start(s.t, "vigil-server", bins.server, "--data-dir", s.dataDir, "--tls", "--grpc-addr", s.grpcAddr,
		"--nats-listen", s.nats, "--stale-after", "1h")
	r, err := pki.NewReloader(pki.Files{CA: filepath.Join(s.dataDir, "trust", "ca.pem")})
	if err != nil {
		s.t.Fatal(err)
	}
	waitFor(s.t, 20*time.Second, "TLS server healthy", func() bool {
		conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(r.ClientConfig("127.0.0.1"))))
		if err != nil {
			return false
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && h.Status == healthpb.HealthCheckResponse_SERVING
	})
}

func (s *secureServer) stop() {
	s.p.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.p.wait(s.t, 20*time.Second); err != nil {
		s.t.Fatalf("vigil-server exited with %v", err)
	}
}

// cli runs the vigil CLI against the server with a token.
func (s *secureServer) cli(token string, args ...string) string {
	s.t.Helper()
	base := []string{"--server", s.grpcAddr, "--ca", filepath.Join(s.dataDir, "trust", "ca.pem")}
	return run(s.t, []string{"VIGIL_TOKEN=" + token}, bins.vigil, append(base, args...)...)
}

func (s *secureServer) list(token string, args ...string) []*vigilv1.StoredFinding {
	s.t.Helper()
	out := s.cli(token, append([]string{"findings", "list", "--format", "json"}, args...)...)
	resp := &vigilv1.ListFindingsResponse{}
	if err := protojson.Unmarshal([]byte(out), resp); err != nil {
		s.t.Fatalf("findings list output: %v\n%s", err, tail(out, 5))
	}
	return resp.Findings
}

func TestSecureFleet(t *testing.T) {
	s := &secureServer{t: t, dataDir: t.TempDir(), grpcAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), nats: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	run(t, nil, bins.server, "init", "--data-dir", s.dataDir)
	s.start()
	natsURL := "tls://" + s.nats

	creds := t.TempDir()
	run(t, nil, bins.server, "agent-credentials", "--data-dir", s.dataDir, "--tenant", "acme", "--id", "a1", "--out", filepath.Join(creds, "a1"))
	run(t, nil, bins.server, "agent-credentials", "--data-dir", s.dataDir, "--tenant", "globex", "--id", "g1", "--out", filepath.Join(creds, "g1"))
	viewer := strings.TrimSpace(run(t, nil, bins.server, "token", "--data-dir", s.dataDir, "--name", "ann", "--role", "viewer", "--tenant", "acme"))
	admin := strings.TrimSpace(run(t, nil, bins.server, "token", "--data-dir", s.dataDir, "--name", "root", "--role", "admin", "--tenant", "*"))

	payments, platform := filepath.Join(examplesDir(), "payments"), filepath.Join(examplesDir(), "platform")
	a1 := runAgent(t, natsURL, "acme", "a1", t.TempDir(), []string{"--credentials", filepath.Join(creds, "a1")}, payments)
	g1 := runAgent(t, natsURL, "globex", "g1", t.TempDir(), []string{"--credentials", filepath.Join(creds, "g1")}, platform)
	for _, p := range []*proc{a1, g1} {
		if err := p.wait(t, 2*time.Minute); err != nil {
			t.Fatalf("%s: %v\n%s", p.name, err, tail(p.out.String(), 20))
		}
	}
	// Credentials of one agent do not make another.
	spoof := runAgent(t, natsURL, "acme", "a2", t.TempDir(), []string{"--credentials", filepath.Join(creds, "a1")}, payments)
	if err := spoof.wait(t, time.Minute); err == nil || !strings.Contains(spoof.out.String(), "are for") {
		t.Fatalf("agent a2 with a1's credentials: %v\n%s", err, tail(spoof.out.String(), 5))
	}

	want := len(localScan(t, "acme", payments).Findings)
	waitFor(t, 30*time.Second, "acme's findings", func() bool { return len(s.list(viewer)) == want })
	for _, f := range s.list(viewer) {
		if f.Finding.Resource.Tenant != "acme" {
			t.Fatalf("viewer of acme sees tenant %s", f.Finding.Resource.Tenant)
		}
	}
	all := s.list(admin)
	if len(all) <= want {
		t.Fatalf("admin sees %d findings, the acme viewer %d", len(all), want)
	}

	// An exception through the CLI: stored, listed, audited, findings kept.
	check := s.list(viewer)[0].Finding.CheckId
	out := s.cli(admin, "suppress", "add", "--check", check, "--tenant", "acme", "--reason", "accepted for the test", "--expires", "30d")
	if !strings.Contains(out, "finding(s) suppressed") {
		t.Fatalf("suppress add: %s", out)
	}
	suppressed := s.list(viewer, "--status", "suppressed")
	if len(suppressed) == 0 || suppressed[0].Suppression.GetAuthor() != "root" {
		t.Fatalf("suppressed findings = %v", suppressed)
	}
	if out := s.cli(viewer, "suppress", "list"); !strings.Contains(out, "accepted for the test") {
		t.Fatalf("suppress list: %s", out)
	}
	if out := s.cli(viewer, "suppress", "audit"); !strings.Contains(out, "create") || !strings.Contains(out, "root") {
		t.Fatalf("suppress audit: %s", out)
	}

	// Backup through gRPC, restore offline, same findings.
	snap := filepath.Join(t.TempDir(), "vigil.backup")
	s.cli(admin, "backup", "--out", snap)
	s.stop()
	os.Remove(filepath.Join(s.dataDir, "vigil.db"))
	run(t, nil, bins.server, "restore", "--data-dir", s.dataDir, "--from", snap)
	if out := run(t, nil, bins.server, "check", "--data-dir", s.dataDir); !strings.Contains(out, "OK") {
		t.Fatalf("check: %s", out)
	}
	s.start()
	if got := s.list(admin); len(got) != len(all) {
		t.Fatalf("after restore %d findings, before %d", len(got), len(all))
	}
	if got := s.list(viewer, "--status", "suppressed"); len(got) != len(suppressed) {
		t.Fatalf("after restore %d suppressed, before %d", len(got), len(suppressed))
	}
}

// agentHeartbeat is the last heartbeat the server holds of an agent.
func (s *secureServer) agentHeartbeat(token, tenant, id string) time.Time {
	s.t.Helper()
	resp := &vigilv1.ListAgentsResponse{}
	if err := protojson.Unmarshal([]byte(s.cli(token, "agents", "list", "--format", "json")), resp); err != nil {
		s.t.Fatal(err)
	}
	for _, a := range resp.Agents {
		if a.Tenant == tenant && a.Id == id {
			return a.LastHeartbeat.AsTime()
		}
	}
	return time.Time{}
}

// TestRevocation runs a long-lived agent and revokes its credentials with
// the CLI: within 10 s the server hears nothing more from it, while
// another agent goes on; a revoked token is refused. The data dir holds no
// signing key and the server never needed one.
func TestRevocation(t *testing.T) {
	s := &secureServer{t: t, dataDir: t.TempDir(), grpcAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), nats: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	signing := filepath.Join(t.TempDir(), "signing")
	run(t, nil, bins.server, "init", "--data-dir", s.dataDir, "--signing-dir", signing)
	filepath.WalkDir(s.dataDir, func(path string, d os.DirEntry, err error) error {
		for _, secret := range []string{"ca-key.pem", "operator.nk", "account.nk", "system.nk"} {
			if d != nil && d.Name() == secret {
				t.Errorf("%s lies in the data dir", path)
			}
		}
		return nil
	})
	s.start()
	creds := t.TempDir()
	for _, id := range []string{"a1", "a2"} {
		run(t, nil, bins.server, "agent-credentials", "--data-dir", s.dataDir, "--signing-dir", signing, "--tenant", "acme", "--id", id, "--out", filepath.Join(creds, id))
	}
	admin := strings.TrimSpace(run(t, nil, bins.server, "token", "--data-dir", s.dataDir, "--name", "root", "--role", "admin", "--tenant", "*"))
	viewer := strings.TrimSpace(run(t, nil, bins.server, "token", "--data-dir", s.dataDir, "--name", "ann", "--role", "viewer", "--tenant", "acme"))
	payments := filepath.Join(examplesDir(), "payments")
	agents := map[string]*proc{}
	for _, id := range []string{"a1", "a2"} {
		agents[id] = start(t, "vigil-agent acme/"+id, bins.agent, "--nats-url", "tls://"+s.nats, "--tenant", "acme", "--id", id, "--data-dir", t.TempDir(),
			"--heartbeat-interval", "1s", "--interval", "1h", "--credentials", filepath.Join(creds, id), payments)
	}
	waitFor(t, time.Minute, "both agents heard", func() bool {
		return !s.agentHeartbeat(admin, "acme", "a1").IsZero() && !s.agentHeartbeat(admin, "acme", "a2").IsZero()
	})

	revoked := time.Now()
	out := run(t, nil, bins.server, "revoke", "agent", "--data-dir", s.dataDir, "--signing-dir", signing, "--tenant", "acme", "--id", "a1")
	if !strings.Contains(out, "revoked agent a1") {
		t.Fatalf("revoke: %s", out)
	}
	run(t, nil, bins.server, "revoke", "token", "--data-dir", s.dataDir, "--name", "ann")
	time.Sleep(time.Until(revoked.Add(10 * time.Second)))
	last := s.agentHeartbeat(admin, "acme", "a1")
	other := s.agentHeartbeat(admin, "acme", "a2")
	time.Sleep(3 * time.Second)
	if got := s.agentHeartbeat(admin, "acme", "a1"); !got.Equal(last) {
		t.Fatalf("a heartbeat of the revoked agent arrived %s after the revocation", got.Sub(revoked))
	}
	if got := s.agentHeartbeat(admin, "acme", "a2"); !got.After(other) {
		t.Fatal("the agent that was not revoked went silent too")
	}
	t.Logf("last heartbeat of the revoked agent %s after the revocation", last.Sub(revoked).Round(time.Millisecond))
	// The revoked agent stops and says why, rather than scanning into an
	// outbox nothing will drain.
	if err := agents["a1"].wait(t, 10*time.Second); err == nil || !strings.Contains(agents["a1"].out.String(), "closed the connection for good") {
		t.Fatalf("the revoked agent: %v\n%s", err, tail(agents["a1"].out.String(), 5))
	}

	cmd := exec.Command(bins.vigil, "--server", s.grpcAddr, "--ca", filepath.Join(s.dataDir, "trust", "ca.pem"), "findings", "list")
	cmd.Env = append(os.Environ(), "VIGIL_TOKEN="+viewer)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Unauthenticated") {
		t.Fatalf("the revoked token: %v\n%s", err, out)
	}
	if out := run(t, nil, bins.server, "credentials", "--data-dir", s.dataDir, "--signing-dir", signing, "--all"); !strings.Contains(out, "revoked") || !strings.Contains(out, "a2") {
		t.Fatalf("credentials:\n%s", out)
	}
}
