package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

var buildWorker = sync.OnceValues(func() (string, error) {
	_, self, _, _ := runtime.Caller(0)
	dir, err := os.MkdirTemp("", "vigil-agent-scan")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, agent.WorkerName)
	cmd := exec.Command("go", "build", "-o", out, "./agent/cmd/vigil-agent-scan")
	cmd.Dir = filepath.Dir(filepath.Dir(self))
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(string(b))
	}
	return out, nil
})

func workerExec(t *testing.T) agent.Exec {
	t.Helper()
	if testing.Short() {
		t.Skip("builds vigil-agent-scan")
	}
	path, err := buildWorker()
	if err != nil {
		t.Fatal(err)
	}
	return agent.Exec{Path: path, Stderr: &bytes.Buffer{}}
}

func collect(t *testing.T, s agent.Scanner, spec agent.Spec) ([]*vigilv1.TargetScan, error) {
	t.Helper()
	var got []*vigilv1.TargetScan
	err := s.Scan(context.Background(), spec, func(ts *vigilv1.TargetScan) error {
		got = append(got, ts)
		return nil
	})
	return got, err
}

func checkIDs(ts *vigilv1.TargetScan) []string {
	var ids []string
	for _, s := range ts.Scopes {
		for _, f := range s.Findings {
			ids = append(ids, s.Scanner+" "+f.CheckId+" "+f.Location.GetPath())
		}
	}
	slices.Sort(ids)
	return ids
}

// The scan worker process gives the same result as a scan in the agent's
// own process, target by target, and a target it cannot read is a result
// with its reason, not a gap.
func TestExecScansLikeLocal(t *testing.T) {
	w := workerExec(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM alpine:3.20\nUSER root\nENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"), 0o644)
	spec := agent.Spec{Tenant: "acme", Agent: "a1", Targets: []string{dir, "oci-layout:" + filepath.Join(dir, "missing")}}

	got, err := collect(t, w, spec)
	if err != nil {
		t.Fatalf("%v\n%s", err, w.Stderr)
	}
	want, err := collect(t, worker.Local{Logger: quiet}, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("targets: worker %d, local %d, want 2", len(got), len(want))
	}
	if got[0].Identity != dir || len(got[0].Scopes) == 0 || got[0].AnalyzerVersion == "" {
		t.Fatalf("first target = %s with %d scopes, analyzers %q", got[0].Identity, len(got[0].Scopes), got[0].AnalyzerVersion)
	}
	if a, b := checkIDs(got[0]), checkIDs(want[0]); !slices.Equal(a, b) || len(a) < 3 {
		t.Fatalf("worker found %v, local %v", a, b)
	}
	if got[1].Error == "" || len(got[1].Scopes) != 0 {
		t.Fatalf("missing image: error %q, %d scopes; want an error and no scopes", got[1].Error, len(got[1].Scopes))
	}
}

// A spec whose check packs do not load is refused at start, with the reason.
func TestExecCheckRefusesBadSpec(t *testing.T) {
	w := workerExec(t)
	dir := t.TempDir()
	if err := w.Check(context.Background(), agent.Spec{Tenant: "acme", Agent: "a1", Targets: []string{dir}}); err != nil {
		t.Fatalf("good spec refused: %v", err)
	}
	err := w.Check(context.Background(), agent.Spec{Tenant: "acme", Agent: "a1", Targets: []string{dir}, ChecksDir: filepath.Join(dir, "no-such-pack")})
	if err == nil || !strings.Contains(err.Error(), "no-such-pack") {
		t.Fatalf("bad checks dir: err = %v, want one naming it", err)
	}
}

// fakeWorker writes a script that prints the given frames and exits with
// code: a worker that crashed partway, or one that wrote garbage.
func fakeWorker(t *testing.T, code int, msgs ...*vigilv1.WorkerMessage) agent.Exec {
	t.Helper()
	dir := t.TempDir()
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := agent.WriteFrame(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	frames := filepath.Join(dir, "frames")
	os.WriteFile(frames, buf.Bytes(), 0o600)
	script := filepath.Join(dir, "worker.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncat >/dev/null\ncat '"+frames+"'\nexit "+string(rune('0'+code))+"\n"), 0o700)
	return agent.Exec{Path: script, Stderr: &bytes.Buffer{}}
}

// A worker that dies after one target leaves that target enqueued, and the
// round reported incomplete rather than as a whole.
func TestWorkerCrashIsAnIncompleteRound(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	now := timestamppb.Now()
	one := &vigilv1.WorkerMessage{Body: &vigilv1.WorkerMessage_Target{Target: &vigilv1.TargetScan{Target: "/srv/a", Identity: "/srv/a",
		StartedAt: now, FinishedAt: now, AnalyzerVersion: "v",
		Scopes: []*vigilv1.ScopeResult{{Scanner: "manifest", Coverage: &vigilv1.Coverage{}, Findings: []*vigilv1.Finding{{CheckId: "VGL-X-1",
			Fingerprint: finding.Fingerprint("VGL-X-1", nil, "a.yaml", ""), Title: "t", Severity: vigilv1.Severity_SEVERITY_HIGH, Location: &vigilv1.Location{Path: "a.yaml"}}}}}}}}

	crashed := fakeWorker(t, 2, one)
	got, err := collect(t, crashed, agent.Spec{Targets: []string{"/srv/a"}})
	if err == nil || !strings.Contains(err.Error(), "ended before it finished") || len(got) != 1 {
		t.Fatalf("crash: %d targets, err %v; want the one target and the crash", len(got), err)
	}
	garbage := fakeWorker(t, 0, one)
	os.WriteFile(filepath.Join(filepath.Dir(garbage.Path), "frames"), []byte("\x00\x00\x00\x05abc"), 0o600)
	if _, err := collect(t, garbage, agent.Spec{Targets: []string{"/srv/a"}}); err == nil || !strings.Contains(err.Error(), "truncated frame") {
		t.Fatalf("garbage: err %v, want a truncated frame", err)
	}
	refused := fakeWorker(t, 0, &vigilv1.WorkerMessage{Body: &vigilv1.WorkerMessage_Done{Done: &vigilv1.WorkerDone{Error: "checks: bad pack"}}})
	if _, err := collect(t, refused, agent.Spec{Targets: []string{"/srv/a"}}); err == nil || err.Error() != "checks: bad pack" {
		t.Fatalf("refused: err %v", err)
	}

	srv := serve(t)
	a, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Tenant: "acme", ID: "a1", Spec: agent.Spec{Targets: []string{"/srv/a"}},
		Scanner: checkless{crashed}, DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Outbox().Close()
	err = a.ScanOnce(context.Background())
	if !errors.Is(err, agent.ErrRoundIncomplete) {
		t.Fatalf("ScanOnce = %v, want an incomplete round", err)
	}
	if d := a.Outbox().Depth(); d == 0 {
		t.Fatal("the target scanned before the crash was not enqueued")
	}

	// A worker that dies between two pieces of a target: nothing of the
	// target is sent, and the round is incomplete.
	half := proto.CloneOf(one)
	half.GetTarget().More = true
	b, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Tenant: "acme", ID: "a2", Spec: agent.Spec{Targets: []string{"/srv/a"}},
		Scanner: checkless{fakeWorker(t, 0, half)}, DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Outbox().Close()
	if err := b.ScanOnce(context.Background()); !errors.Is(err, agent.ErrRoundIncomplete) {
		t.Fatalf("cut inside a target: ScanOnce = %v, want an incomplete round", err)
	}
	if d := b.Outbox().Depth(); d != 0 {
		t.Fatalf("%d messages of the cut target left in the outbox", d)
	}
}

// checkless passes Check, so a fake worker that only scans can back an agent.
type checkless struct{ agent.Exec }

func (checkless) Check(context.Context, agent.Spec) error { return nil }

// Frames from a worker are outside input to the agent: no input panics it
// or makes it allocate more than the stream holds.
func FuzzReadFrame(f *testing.F) {
	var ok bytes.Buffer
	agent.WriteFrame(&ok, &vigilv1.WorkerMessage{Body: &vigilv1.WorkerMessage_Done{Done: &vigilv1.WorkerDone{Error: "x"}}})
	f.Add(ok.Bytes())
	f.Add([]byte("\xff\xff\xff\xff"))
	f.Add([]byte("\x00\x00\x00\x02\x0a\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for i := 0; i < 64; i++ {
			msg, err := agent.ReadFrame(r)
			if err != nil {
				return
			}
			if msg == nil {
				t.Fatal("nil frame without an error")
			}
		}
	})
}

// A target that arrives in pieces is one scan per scope, with every
// finding of every piece in it.
func TestTargetInPieces(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	now := timestamppb.Now()
	ts := &vigilv1.TargetScan{Target: "/srv/big", Identity: "/srv/big", StartedAt: now, FinishedAt: now, AnalyzerVersion: "v"}
	for _, scanner := range []string{"kubernetes", "secrets"} {
		sr := &vigilv1.ScopeResult{Scanner: scanner, Coverage: &vigilv1.Coverage{}}
		for i := range 1500 {
			path := fmt.Sprintf("%s/%d.yaml", scanner, i)
			sr.Findings = append(sr.Findings, &vigilv1.Finding{CheckId: "VGL-X-1", Fingerprint: finding.Fingerprint("VGL-X-1", nil, path, ""),
				Title: "t", Severity: vigilv1.Severity_SEVERITY_LOW, Location: &vigilv1.Location{Path: path}})
		}
		ts.Scopes = append(ts.Scopes, sr)
	}
	var frames []*vigilv1.WorkerMessage
	for _, p := range worker.Pieces(ts, worker.PieceFindings) {
		frames = append(frames, &vigilv1.WorkerMessage{Body: &vigilv1.WorkerMessage_Target{Target: p}})
	}
	if len(frames) != 3 {
		t.Fatalf("%d pieces, want 3", len(frames))
	}
	frames = append(frames, &vigilv1.WorkerMessage{Body: &vigilv1.WorkerMessage_Done{Done: &vigilv1.WorkerDone{}}})
	srv := serve(t)
	a, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Tenant: "acme", ID: "a1", Spec: agent.Spec{Targets: []string{"/srv/big"}},
		Scanner: checkless{fakeWorker(t, 0, frames...)}, DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Outbox().Close()
	if err := a.ScanOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for {
		ps, err := a.Outbox().Peek(100)
		if err != nil || len(ps) == 0 {
			break
		}
		var seqs []uint64
		for _, p := range ps {
			m := &vigilv1.ScanMessage{}
			if err := proto.Unmarshal(p.Data, m); err != nil {
				t.Fatal(err)
			}
			if c := m.GetCompleted(); c != nil {
				counts[c.Scope.Scanner] = c.FindingCount
			}
			seqs = append(seqs, p.Seq)
		}
		a.Outbox().Delete(seqs)
	}
	if counts["kubernetes"] != 1500 || counts["secrets"] != 1500 {
		t.Fatalf("completed scans %v, want both scopes with their 1,500 findings", counts)
	}
}
