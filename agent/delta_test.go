package agent

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

func openOutbox(t *testing.T) (*Outbox, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "outbox.db")
	o, err := OpenOutbox(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o, p
}

func mk(path string, n int) *vigilv1.Finding {
	res := &vigilv1.Resource{Tenant: "acme", Kind: "Pod", Name: fmt.Sprint(n)}
	return &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CLUSTER-001", res, path, fmt.Sprint(n)), CheckId: "VGL-CLUSTER-001",
		Resource: res, Location: &vigilv1.Location{Path: path, StartLine: int32(n)}}
}

// drainAll reads and deletes every pending message, decoded.
func drainAll(t *testing.T, o *Outbox) []*vigilv1.ScanMessage {
	t.Helper()
	var out []*vigilv1.ScanMessage
	for {
		ps, err := o.Peek(10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			return out
		}
		var seqs []uint64
		for _, p := range ps {
			m := &vigilv1.ScanMessage{}
			if err := proto.Unmarshal(p.Data, m); err != nil {
				t.Fatal(err)
			}
			if p.Subject != "vigil.findings.acme.a1" || p.MsgID == "" {
				t.Fatalf("pending message %q %q", p.Subject, p.MsgID)
			}
			out = append(out, m)
			seqs = append(seqs, p.Seq)
		}
		if err := o.Delete(seqs); err != nil {
			t.Fatal(err)
		}
	}
}

type summary struct {
	full      bool
	sent      []string
	gone      []string
	completed *vigilv1.ScanCompleted
}

func summarize(t *testing.T, msgs []*vigilv1.ScanMessage) summary {
	t.Helper()
	var s summary
	for i, m := range msgs {
		if b := m.GetBatch(); b != nil {
			s.full = b.Full
			for _, f := range b.Findings {
				s.sent = append(s.sent, f.Fingerprint)
			}
			s.gone = append(s.gone, b.GoneFingerprints...)
		}
		if c := m.GetCompleted(); c != nil {
			if i != len(msgs)-1 {
				t.Fatal("ScanCompleted is not the last message of the scan")
			}
			s.completed = c
			s.full = c.Full
		}
	}
	if s.completed == nil {
		t.Fatal("no ScanCompleted")
	}
	sort.Strings(s.sent)
	sort.Strings(s.gone)
	return s
}

func fps(fs ...*vigilv1.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Fingerprint)
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestDeltaSync(t *testing.T) {
	o, _ := openOutbox(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/m"}
	a, b, c := mk("a.yaml", 1), mk("a.yaml", 2), mk("b.yaml", 3)
	version := "v1+checks1"
	scanOf := func(notAssessed []string, fs ...*vigilv1.Finding) summary {
		t.Helper()
		if _, err := o.EnqueueScan(ScopeScan{Scope: scope, Findings: fs, NotAssessed: notAssessed, StartedAt: time.Now(), FinishedAt: time.Now()},
			EnqueueOptions{FullEvery: 4, BatchFindings: 2, AnalyzerVersion: version}); err != nil {
			t.Fatal(err)
		}
		return summarize(t, drainAll(t, o))
	}
	digest := func(fs ...*vigilv1.Finding) []byte { d := finding.DigestOf(fps(fs...)); return d[:] }

	s := scanOf(nil, a, b, c)
	if !s.full || !equal(s.sent, fps(a, b, c)) || s.completed.Batches != 2 || string(s.completed.SetDigest) != string(digest(a, b, c)) {
		t.Fatalf("first scan: %+v", s)
	}
	s = scanOf(nil, a, b, c)
	if s.full || len(s.sent) != 0 || len(s.gone) != 0 || s.completed.Batches != 0 || s.completed.FindingCount != 3 {
		t.Fatalf("unchanged scan sent something: %+v", s)
	}
	changed := proto.Clone(b).(*vigilv1.Finding)
	changed.Message = "now with a message"
	s = scanOf(nil, a, changed)
	if s.full || !equal(s.sent, fps(changed)) || !equal(s.gone, fps(c)) || string(s.completed.SetDigest) != string(digest(a, b)) {
		t.Fatalf("changed scan: %+v", s)
	}
	// b.yaml failed to parse this time: c's earlier state would be kept, a.yaml's a is gone.
	s = scanOf(nil, a, changed, c)
	s = scanOf([]string{"b.yaml"}, changed)
	if s.full || !equal(s.gone, fps(a)) || s.completed.FindingCount != 2 || string(s.completed.SetDigest) != string(digest(changed, c)) {
		t.Fatalf("scan with an unreadable file: %+v", s)
	}
	// The fourth delta since the last full scan is sent in full.
	s = scanOf(nil, changed, c)
	if !s.full || !equal(s.sent, fps(changed, c)) {
		t.Fatalf("periodic full scan: %+v", s)
	}
	id := finding.ScopeID(scope)
	if err := o.ForceFull(id[:], 42); err != nil {
		t.Fatal(err)
	}
	if o.ControlSeq() != 42 {
		t.Fatalf("control sequence %d, want 42", o.ControlSeq())
	}
	if s = scanOf(nil, changed, c); !s.full {
		t.Fatal("ForceFull did not make the next scan full")
	}
	// New analyzers or checks: the scope is sent whole once, so the server
	// resolves what the old ones reported and the new ones do not.
	if s = scanOf(nil, changed, c); s.full {
		t.Fatal("an unchanged scan after a full one was full")
	}
	version = "v2+checks1"
	if s = scanOf(nil, changed, c); !s.full || s.completed.AnalyzerVersion != version {
		t.Fatalf("a new analyzer version did not send the scope in full: %+v", s)
	}
	if s = scanOf(nil, changed, c); s.full {
		t.Fatal("the new version was not remembered")
	}
}

func TestOutboxSurvivesReopen(t *testing.T) {
	o, path := openOutbox(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/m"}
	if _, err := o.EnqueueScan(ScopeScan{Scope: scope, Findings: []*vigilv1.Finding{mk("a.yaml", 1)}}, EnqueueOptions{}); err != nil {
		t.Fatal(err)
	}
	if o.Depth() != 2 {
		t.Fatalf("depth %d, want 2", o.Depth())
	}
	o.Close()
	o2, err := OpenOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	ps, err := o2.Peek(10)
	if err != nil || len(ps) != 2 || ps[0].Seq >= ps[1].Seq {
		t.Fatalf("after reopen: %v, %v", ps, err)
	}
	if _, err := o2.EnqueueScan(ScopeScan{Scope: scope, Findings: []*vigilv1.Finding{mk("a.yaml", 1)}}, EnqueueOptions{}); err != nil {
		t.Fatal(err)
	}
	if o2.Depth() != 3 {
		t.Fatalf("the state was lost on reopen: depth %d, want 3 (one completion added)", o2.Depth())
	}
}

// A resource kind the agent could not list keeps its earlier findings.
func TestKindErrorsCarryFindingsOver(t *testing.T) {
	o, _ := openOutbox(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "k8s://c1"}
	pod, role := mk("k8s://c1/Pod/shop/web", 1), mk("k8s://c1/Role/shop/admin", 2)
	enqueue := func(notAssessed []string, fs ...*vigilv1.Finding) summary {
		if _, err := o.EnqueueScan(ScopeScan{Scope: scope, Findings: fs, NotAssessed: notAssessed}, EnqueueOptions{}); err != nil {
			t.Fatal(err)
		}
		return summarize(t, drainAll(t, o))
	}
	enqueue(nil, pod, role)
	s := enqueue([]string{"k8s://c1/Role/"}, pod)
	if len(s.gone) != 0 || s.completed.FindingCount != 2 {
		t.Fatalf("the role's finding was dropped while roles could not be listed: %+v", s)
	}
	s = enqueue(nil, pod)
	if !equal(s.gone, fps(role)) {
		t.Fatalf("once roles are readable again the finding goes: %+v", s)
	}
}
