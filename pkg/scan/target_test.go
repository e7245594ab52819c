package scan

import (
	"os"
	"path/filepath"
	"testing"
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
		target, normal, want string
	}{
		{"-", "-", "stdin"},
		{"https://shop.example/", "https://shop.example/", "service"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "service"},
		{"git:./repo", "git:./repo", "git"},
		{"aws:", "aws:", "aws"},
		{"aws:org/Audit", "aws:org/Audit", "aws"},
		{"runtime:/host/proc", "runtime:/host/proc", "runtime"},
		{"k8s:in-cluster", "k8s:in-cluster", "kubernetes"},
		{"registry:ghcr.io/acme/app:1", "registry:ghcr.io/acme/app:1", "image"},
		{"oci:./img", "oci:./img", "image"},
		{"docker-archive:app.tar", "docker-archive:app.tar", "image"},
		{layout, layout, "image"},
		{"./deploy/../deploy/", "deploy", "tree"},
		{"gcp:project", "gcp:project", "tree"}, // no such source: a path
	}
	for _, c := range cases {
		if got := s.Source(c.target).Name(); got != c.want {
			t.Errorf("%q resolves to the %s source, want %s", c.target, got, c.want)
			continue
		}
		if got := s.Normalize(c.target); got != c.normal {
			t.Errorf("%q normalises to %q, want %q", c.target, got, c.normal)
		}
	}
}
