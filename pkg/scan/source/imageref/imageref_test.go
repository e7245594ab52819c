package imageref

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
	"github.com/vigilsec/vigil/pkg/scan/source"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// TestCheckThatCouldNotRun: an image of a distribution without
// vulnerability data is assessed, and its package check is counted as not
// run, with the reason, in the coverage the scan reports.
func TestCheckThatCouldNotRun(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range map[string]string{
		"etc/os-release":       "ID=fedora\nVERSION_ID=40\nPRETTY_NAME=\"Fedora Linux 40\"\n",
		"lib/apk/db/installed": "P:musl\nV:1.2.5-r0\no:musl\n\n",
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}

	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	db := &vuln.DB{}
	db.Add(&vuln.Entry{ID: "GO-1", Modified: time.Now().Format(time.RFC3339)})
	src := Source{Images: image.NewScanner(cat, db, []byte("key"))}
	res := &source.Result{Findings: map[string][]*vigilv1.Finding{}, Ledger: pipeline.NewLedger()}
	if err := src.Scan(context.Background(), res, dir, "t1"); err != nil {
		t.Fatal(err)
	}
	c := res.Ledger.Coverage(src.Images.Name())
	if c.UnitsAssessed != 1 || c.UnitsNotAssessed != 0 {
		t.Errorf("assessed %d, not assessed %v; want the image assessed", c.UnitsAssessed, c.NotAssessed)
	}
	if len(c.ChecksNotRun) != 1 || c.ChecksNotRun[0].CheckId != image.CheckVulnOS || c.ChecksNotRun[0].Reason != pipeline.NoVulnerabilityData {
		t.Fatalf("checks not run: %v", c.ChecksNotRun)
	}
	if want := "Fedora Linux 40: no vulnerability data; 1 packages not checked"; c.ChecksNotRun[0].Detail != want {
		t.Errorf("detail %q, want %q", c.ChecksNotRun[0].Detail, want)
	}
}
