package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// peakHeap samples the heap in use while f runs and returns its peak.
func peakHeap(f func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	return peak.Load()
}

// benchDirs loads and evaluates every folder of .tf files under root.
func benchDirs(b *testing.B, root string) {
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if m, _ := filepath.Glob(filepath.Join(p, "*.tf")); len(m) > 0 {
				dirs = append(dirs, p)
			}
		}
		return nil
	})
	if len(dirs) == 0 {
		b.Skipf("no Terraform under %s", root)
	}
	checks := cloudChecks(b)
	b.ReportAllocs()
	resources, findings := 0, 0
	var peak uint64
	for b.Loop() {
		resources, findings = 0, 0
		peak = max(peak, peakHeap(func() {
			for _, d := range dirs {
				cfg, err := LoadDir(context.Background(), d)
				if err != nil {
					b.Fatal(err)
				}
				rs := Adapt(cfg)
				fs, _, _ := cloud.Evaluate(context.Background(), checks, rs, "", "terraform", nil)
				resources += len(cfg.Blocks)
				findings += len(fs)
			}
		}))
	}
	b.ReportMetric(float64(resources)*float64(b.N)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(resources), "resources")
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
}

// BenchmarkTerragoat evaluates the terragoat corpus beside the repository.
func BenchmarkTerragoat(b *testing.B) {
	benchDirs(b, "../../../../../shared/corpus/terragoat/terraform")
}

// BenchmarkSynthetic10k evaluates one module of 10,000 resources that
// reference each other (buckets and their settings, groups, volumes,
// databases, policies), spread over 100 files.
func BenchmarkSynthetic10k(b *testing.B) {
	dir := b.TempDir()
	const files, perFile = 100, 20 // 20 groups of 5 resources per file
	for f := 0; f < files; f++ {
		var sb strings.Builder
		for i := 0; i < perFile; i++ {
			n := fmt.Sprintf("r%d_%d", f, i)
			fmt.Fprintf(&sb, `resource "aws_s3_bucket" %q {
  bucket = "bucket-%s"
}
resource "aws_s3_bucket_versioning" %q {
  bucket = aws_s3_bucket.%s.id
  versioning_configuration { status = "Enabled" }
}
resource "aws_security_group" %q {
  name = "sg-%s"
  ingress {
    from_port   = %d
    to_port     = %d
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_ebs_volume" %q {
  availability_zone = "eu-west-1a"
  encrypted         = %t
}
resource "aws_iam_policy" %q {
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "${aws_s3_bucket.%s.arn}/*" }] })
}
`, n, n, n, n, n, n, 20+i, 20+i, n, i%2 == 0, n, n)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.tf", f)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	benchDirs(b, dir)
}
