package agent_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/vuln"
	"github.com/vigilsec/vigil/server"
)

// importVulnDB stores a bundle of the records given as the server's
// vulnerability data, as vigil-server db import does.
func importVulnDB(t *testing.T, srv *server.Server, records map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range records {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bundle := filepath.Join(t.TempDir(), "b.zip")
	f, _ := os.Create(bundle)
	m, err := vuln.WriteBundle(f, []string{dir}, time.Now())
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(bundle)
	nc, err := nats.Connect(srv.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := bus.PutVulnDB(context.Background(), js, bundle, vuln.Digest(data), m.Created, 1); err != nil {
		t.Fatal(err)
	}
}

// A running agent with --vuln-db server scans with whatever data the
// server hands out at each round: none at first, then the bundle an
// operator imports, without a restart.
func TestVulnDBFromServerReachesARunningAgent(t *testing.T) {
	srv := serve(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.org/app\n\ngo 1.22\n\nrequire example.org/hdr v1.4.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := `{"id":"GO-2099-0002","affected":[{"package":{"ecosystem":"Go","name":"example.org/other"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}`
	// Records of random text, so the bundle takes several pieces.
	first := map[string]string{"Go/GO-2099-0002.json": other}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		noise := make([]byte, 450)
		for j := range noise {
			noise[j] = byte(rnd.IntN(256))
		}
		first[fmt.Sprintf("npm/PAD-%d.json", i)] = fmt.Sprintf(`{"id":"PAD-%d","summary":%q,"affected":[{"package":{"ecosystem":"npm","name":"pad-%d"}}]}`, i, base64.StdEncoding.EncodeToString(noise), i)
	}
	importVulnDB(t, srv, first)

	data := t.TempDir()
	a, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Tenant: "acme", ID: "a1", Spec: agent.Spec{Targets: []string{src}, VulnDB: agent.VulnDBFromServer},
		Scanner: worker.Local{Logger: quiet}, Interval: 200 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond, DataDir: data, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	vulnerable := func() int {
		list, _, _ := srv.Store().List(&vigilv1.FindingFilter{Tenant: "acme", CheckId: "VGL-CODE-001"}, 10, "")
		return len(list)
	}
	// The first bundle is fetched and used: nothing affects the module.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(data, "vulndb.zip.sha256"))
		if len(b) > 0 && srv.Stats().Scans >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not fetch the server's bundle (%d scans)", srv.Stats().Scans)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := vulnerable(); n != 0 {
		t.Fatalf("%d vulnerable-dependency findings before the advisory was imported", n)
	}
	if st, err := os.Stat(filepath.Join(data, "vulndb.zip")); err != nil || st.Size() <= bus.VulnDBPiece {
		t.Fatalf("the first bundle is %v bytes (%v): not several pieces", st.Size(), err)
	}
	firstDigest, _ := os.ReadFile(filepath.Join(data, "vulndb.zip.sha256"))

	// The operator imports data that holds the advisory; the same agent
	// reports it at one of its next rounds.
	hdr := `{"id":"GO-2099-0001","aliases":["CVE-2099-1111"],"summary":"Panic on a long header","affected":[{"package":{"ecosystem":"Go","name":"example.org/hdr"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.4.2"}]}]}]}`
	importVulnDB(t, srv, map[string]string{"Go/GO-2099-0001.json": hdr, "Go/GO-2099-0002.json": other})
	for vulnerable() == 0 {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("the running agent never used the new bundle")
		}
		time.Sleep(50 * time.Millisecond)
	}
	second, _ := os.ReadFile(filepath.Join(data, "vulndb.zip.sha256"))
	if strings.TrimSpace(string(firstDigest)) == strings.TrimSpace(string(second)) {
		t.Errorf("the local copy's digest did not change: %s", second)
	}
	list, _, _ := srv.Store().List(&vigilv1.FindingFilter{Tenant: "acme", CheckId: "VGL-CODE-001"}, 10, "")
	if p := list[0].GetFinding().GetPackage(); p.GetName() != "example.org/hdr" || p.GetFixedVersion() != "1.4.2" {
		t.Errorf("finding's package %v", p)
	}
}
