package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// Hostile file trees: symlink loops, links to endless devices, FIFOs and
// invalid UTF-8 must neither hang the scan nor produce findings that
// cannot travel (protobuf strings must be valid UTF-8).
func TestHostileTree(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("..", filepath.Join(dir, "a", "b", "up")))    // a directory loop
	must(os.Symlink("loop2", filepath.Join(dir, "loop1")))        // a link loop
	must(os.Symlink("loop1", filepath.Join(dir, "loop2")))        //
	must(os.Symlink("/dev/zero", filepath.Join(dir, "zero.env"))) // an endless file
	must(syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644))  // a reader that blocks
	// A secret next to bytes that are not UTF-8.
	must(os.WriteFile(filepath.Join(dir, "a", "config.env"), []byte("DB_PASSWORD=\xff\xfeS3cr3t-\xc3\x28Passw0rd-x9Qk\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "a", "pod.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: \"p\xff\xfe\"}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: \"x\xc3\x28\"}]\n"), 0o644))

	done := make(chan *vigilv1.ScanReport, 1)
	go func() {
		rep, err := scanner(t).Run(context.Background(), []string{dir}, "acme")
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	var rep *vigilv1.ScanReport
	select {
	case rep = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the scan hangs on a hostile tree")
	}
	if rep == nil {
		return
	}
	if len(rep.Findings) == 0 {
		t.Fatal("no findings: the readable files were not scanned")
	}
	for _, f := range rep.Findings {
		if strings.Contains(f.GetLocation().GetPath(), "zero") || strings.Contains(f.GetLocation().GetPath(), "pipe") || strings.Contains(f.GetLocation().GetPath(), "loop") {
			t.Errorf("finding from a special file: %v", f.Location.Path)
		}
	}
	// Everything must encode: an invalid string would stop the agent's publish.
	if _, err := proto.Marshal(rep); err != nil {
		t.Fatalf("report does not encode: %v", err)
	}
	for _, f := range rep.Findings {
		for _, s := range []string{f.Message, f.GetLocation().GetSnippet(), f.GetResource().GetName(), f.Title} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in finding %s: %q", f.CheckId, s)
			}
		}
	}
}
