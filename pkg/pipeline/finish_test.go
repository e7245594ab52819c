package pipeline

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

func TestFinishRedactsExemptsAndKeepsOnePerFingerprint(t *testing.T) {
	secret := &vigilv1.Finding{Fingerprint: "a", Tags: []string{finding.SecretTag}, Location: &vigilv1.Location{Snippet: "token = ghp_abcdefghijklmnop"}}
	again := &vigilv1.Finding{Fingerprint: "a", Message: "the same place, reported twice"}
	broken := &vigilv1.Finding{Fingerprint: "b", Message: "bad \xff byte"}
	exempt := &vigilv1.Finding{Fingerprint: "c"}
	groups := map[string][]*vigilv1.Finding{"x": {secret, again, broken, exempt}}
	Finish(groups, func(f *vigilv1.Finding) bool { return f.Fingerprint == "c" }, nil, nil)
	out := groups["x"]
	if len(out) != 2 || out[0] != secret || out[1] != broken {
		t.Fatalf("kept %v", out)
	}
	if strings.Contains(secret.Location.Snippet, "ghp_abcdefghijklmnop") {
		t.Fatalf("secret snippet not redacted: %q", secret.Location.Snippet)
	}
	if broken.Message != "bad \uFFFD byte" {
		t.Fatalf("message not made valid UTF-8: %q", broken.Message)
	}
}

// TestOnePathForFindings holds the pipeline's one rule: no code outside the
// constructor, the fingerprint's own package and Finish builds, fingerprints
// or redacts a finding, so no scanner can skip a step.
func TestOnePathForFindings(t *testing.T) {
	allowed := map[string]map[string]bool{
		"Fingerprint":   {"pkg/finding": true},
		"RedactSecrets": {"pkg/finding": true, "pkg/pipeline": true},
		"Finding{}":     {"pkg/checks": true, "server/store": true}, // the store decodes records
	}
	root := filepath.Join("..", "..")
	checked := 0
	for _, top := range []string{"pkg", "agent", "server", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, ".pb.go") {
				return err
			}
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				return err
			}
			checked++
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			rel = filepath.ToSlash(rel)
			ast.Inspect(file, func(n ast.Node) bool {
				var what string
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok && x.Name == "finding" && (n.Sel.Name == "Fingerprint" || n.Sel.Name == "RedactSecrets") {
						what = n.Sel.Name
					}
				case *ast.CompositeLit:
					if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Finding" {
						if x, ok := sel.X.(*ast.Ident); ok && x.Name == "vigilv1" {
							what = "Finding{}"
						}
					}
				}
				if what != "" && !allowed[what][rel] {
					t.Errorf("%s: %s outside the pipeline", path, what)
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 100 {
		t.Fatalf("only %d files checked: the walk did not reach the code", checked)
	}
}
