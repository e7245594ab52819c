package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Vulnerability data imported at a TLS server reaches an agent holding
// only its own scoped credentials: vigil-server db import stores it with
// the server's credentials, the agent fetches it through its control
// subject and matches its lockfile against it.
func TestVulnDBThroughSecureServer(t *testing.T) {
	s := &secureServer{t: t, dataDir: t.TempDir(), grpcAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), nats: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	run(t, nil, bins.server, "init", "--data-dir", s.dataDir)
	s.start()
	defer s.stop()
	natsURL := "tls://" + s.nats

	osv := t.TempDir()
	rec := `{"id":"GO-2099-0001","aliases":["CVE-2099-1111"],"summary":"Panic on a long header",` +
		`"affected":[{"package":{"ecosystem":"Go","name":"example.org/hdr"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.4.2"}]}]}]}`
	os.MkdirAll(filepath.Join(osv, "Go"), 0o755)
	if err := os.WriteFile(filepath.Join(osv, "Go", "GO-2099-0001.json"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, nil, bins.server, "db", "import", "--tls", "--data-dir", s.dataDir, "--nats-url", natsURL, osv)
	if !strings.Contains(out, "stored 1 records") {
		t.Fatalf("db import: %s", out)
	}

	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.org/app\n\ngo 1.22\n\nrequire example.org/hdr v1.4.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := t.TempDir()
	run(t, nil, bins.server, "agent-credentials", "--data-dir", s.dataDir, "--tenant", "acme", "--id", "a1", "--out", filepath.Join(creds, "a1"))
	admin := strings.TrimSpace(run(t, nil, bins.server, "token", "--data-dir", s.dataDir, "--name", "root", "--role", "admin", "--tenant", "*"))
	data := t.TempDir()
	a := runAgent(t, natsURL, "acme", "a1", data, []string{"--credentials", filepath.Join(creds, "a1"), "--vuln-db", "server"}, src)
	if err := a.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent: %v\n%s", err, tail(a.out.String(), 20))
	}
	if _, err := os.Stat(filepath.Join(data, "vulndb.zip")); err != nil {
		t.Fatalf("the agent kept no copy of the data: %v\n%s", err, tail(a.out.String(), 20))
	}
	waitFor(t, 30*time.Second, "the vulnerable dependency", func() bool {
		for _, f := range s.list(admin, "--check", "VGL-CODE-001") {
			if f.Finding.GetPackage().GetFixedVersion() == "1.4.2" && strings.Contains(strings.Join(f.Finding.References, ","), "CVE-2099-1111") {
				return true
			}
		}
		return false
	})
}
