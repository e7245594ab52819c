package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// benchImage is an image of three layers: a distribution with a dpkg
// database of 400 packages, 6,000 small files, and 60 files of 1 MiB.
func benchImage(b *testing.B) (v1.Image, int64) {
	var status strings.Builder
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&status, "Package: pkg%d\nStatus: install ok installed\nSource: src%d\nVersion: 1.%d-1\nDescription: x\n\n", i, i%50, i)
	}
	base := []file{{Path: "etc/os-release", Content: "ID=debian\nVERSION_ID=\"12\"\n"}, {Path: "var/lib/dpkg/status", Content: status.String()}}
	var small, big []file
	for i := 0; i < 6000; i++ {
		small = append(small, file{Path: fmt.Sprintf("srv/app/src/m%d/f%d.js", i/100, i), Content: strings.Repeat("const x = 1;\n", 40)})
	}
	blob := strings.Repeat("lorem ipsum dolor sit amet 0123456789\n", 1<<20/38)
	for i := 0; i < 60; i++ {
		big = append(big, file{Path: fmt.Sprintf("srv/data/d%d.txt", i), Content: blob})
	}
	var total int64
	for _, fs := range [][]file{base, small, big} {
		for _, f := range fs {
			total += int64(len(f.Content))
		}
	}
	return viaLayout(b, imageOf(b, v1.Config{User: "app"}, nil, layerOf(b, base...), layerOf(b, small...), layerOf(b, big...))), total
}

// viaLayout writes img to an OCI layout and reads it back, as images at
// rest are read: digests come from the manifest and layers are
// decompressed as they are read.
func viaLayout(b *testing.B, img v1.Image) v1.Image {
	lp, err := layout.Write(b.TempDir(), empty.Index)
	if err != nil {
		b.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		b.Fatal(err)
	}
	d, _ := img.Digest()
	out, err := lp.Image(d)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkAnalyze reads a whole image (inventory, secrets, modes, OSV
// matching) with a cold cache each time; bytes/s is uncompressed content.
func BenchmarkAnalyze(b *testing.B) {
	img, total := benchImage(b)
	s := testScanner(b)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		s.cache = map[string]*cacheEntry{}
		s.order = nil
		a, err := s.Analyze(context.Background(), img)
		if err != nil {
			b.Fatal(err)
		}
		if len(a.Inventory.Packages) != 400 {
			b.Fatalf("%d packages", len(a.Inventory.Packages))
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(filesIn(b, img)), "files/op")
}

// filesIn counts the regular files of an image's layers, as they are in
// the image the benchmark reads.
func filesIn(b *testing.B, img v1.Image) int {
	layers, err := img.Layers()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			b.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				n++
			}
		}
		rc.Close()
	}
	return n
}

// BenchmarkAnalyzeCached is the cost of a second workload using an image
// already analyzed: a digest lookup.
func BenchmarkAnalyzeCached(b *testing.B) {
	img, _ := benchImage(b)
	s := testScanner(b)
	if _, err := s.Analyze(context.Background(), img); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Analyze(context.Background(), img); err != nil {
			b.Fatal(err)
		}
	}
}
