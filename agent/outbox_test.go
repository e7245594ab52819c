package agent

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// mappedRSS is the resident size of this process's mappings of path, from
// /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps")
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") {
			in = fields[len(fields)-1] == path
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			total += kb << 10
		}
	}
	return total
}

// A drained outbox, remapped, keeps its state and gives back the pages
// the scan's enqueue and the drain touched.
func TestRemapKeepsStateAndReleasesPages(t *testing.T) {
	o, path := openOutbox(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/srv"}
	var fs []*vigilv1.Finding
	for i := range 20000 {
		f := mk("m.yaml", i)
		f.Title = strings.Repeat("t", 200)
		fs = append(fs, f)
	}
	now := time.Now()
	if _, err := o.EnqueueScan(ScopeScan{Scope: scope, Findings: fs, StartedAt: now, FinishedAt: now}, EnqueueOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := o.ForceFull([]byte("other scope"), 42); err != nil {
		t.Fatal(err)
	}
	sent := drainAll(t, o)
	before := mappedRSS(t, path)
	if err := o.Remap(); err != nil {
		t.Fatal(err)
	}
	after := mappedRSS(t, path)
	if before < 1<<20 || after*4 > before {
		t.Errorf("outbox pages resident: %d KiB before the remap, %d KiB after; want most given back", before>>10, after>>10)
	}
	t.Logf("%d messages drained; outbox resident %d KiB before the remap, %d KiB after", len(sent), before>>10, after>>10)
	if o.ControlSeq() != 42 || o.Depth() != 0 {
		t.Fatalf("after the remap: control seq %d, depth %d", o.ControlSeq(), o.Depth())
	}
	// The sent set survived: the same scan again sends nothing.
	st, err := o.EnqueueScan(ScopeScan{Scope: scope, Findings: fs, StartedAt: now, FinishedAt: now}, EnqueueOptions{})
	if err != nil || st.Sent != 0 || st.SetSize != len(fs) {
		t.Fatalf("rescan after the remap: %+v, %v; want nothing sent of %d", st, err, len(fs))
	}
}

// A scan enqueued piece by piece is held back until it finishes, and so is
// every message behind it; a crash before the end drops it at the next
// open, leaving the scope's sent set as it was.
func TestPiecewiseScanIsAtomic(t *testing.T) {
	o, path := openOutbox(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/srv"}
	other := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "dockerfile", Target: "/srv"}
	now := time.Now()
	opts := EnqueueOptions{BatchFindings: 10}
	e, err := o.BeginScan(ScopeScan{Scope: scope, StartedAt: now, FinishedAt: now}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var fs []*vigilv1.Finding
	for i := range 95 {
		fs = append(fs, mk("m.yaml", i))
	}
	for i := 0; i < len(fs); i += 30 {
		if err := e.Add(fs[i:min(i+30, len(fs))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.EnqueueScan(ScopeScan{Scope: other, Findings: []*vigilv1.Finding{mk("Dockerfile", 1)}, StartedAt: now, FinishedAt: now}, opts); err != nil {
		t.Fatal(err)
	}
	if ps, _ := o.Peek(100); len(ps) != 0 {
		t.Fatalf("%d messages visible while a scan before them is being enqueued", len(ps))
	}
	st, err := e.Finish()
	if err != nil || st.Sent != 95 || st.SetSize != 95 {
		t.Fatalf("finish: %+v, %v", st, err)
	}
	msgs := drainAll(t, o)
	var batches, findings int
	for _, m := range msgs {
		if b := m.GetBatch(); b != nil {
			batches++
			findings += len(b.Findings)
		}
	}
	if findings != 96 || batches != 11 || msgs[len(msgs)-1].GetCompleted() == nil {
		t.Fatalf("%d messages, %d batches with %d findings; want 10 + 1 batches, 96 findings, a completion last", len(msgs), batches, findings)
	}

	// The next scan dies after its first piece.
	e, err = o.BeginScan(ScopeScan{Scope: scope, StartedAt: now, FinishedAt: now}, EnqueueOptions{BatchFindings: 10, FullEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Add(fs[:50]); err != nil {
		t.Fatal(err)
	}
	if o.Depth() == 0 {
		t.Fatal("the piece enqueued nothing")
	}
	o.Close()
	o, err = OpenOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if d := o.Depth(); d != 0 {
		t.Fatalf("%d messages of the unfinished scan survived the reopen", d)
	}
	st, err = o.EnqueueScan(ScopeScan{Scope: scope, Findings: fs, StartedAt: now, FinishedAt: now}, opts)
	if err != nil || st.Sent != 0 || st.SetSize != 95 {
		t.Fatalf("rescan after the dropped scan: %+v, %v; want the sent set of the finished one, nothing to send", st, err)
	}
}
