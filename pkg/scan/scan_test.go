package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
)

func scanner(t *testing.T) *Scanner {
	t.Helper()
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return New(cat)
}

const rendered = `---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: true
      containers: [{name: web, image: "web:1.0"}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
`

// helm template ... | vigil scan - : rendered manifests on stdin, with the
// checks across objects too.
func TestStdin(t *testing.T) {
	s := scanner(t)
	s.Stdin = strings.NewReader(rendered)
	rep, err := s.Run(context.Background(), []string{"-"}, "")
	if err != nil || len(rep.Errors) != 0 {
		t.Fatalf("run: %v %v", err, rep.GetErrors())
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.CheckId] = true
		if f.Location.Path != "-" {
			t.Errorf("path %q, want -", f.Location.Path)
		}
	}
	if !got["VGL-CLUSTER-005"] || got["VGL-CLUSTER-131"] {
		t.Fatalf("findings = %v (want hostNetwork, and no isolation finding: a policy selects the pods)", got)
	}
}

func TestUnreadableFilesAreReportedAndTheScanGoesOn(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(rendered), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("kind: [\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("RUN no from\n"), 0o644)
	rep, err := scanner(t).Run(context.Background(), []string{dir, filepath.Join(dir, "missing")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 3 {
		t.Fatalf("errors = %v, want bad.yaml, Dockerfile and the missing target", rep.Errors)
	}
	if len(rep.Findings) == 0 {
		t.Fatal("the good file's findings were lost")
	}
}

// A file larger than MaxFileSize is still searched for secrets, as a
// stream; the scanners that need it whole report it as skipped.
func TestLargeFilesAreStreamedToTheSecretScanner(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dump.yaml")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("filler: ordinary configuration text\n", 1000)
	for n := 0; n <= MaxFileSize; n += len(line) {
		f.WriteString(line)
	}
	f.WriteString("aws_access_key_id: AKIAQYLPMN5HHHFPZAM2\n")
	f.Close()
	rep, err := scanner(t).Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, fd := range rep.Findings {
		if fd.CheckId == "VGL-CODE-010" && fd.Location.StartLine > 400000 {
			found = true
			if strings.Contains(fd.Location.Snippet, "AKIAQYLPMN5HHHFPZAM2") {
				t.Fatalf("snippet holds the key: %q", fd.Location.Snippet)
			}
		}
	}
	if !found {
		t.Fatalf("the key at the end of a %d-byte file was not found (errors %v)", MaxFileSize, rep.Errors)
	}
	if len(rep.Errors) == 0 {
		t.Fatal("the kubernetes scanner did not report the file it skipped")
	}
}
