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
