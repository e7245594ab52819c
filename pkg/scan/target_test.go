package scan

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vigilsec/vigil/pkg/scan/source"
	"github.com/vigilsec/vigil/pkg/scan/source/awsaccount"
	"github.com/vigilsec/vigil/pkg/scan/source/git"
	"github.com/vigilsec/vigil/pkg/scan/source/imageref"
	"github.com/vigilsec/vigil/pkg/scan/source/kubeapi"
	"github.com/vigilsec/vigil/pkg/scan/source/procfs"
	"github.com/vigilsec/vigil/pkg/scan/source/service"
	"github.com/vigilsec/vigil/pkg/scan/source/stdin"
	"github.com/vigilsec/vigil/pkg/scan/source/tree"
)

// Every spelling of a target reaches its own source through the one
// registry, and is normalised by it; a folder holding an OCI layout is an
// image, any other path a tree.
func TestTargetsResolveThroughTheRegistry(t *testing.T) {
	layout := t.TempDir()
	if err := os.WriteFile(filepath.Join(layout, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := scanner(t)
	cases := []struct {
		target, normal string
		want           source.Source
	}{
		{"-", "-", stdin.Source{}},
		{"https://shop.example/", "https://shop.example/", service.Source{}},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", service.Source{}},
		{"git:./repo", "git:./repo", git.Source{}},
		{"aws:", "aws:", awsaccount.Source{}},
		{"aws:org/Audit", "aws:org/Audit", awsaccount.Source{}},
		{"runtime:/host/proc", "runtime:/host/proc", procfs.Source{}},
		{"k8s:in-cluster", "k8s:in-cluster", kubeapi.Source{}},
		{"registry:ghcr.io/acme/app:1", "registry:ghcr.io/acme/app:1", imageref.Source{}},
		{"oci:./img", "oci:./img", imageref.Source{}},
		{"docker-archive:app.tar", "docker-archive:app.tar", imageref.Source{}},
		{layout, layout, imageref.Source{}},
		{"./deploy/../deploy/", "deploy", tree.Source{}},
		{"gcp:project", "gcp:project", tree.Source{}}, // no such source: a path
	}
	for _, c := range cases {
		src := s.Source(c.target)
		if reflect.TypeOf(src) != reflect.TypeOf(c.want) {
			t.Errorf("%q resolves to %T, want %T", c.target, src, c.want)
			continue
		}
		if got := s.Normalize(c.target); got != c.normal {
			t.Errorf("%q normalises to %q, want %q", c.target, got, c.normal)
		}
	}
}
