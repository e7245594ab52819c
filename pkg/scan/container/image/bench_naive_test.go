package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// twentyLayers is an image of 20 layers: a base with a dpkg database of
// 1,000 packages, then 19 layers of 400 files each (the last rewriting
// the database), read back from an OCI layout.
func twentyLayers(b *testing.B) v1.Image {
	var status strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&status, "Package: pkg%d\nStatus: install ok installed\nVersion: 1.%d-1\nArchitecture: amd64\n\n", i, i)
	}
	layers := []v1.Layer{layerOf(b, file{Path: "etc/os-release", Content: "ID=debian\nVERSION_ID=\"12\"\n"}, file{Path: "var/lib/dpkg/status", Content: status.String()})}
	for l := 1; l < 20; l++ {
		var fs []file
		for i := 0; i < 400; i++ {
			fs = append(fs, file{Path: fmt.Sprintf("usr/share/l%d/f%d.txt", l, i), Content: strings.Repeat("x", 4096)})
		}
		if l == 19 {
			fs = append(fs, file{Path: "var/lib/dpkg/status", Content: status.String()})
		}
		layers = append(layers, layerOf(b, fs...))
	}
	return viaLayout(b, imageOf(b, v1.Config{User: "app"}, nil, layers...))
}

// peakHeap samples the heap while fn runs.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	done := make(chan struct{})
	var peak uint64
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	fn()
	close(done)
	return peak
}

// BenchmarkTwentyLayers scans the image as the scanner does: layers
// streamed top down, whiteouts applied, nothing written to disk.
func BenchmarkTwentyLayers(b *testing.B) {
	img := twentyLayers(b)
	s := testScanner(b)
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		s.cache = map[string]*cacheEntry{}
		peak = max(peak, peakHeap(func() {
			a, err := s.Analyze(context.Background(), img)
			if err != nil || len(a.Inventory.Packages) != 1000 {
				b.Fatalf("%v, %d packages", err, len(a.Inventory.Packages))
			}
		}))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkTwentyLayersNaive is the same scan done naively: every layer
// extracted to a folder in order, then the folder read back.
func BenchmarkTwentyLayersNaive(b *testing.B) {
	img := twentyLayers(b)
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		peak = max(peak, peakHeap(func() {
			layers, _ := img.Layers()
			for _, l := range layers {
				rc, err := l.Uncompressed()
				if err != nil {
					b.Fatal(err)
				}
				data, _ := io.ReadAll(rc) // naive: the whole layer in memory
				rc.Close()
				tr := tar.NewReader(strings.NewReader(string(data)))
				for {
					h, err := tr.Next()
					if err != nil {
						break
					}
					p := filepath.Join(dir, filepath.Clean("/"+h.Name))
					os.MkdirAll(filepath.Dir(p), 0o755)
					if h.Typeflag == tar.TypeReg {
						f, _ := os.Create(p)
						io.Copy(f, tr)
						f.Close()
					}
				}
			}
			data, _ := os.ReadFile(filepath.Join(dir, dpkgStatus))
			pkgs, _ := parseDpkgStatus("status", data)
			if len(pkgs) != 1000 {
				b.Fatalf("%d packages", len(pkgs))
			}
		}))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
