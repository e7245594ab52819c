package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// bins are the binaries under test, built once by TestMain.
var bins struct{ vigil, server, agent, render string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-integration-bins")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(self))
	// vigil-agent finds vigil-agent-scan beside it.
	var worker string
	for out, pkg := range map[*string]string{&bins.vigil: "./cmd/vigil", &bins.server: "./server/cmd/vigil-server", &bins.agent: "./agent/cmd/vigil-agent",
		&worker: "./agent/cmd/vigil-agent-scan", &bins.render: "./deploy/helm/render"} {
		*out = filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", *out, pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, b)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// natsNode is a real NATS server with JetStream that a test can stop and
// start again on the same port and storage.
type natsNode struct {
	t    testing.TB
	port int
	dir  string
	srv  *natsserver.Server
}

func startNATS(t testing.TB) *natsNode {
	n := &natsNode{t: t, port: freePort(t), dir: t.TempDir()}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsNode) start() {
	n.t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir, NoSigs: true, NoLog: true, MaxPayload: 2 << 20})
	if err != nil {
		n.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("NATS did not start")
	}
	n.srv = s
}

func (n *natsNode) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// proc is a running binary whose output is kept for failure reports.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t testing.TB, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", name, tail(p.out.String(), 40))
		}
	})
	return p
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// wait waits for the process to exit and returns its error.
func (p *proc) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s\n%s", p.name, timeout, tail(p.out.String(), 30))
	}
	return nil
}

// vigilServer is a vigil-server process against an external NATS.
type vigilServer struct {
	t       testing.TB
	dataDir string
	addr    string
	nats    string
	args    []string
	p       *proc
	conn    *grpc.ClientConn
}

func startServer(t testing.TB, natsURL string, args ...string) *vigilServer {
	s := &vigilServer{t: t, dataDir: t.TempDir(), addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), nats: natsURL, args: args}
	s.start()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s.conn = conn
	return s
}

func (s *vigilServer) start() {
	s.t.Helper()
	args := append([]string{"--data-dir", s.dataDir, "--grpc-addr", s.addr, "--nats-url", s.nats, "--stale-after", "1h", "--metrics-addr", "127.0.0.1:0"}, s.args...)
	s.p = start(s.t, "vigil-server", bins.server, args...)
	waitFor(s.t, 20*time.Second, "server healthy", func() bool {
		conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return false
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && r.Status == healthpb.HealthCheckResponse_SERVING
	})
}

// kill ends the server with SIGKILL: no graceful shutdown at all.
func (s *vigilServer) kill() {
	s.p.cmd.Process.Signal(syscall.SIGKILL)
	s.p.wait(s.t, 10*time.Second)
}

// stop ends the server with SIGTERM and checks that it exits cleanly.
func (s *vigilServer) stop() {
	s.p.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.p.wait(s.t, 20*time.Second); err != nil {
		s.t.Fatalf("vigil-server exited with %v after SIGTERM", err)
	}
}

func (s *vigilServer) findings() vigilv1.FindingServiceClient {
	return vigilv1.NewFindingServiceClient(s.conn)
}

// listAll pages through ListFindings and fails on a repeated id.
func (s *vigilServer) listAll(filter *vigilv1.FindingFilter) []*vigilv1.StoredFinding {
	s.t.Helper()
	var out []*vigilv1.StoredFinding
	seen := map[string]bool{}
	token := ""
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := s.findings().ListFindings(ctx, &vigilv1.ListFindingsRequest{Filter: filter, PageSize: 97, PageToken: token})
		cancel()
		if err != nil {
			s.t.Fatalf("ListFindings: %v", err)
		}
		for _, f := range resp.Findings {
			if seen[f.Id] {
				s.t.Fatalf("ListFindings returned %s twice", f.Id)
			}
			seen[f.Id] = true
		}
		out = append(out, resp.Findings...)
		if token = resp.NextPageToken; token == "" {
			return out
		}
	}
}

func (s *vigilServer) summary(req *vigilv1.SummarizeFindingsRequest) *vigilv1.SummarizeFindingsResponse {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := s.findings().SummarizeFindings(ctx, req)
	if err != nil {
		s.t.Fatalf("SummarizeFindings: %v", err)
	}
	return r
}

// runAgent runs vigil-agent --once to completion.
func runAgent(t testing.TB, natsURL, tenant, id, dataDir string, extra []string, targets ...string) *proc {
	t.Helper()
	args := append([]string{"--once", "--nats-url", natsURL, "--tenant", tenant, "--id", id, "--data-dir", dataDir, "--drain-timeout", "2m", "--heartbeat-interval", "1s"}, extra...)
	return start(t, "vigil-agent "+tenant+"/"+id, bins.agent, append(args, targets...)...)
}

// localScan runs `vigil scan` and returns its report.
func localScan(t testing.TB, tenant string, paths ...string) *vigilv1.ScanReport {
	t.Helper()
	return localScanArgs(t, append([]string{"--tenant", tenant}, paths...)...)
}

// localScanArgs runs `vigil scan --format json` with args.
func localScanArgs(t testing.TB, args ...string) *vigilv1.ScanReport {
	t.Helper()
	cmd := exec.Command(bins.vigil, append([]string{"scan", "--format", "json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vigil scan: %v\n%s", err, stderr.String())
	}
	rep := &vigilv1.ScanReport{}
	if err := protojson.Unmarshal(out, rep); err != nil {
		t.Fatalf("vigil scan output: %v", err)
	}
	return rep
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// copyDir copies a directory tree.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitLine waits until the process output contains s.
func (p *proc) waitLine(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%q in %s output", s, p.name), func() bool {
		sc := bufio.NewScanner(strings.NewReader(p.out.String()))
		for sc.Scan() {
			if strings.Contains(sc.Text(), s) {
				return true
			}
		}
		return false
	})
}
