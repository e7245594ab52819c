package sast

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/pkg/checks"
)

// TestEveryCheckFailsAndPasses writes every case as a package of one
// module and analyzes them in one load, then checks each case's result.
func TestEveryCheckFailsAndPasses(t *testing.T) {
	data, err := os.ReadFile("testdata/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ Check, Fail, Pass string }
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module cases\n\ngo 1.22\n"), 0o644)
	var dirs []string
	for i, c := range cases {
		for _, kind := range []string{"fail", "pass"} {
			src := c.Fail
			if kind == "pass" {
				src = c.Pass
			}
			dir := filepath.Join(root, fmt.Sprintf("c%02d%s", i, kind))
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\n"+src), 0o644); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, dir)
		}
	}
	results, errs := Analyze(context.Background(), dirs)
	for _, e := range errs {
		t.Errorf("analyze: %v", e)
	}
	if len(results) < len(cases) {
		t.Fatalf("%d results for %d failing programs", len(results), len(cases))
	}
	got := map[string]map[string]int{}
	for _, r := range results {
		d := filepath.Base(filepath.Dir(r.Position.Filename))
		if got[d] == nil {
			got[d] = map[string]int{}
		}
		got[d][r.Check]++
	}
	covered := map[string]bool{}
	for i, c := range cases {
		covered[c.Check] = true
		if n := got[fmt.Sprintf("c%02dfail", i)][c.Check]; n == 0 {
			t.Errorf("%s case %d: failing program not reported; got %v", c.Check, i, got[fmt.Sprintf("c%02dfail", i)])
		}
		if n := got[fmt.Sprintf("c%02dpass", i)][c.Check]; n != 0 {
			t.Errorf("%s case %d: passing program reported", c.Check, i)
		}
	}
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cat.All() {
		id := c.ID
		if !strings.HasPrefix(id, "VGL-CODE-1") || covered[id] {
			continue
		}
		t.Errorf("check %s has no case", id)
	}
}
