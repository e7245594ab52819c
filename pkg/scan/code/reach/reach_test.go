package reach

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeModule writes files (path → content) under dir.
func writeModule(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixture is an application that calls one vulnerable function of a
// dependency through a package of its own, reaches a method through an
// interface and hands a handler to net/http, and never calls the other
// vulnerable functions.
func fixture(t *testing.T) string {
	root := t.TempDir()
	writeModule(t, filepath.Join(root, "markup"), map[string]string{
		"go.mod": "module example.test/markup\n\ngo 1.22\n",
		"markup.go": `package markup

import "strings"

// Parse is vulnerable (GO-TEST-1).
func Parse(s string) []string { return strings.Fields(s) }

// Render is vulnerable (GO-TEST-2) and nobody calls it.
func Render(parts []string) string { return strings.Join(parts, " ") }

type Decoder struct{ in string }

// Decode is vulnerable (GO-TEST-3): reached through an interface.
func (d *Decoder) Decode() string { return d.in }

// Handler is vulnerable (GO-TEST-4): handed to net/http.
type Handler struct{}

func (Handler) Serve() string { return "served" }
`,
		"unused/unused.go": "package unused\n\n// Open is vulnerable (GO-TEST-5); no package of the application imports this one.\nfunc Open() {}\n",
	})
	writeModule(t, filepath.Join(root, "app"), map[string]string{
		"go.mod": "module example.test/app\n\ngo 1.22\n\nrequire example.test/markup v1.0.0\n\nreplace example.test/markup => ../markup\n",
		"main.go": `package main

import (
	"fmt"
	"net/http"

	"example.test/app/words"
	"example.test/markup"
)

type decoder interface{ Decode() string }

type page struct{ h markup.Handler }

func (p page) ServeHTTP(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, p.h.Serve()) }

func main() {
	fmt.Println(words.Count("a b c"))
	var d decoder = &markup.Decoder{}
	fmt.Println(d.Decode())
	http.Handle("/", page{})
}
`,
		"words/words.go": `package words

import "example.test/markup"

// Count counts the words of s.
func Count(s string) int { return len(markup.Parse(s)) }
`,
	})
	return filepath.Join(root, "app")
}

func TestReachableAndNotReachable(t *testing.T) {
	dir := fixture(t)
	targets := []Target{
		{ID: "GO-TEST-1", Imports: []Import{{Path: "example.test/markup", Symbols: []string{"Parse"}}}},
		{ID: "GO-TEST-2", Imports: []Import{{Path: "example.test/markup", Symbols: []string{"Render"}}}},
		{ID: "GO-TEST-3", Imports: []Import{{Path: "example.test/markup", Symbols: []string{"Decoder.Decode"}}}},
		{ID: "GO-TEST-4", Imports: []Import{{Path: "example.test/markup", Symbols: []string{"Handler.Serve"}}}},
		{ID: "GO-TEST-5", Imports: []Import{{Path: "example.test/markup/unused"}}},
		{ID: "GO-TEST-6"},
	}
	got := Analyze(context.Background(), dir, targets)
	want := map[string]Status{"GO-TEST-1": Reachable, "GO-TEST-2": NotReachable, "GO-TEST-3": Reachable,
		"GO-TEST-4": Reachable, "GO-TEST-5": NotReachable, "GO-TEST-6": Unknown}
	for id, st := range want {
		if got[id].Status != st {
			t.Errorf("%s: status %d, want %d (%s)", id, got[id].Status, st, got[id].Detail)
		}
	}
	if p := strings.Join(got["GO-TEST-1"].Path, " → "); p != "main.main → words.Count → markup.Parse" {
		t.Errorf("GO-TEST-1 path %q", p)
	}
	if d := got["GO-TEST-2"].Detail; !strings.Contains(d, "example.test/markup.Render") {
		t.Errorf("GO-TEST-2 detail %q does not name the function searched for", d)
	}
}

// TestMissingDependencyIsUnknown: a dependency absent from the module
// cache (the scan never downloads) leaves reachability unknown, with the
// reason.
func TestMissingDependencyIsUnknown(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, map[string]string{
		"go.mod":  "module example.test/lonely\n\ngo 1.22\n\nrequire example.test/absent v1.2.3\n",
		"main.go": "package main\n\nimport \"example.test/absent\"\n\nfunc main() { absent.Run() }\n",
	})
	got := Analyze(context.Background(), dir, []Target{{ID: "GO-TEST-7", Imports: []Import{{Path: "example.test/absent", Symbols: []string{"Run"}}}}})
	r := got["GO-TEST-7"]
	if r.Status != Unknown || r.Detail == "" {
		t.Fatalf("got %+v, want unknown with a reason", r)
	}
}
