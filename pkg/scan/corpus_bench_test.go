package scan

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/checks"
)

// BenchmarkCorpusScan scans each labelled corpus of ../shared/corpus (or
// $VIGIL_CORPUS) as one
// target through Scanner.Run, as a user scans a folder, and reports the
// peak live heap sampled every 10 ms beside the time. The Go SAST corpus is
// left out: a whole-tree scan of it type-checks every sample together and
// takes far longer than the others (make eval scores it sample by sample).
func BenchmarkCorpusScan(b *testing.B) {
	root := os.Getenv("VIGIL_CORPUS")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		b.Skipf("no corpus at %s: %v", root, err)
	}
	cat, err := checks.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "gosec-samples" {
			continue
		}
		dir := filepath.Join(root, e.Name())
		b.Run(e.Name(), func(b *testing.B) {
			s := New(cat)
			var peak atomic.Uint64
			stop := sampleHeap(&peak)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rep, err := s.Run(context.Background(), []string{dir}, "")
				if err != nil {
					b.Fatalf("%s: %v", dir, err)
				}
				b.ReportMetric(float64(len(rep.Findings)), "findings")
			}
			b.StopTimer()
			stop()
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-MiB")
		})
	}
}

// sampleHeap records the largest live heap seen until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	runtime.GC()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
