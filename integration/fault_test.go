package integration

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/server/store"
)

// bigTarget writes files×per generated Deployments under a new folder.
func bigTarget(t *testing.T, files, per int) string {
	dir := filepath.Join(t.TempDir(), "big")
	os.MkdirAll(dir, 0o755)
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("app-%02d.yaml", i)), []byte(generated(per, fmt.Sprintf("app%02d", i))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestNATSKilledMidPublish: NATS goes away while an agent is publishing a
// scan and comes back; the agent resumes from its outbox and the server
// holds every finding exactly once.
func TestNATSKilledMidPublish(t *testing.T) {
	nats := startNATS(t)
	srv := startServer(t, nats.url())
	target := bigTarget(t, 40, 10)
	want := localScan(t, "acme", target).Findings

	p := runAgent(t, nats.url(), "acme", "n1", t.TempDir(), []string{"--batch-size", "3"}, target)
	waitFor(t, time.Minute, "ingest under way", func() bool {
		return srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "acme"}).Total > 0
	})
	nats.stop()
	atKill := srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "acme"}).Total
	time.Sleep(time.Second)
	nats.start()
	if err := p.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent after NATS came back: %v\n%s", err, tail(p.out.String(), 20))
	}
	t.Logf("NATS stopped with %d of %d findings ingested", atKill, len(want))
	ingested(t, srv, "acme", len(want))
	expectSame(t, srv, "acme", want)
}

// TestAgentKilledWithFullOutbox: an agent SIGKILLed after its scan is in
// the outbox but before NATS is reachable loses nothing: the next start
// sends the backlog, and nothing arrives twice.
func TestAgentKilledWithFullOutbox(t *testing.T) {
	nats := startNATS(t)
	srv := startServer(t, nats.url())
	target := bigTarget(t, 20, 10)
	want := localScan(t, "acme", target).Findings
	data := t.TempDir()

	nats.stop()
	p := runAgent(t, nats.url(), "acme", "k1", data, []string{"--batch-size", "5"}, target)
	p.waitLine(t, "scan enqueued", time.Minute)
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t, 10*time.Second)

	nats.start()
	p = runAgent(t, nats.url(), "acme", "k1", data, nil, target)
	if err := p.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent restart: %v\n%s", err, tail(p.out.String(), 20))
	}
	ingested(t, srv, "acme", len(want))
	expectSame(t, srv, "acme", want)
}

// publishScan publishes one full scan of n synthetic findings of an agent.
func publishScan(t testing.TB, js jetstream.JetStream, tenant, agent, scanID string, n int) {
	t.Helper()
	scope := &vigilv1.Scope{Tenant: tenant, Agent: agent, Scanner: "kubernetes", Target: "/srv"}
	subject := bus.FindingsSubject(tenant, agent)
	var fps []string
	seq := uint32(0)
	send := func(m *vigilv1.ScanMessage) {
		seq++
		msg, err := bus.NewScanMsg(subject, fmt.Sprintf("%s/%s/%s/%d", tenant, agent, scanID, seq), m)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	for off := 0; off < n; off += 500 {
		var fs []*vigilv1.Finding
		for i := off; i < min(n, off+500); i++ {
			res := &vigilv1.Resource{Tenant: tenant, Provider: "kubernetes", Namespace: "ns", Kind: "Deployment", Name: fmt.Sprintf("%s-app-%06d", agent, i)}
			f := &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CLUSTER-001", res, "m.yaml", "x"), CheckId: "VGL-CLUSTER-001",
				Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH, Title: "Privileged container",
				Message: strings.Repeat("the container runs privileged; ", 8), Resource: res,
				Location: &vigilv1.Location{Path: "m.yaml", StartLine: int32(i), Snippet: "privileged: true"}}
			fs = append(fs, f)
			fps = append(fps, f.Fingerprint)
		}
		send(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: &vigilv1.FindingBatch{ScanId: scanID, Seq: seq + 1, Scope: scope, Full: true, Findings: fs}}})
	}
	d := finding.DigestOf(fps)
	send(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Completed{Completed: &vigilv1.ScanCompleted{ScanId: scanID, Scope: scope, Full: true,
		Batches: seq, FindingCount: uint64(n), SetDigest: d[:]}}})
}

func jsOf(t testing.TB, url string) jetstream.JetStream {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return js
}

// TestDataDirFull: the store cannot grow (the file size limit of the
// server process stands in for a full disk): ingest pauses with a clear
// error, nothing is dead-lettered or lost, and when space returns every
// finding arrives exactly once in an intact store.
func TestDataDirFull(t *testing.T) {
	nats := startNATS(t)
	srv := startServer(t, nats.url())
	js := jsOf(t, nats.url())
	publishScan(t, js, "acme", "p1", "s1", 2000)
	ingested(t, srv, "acme", 2000)

	db := filepath.Join(srv.dataDir, "vigil.db")
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	pid := srv.p.cmd.Process.Pid
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: uint64(fi.Size()), Max: unix.RLIM_INFINITY}, &old); err != nil {
		t.Skipf("cannot limit the server's file size here: %v", err)
	}
	// More than the file's free room (bbolt grows it in 16 MiB steps).
	publishScan(t, js, "acme", "p2", "s1", 30000)
	srv.p.waitLine(t, "data dir is full", time.Minute)
	stuck := srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "acme"}).Total
	if stuck >= 32000 {
		t.Fatalf("everything was ingested despite the full disk (%d)", stuck)
	}
	time.Sleep(2 * time.Second)
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("disk full at %d of 32000 findings", stuck)
	ingested(t, srv, "acme", 32000)
	if n := len(srv.listAll(&vigilv1.FindingFilter{Tenant: "acme"})); n != 32000 {
		t.Fatalf("listed %d findings, want 32000", n)
	}
	if info, err := js.Stream(context.Background(), bus.DeadLetterStream); err == nil {
		if st, _ := info.Info(context.Background()); st != nil && st.State.Msgs != 0 {
			t.Fatalf("%d messages dead-lettered during the full disk", st.State.Msgs)
		}
	}
	srv.stop()
	if out := run(t, nil, bins.server, "check", "--data-dir", srv.dataDir); !strings.Contains(out, "OK") {
		t.Fatalf("store after the full disk: %s", out)
	}
}

// TestCorruptStoreRefusesToStart: a damaged store file stops the server at
// start with an error naming the file; a restore from backup repairs it.
func TestCorruptStoreRefusesToStart(t *testing.T) {
	nats := startNATS(t)
	srv := startServer(t, nats.url())
	publishScan(t, jsOf(t, nats.url()), "acme", "p1", "s1", 3000)
	ingested(t, srv, "acme", 3000)
	srv.stop()
	db := filepath.Join(srv.dataDir, "vigil.db")
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "good.db")
	os.WriteFile(backup, good, 0o600)

	for name, damage := range map[string]func([]byte) []byte{
		"data pages overwritten": func(b []byte) []byte {
			// Pages in use: damage in pages the free list holds is harmless.
			for _, off := range pagesInUse(b, 22) {
				for i := off; i < off+4096; i++ {
					b[i] = 0xA5
				}
			}
			return b
		},
		"meta pages overwritten": func(b []byte) []byte {
			for i := 0; i < 2*4096; i++ {
				b[i] ^= 0x5A
			}
			return b
		},
		// Cut within its pages: bbolt grows a file ahead of them, so a cut
		// of the file's length may take only space no page uses.
		"truncated":               func(b []byte) []byte { return b[:pagesSize(b)/2] },
		"64 bytes in a leaf page": damageLeaf,
	} {
		if err := os.WriteFile(db, damage(append([]byte(nil), good...)), 0o600); err != nil {
			t.Fatal(err)
		}
		p := start(t, "vigil-server", bins.server, "--data-dir", srv.dataDir, "--grpc-addr", srv.addr, "--nats-url", nats.url())
		err := p.wait(t, 30*time.Second)
		if err == nil || !strings.Contains(p.out.String(), db) {
			t.Fatalf("%s: server exited with %v, output:\n%s", name, err, tail(p.out.String(), 5))
		}
		t.Logf("%s: %s", name, tail(strings.TrimSpace(p.out.String()), 1))
	}
	// vigil-server check finds the damage, exits non-zero, and never
	// panics; a damaged backup is refused and leaves nothing behind.
	if err := os.WriteFile(db, damageLeaf(append([]byte(nil), good...)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bins.server, "check", "--data-dir", srv.dataDir).CombinedOutput()
	if err == nil || strings.Contains(string(out), "goroutine ") || !strings.Contains(string(out), "restore") {
		t.Fatalf("check of a damaged store: %v\n%s", err, out)
	}
	t.Logf("check: %s", strings.TrimSpace(string(out)))
	damagedBackup := filepath.Join(t.TempDir(), "damaged.db")
	os.WriteFile(damagedBackup, damageLeaf(append([]byte(nil), good...)), 0o600)
	out, err = exec.Command(bins.server, "restore", "--data-dir", srv.dataDir, "--from", damagedBackup).CombinedOutput()
	if err == nil || strings.Contains(string(out), "goroutine ") {
		t.Fatalf("restore from a damaged backup: %v\n%s", err, out)
	}
	if _, err := os.Stat(db + ".restoring"); !os.IsNotExist(err) {
		t.Fatalf("a failed restore left %s.restoring behind", db)
	}
	run(t, nil, bins.server, "restore", "--data-dir", srv.dataDir, "--from", backup)
	if _, err := os.Stat(db + ".restoring"); !os.IsNotExist(err) {
		t.Fatalf("restore left %s.restoring behind", db)
	}
	run(t, nil, bins.server, "check", "--data-dir", srv.dataDir)
	srv.start()
	ingested(t, srv, "acme", 3000)
}

// damageLeaf writes 64 bytes of garbage over the first key and the start
// of its value in a leaf page of findings (keys of store.KeyLen bytes,
// values of hundreds) in the middle of the file, a page in use (bbolt
// keeps freed pages as they were): the page is still reachable and of the
// right type, its content is not, as after a torn or misdirected write.
// pagesInUse returns the offsets of the first n pages past the meta pages
// that the store reaches (branch, leaf, or the free list's own page), in
// a copy of the file b.
func pagesInUse(b []byte, n int) []int {
	const pageSize = 4096
	db, done := openCopy(b, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	defer done()
	var out []int
	db.View(func(tx *bolt.Tx) error {
		for id := 2; id*pageSize < len(b) && len(out) < n; id++ {
			if pi, err := tx.Page(id); err == nil && pi != nil && pi.Type != "free" {
				out = append(out, id*pageSize)
			}
		}
		return nil
	})
	if len(out) == 0 {
		panic("no page in use")
	}
	return out
}

// openCopy opens a copy of store bytes with bbolt (writable copies load
// the free list); close removes the copy.
func openCopy(b []byte, opts *bolt.Options) (db *bolt.DB, close func()) {
	f, err := os.CreateTemp("", "store-*.db")
	if err != nil {
		panic(err)
	}
	f.Write(b)
	f.Close()
	db, err = bolt.Open(f.Name(), 0o600, opts)
	if err != nil {
		os.Remove(f.Name())
		panic(err)
	}
	return db, func() { db.Close(); os.Remove(f.Name()) }
}

// pagesSize is the size of a store file's pages, up to its high-water
// mark: what a copy must hold at least.
func pagesSize(b []byte) int {
	db, done := openCopy(b, &bolt.Options{ReadOnly: true})
	defer done()
	var n int64
	db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return int(n)
}

func damageLeaf(b []byte) []byte {
	const pageSize, leafFlag, keyLen = 4096, 0x02, store.KeyLen
	db, done := openCopy(b, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	var leaves []int
	db.View(func(tx *bolt.Tx) error {
		for off := 2 * pageSize; off+pageSize <= len(b); off += pageSize {
			flags, count := binary.LittleEndian.Uint16(b[off+8:]), binary.LittleEndian.Uint16(b[off+10:])
			// The first element header: flags, pos, ksize, vsize (uint32 each).
			ksize, vsize := binary.LittleEndian.Uint32(b[off+16+8:]), binary.LittleEndian.Uint32(b[off+16+12:])
			if flags != leafFlag || count < 2 || ksize != keyLen || vsize < 100 {
				continue
			}
			if pi, err := tx.Page(off / pageSize); err == nil && pi != nil && pi.Type == "leaf" {
				leaves = append(leaves, off)
			}
		}
		return nil
	})
	done()
	if len(leaves) == 0 {
		panic("no leaf page of findings in use")
	}
	off := leaves[len(leaves)/2]
	count := int(binary.LittleEndian.Uint16(b[off+10:]))
	at := off + 16 + count*16 // past the element headers: the first key and value
	for i := at; i < at+64; i++ {
		b[i] = 0xA5
	}
	return b
}
