package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/checks"
)

// manifestTree writes files manifests of about size bytes each.
func manifestTree(t testing.TB, files, size int) string {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-%d, namespace: shop}\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers:\n        - name: app\n          image: nginx:latest\n          securityContext: {privileged: true}\n", i)
	}
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%03d.yaml", i)), []byte(strings.ReplaceAll(b.String(), "app-", fmt.Sprintf("f%d-", i))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMemoryBudgetQueuesScans(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	dir := manifestTree(t, 12, 256<<10)
	free, err := NewWith(cat, Options{Scanners: []string{"kubernetes"}}).Run(context.Background(), []string{dir}, "t")
	if err != nil {
		t.Fatal(err)
	}
	// 256 KiB of YAML costs 2 MiB reserved: a 5 MiB budget admits two at
	// once; the set scan over all 3 MiB asks for more and runs alone.
	bounded := NewWith(cat, Options{Scanners: []string{"kubernetes"}, MaxMemory: 5 << 20})
	rep, err := bounded.Run(context.Background(), []string{dir}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != len(free.Findings) || len(rep.Findings) == 0 {
		t.Fatalf("bounded scan found %d, unbounded %d", len(rep.Findings), len(free.Findings))
	}
	if p := bounded.budget.Peak(); p > 5<<20 || p < 4<<20 {
		t.Fatalf("peak reservation %d KiB; want between 4 and 5 MiB", p>>10)
	}
	if h := bounded.budget.Held(); h != 0 {
		t.Fatalf("%d bytes still reserved after the scan", h)
	}
	// A cancelled scan waiting for budget returns.
	ctx, cancel := context.WithCancel(context.Background())
	release, _ := bounded.budget.Reserve(ctx, 5<<20)
	done := make(chan error, 1)
	go func() { _, err := bounded.Run(ctx, []string{dir}, "t"); done <- err }()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled scan reported success")
	}
	release()
}

// peakHeap samples the live heap every few milliseconds until stop.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// configTree writes files manifests of about size bytes each: ConfigMaps
// with large values, which cost parsing but report nothing, so the heap
// measures the scans in flight rather than the findings kept.
func configTree(t testing.TB, files, size int) string {
	dir := t.TempDir()
	var b strings.Builder
	value := strings.Repeat("lorem ipsum dolor sit amet ", 2400)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg-%d, namespace: shop}\ndata:\n  text: %q\n", i, value)
	}
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%03d.yaml", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// BenchmarkMemoryBudget scans 12 manifests of 8 MiB (VIGIL_BENCH_FILES) with and without a
// budget and reports the peak live heap. The scan runs 8 file workers
// (GOMAXPROCS 8) whatever the machine, as a node agent on an 8-core host
// would: the budget matters when many large files are in flight at once.
func BenchmarkMemoryBudget(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	cat, err := checks.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	dir := configTree(b, envInt("VIGIL_BENCH_FILES", 12), 8<<20)
	for _, limit := range []int64{0, 256 << 20, 128 << 20} {
		name := "unbounded"
		if limit > 0 {
			name = fmt.Sprintf("budget-%dMiB", limit>>20)
		}
		b.Run(name, func(b *testing.B) {
			var peak atomic.Uint64
			for b.Loop() {
				runtime.GC()
				stop := make(chan struct{})
				got := peakHeap(stop)
				s := NewWith(cat, Options{Scanners: []string{"kubernetes", "secrets"}, MaxMemory: limit})
				if _, err := s.Run(context.Background(), []string{dir}, "t"); err != nil {
					b.Fatal(err)
				}
				close(stop)
				peak.Store(max(peak.Load(), <-got))
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		})
	}
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err != nil || n <= 0 {
		return def
	}
	return n
}
