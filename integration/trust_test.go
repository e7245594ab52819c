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
