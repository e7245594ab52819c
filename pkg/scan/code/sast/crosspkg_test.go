package sast

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Data from a request in one package that another package of the module
// sends to a sink is reported where it leaves the first package, naming
// the function it went to and the sink; through two packages as through
// one. Data a package sanitizes, or a constant, is not.
func TestTaintAcrossPackages(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/shop\n\ngo 1.22\n",
		"store/store.go": `package store
import ("database/sql"; "strconv")
type Store struct{ DB *sql.DB }
func (s *Store) Find(name string) { s.DB.Query("SELECT * FROM items WHERE name = '" + name + "'") }
func (s *Store) ByID(id string) { n, _ := strconv.Atoi(id); s.DB.Query("SELECT * FROM items WHERE id = " + strconv.Itoa(n)) }
`,
		"ops/ops.go": `package ops
import "os/exec"
func Run(script string) error { return exec.Command("sh", "-c", script).Run() }
`,
		"svc/svc.go": `package svc
import "example.com/shop/ops"
func Restart(unit string) error { return ops.Run("systemctl restart " + unit) }
`,
		"web/web.go": `package web
import ("net/http"; "example.com/shop/store"; "example.com/shop/svc")
func Search(s *store.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.Find(r.URL.Query().Get("q"))
		s.ByID(r.URL.Query().Get("id"))
		s.Find("featured")
	}
}
func Restart(w http.ResponseWriter, r *http.Request) { svc.Restart(r.FormValue("unit")) }
`,
	}
	var dirs []string
	for name, body := range files {
		write(t, filepath.Join(root, name), body)
		if strings.HasSuffix(name, ".go") {
			dirs = append(dirs, filepath.Join(root, filepath.Dir(name)))
		}
	}
	results, errs := Analyze(context.Background(), dirs)
	for _, e := range errs {
		t.Errorf("analyze: %v", e)
	}
	var web []Result
	for _, r := range results {
		if filepath.Base(filepath.Dir(r.Position.Filename)) == "web" {
			web = append(web, r)
		} else if r.Check == CheckSQLInjection || r.Check == CheckCommandInjection && !strings.Contains(r.Message, "not a constant") {
			// (ops runs sh -c on a computed script: the syntactic check
			// reports that wherever the script comes from.)
			t.Errorf("taint reported inside the callee, where no source is: %+v", r)
		}
	}
	lines := map[string]int{}
	for _, r := range web {
		lines[r.Check] = r.Position.Line
		if r.Check == CheckSQLInjection && !strings.Contains(r.Message, "store.Store.Find") {
			t.Errorf("SQL finding does not name the function the data went to: %s", r.Message)
		}
	}
	if lines[CheckSQLInjection] != 5 {
		t.Errorf("SQL injection at line %d, want 5 (the call of Find with the query; ByID parses a number, the constant is safe): %+v", lines[CheckSQLInjection], web)
	}
	if lines[CheckCommandInjection] != 10 {
		t.Errorf("command injection through svc and ops at line %d, want 10: %+v", lines[CheckCommandInjection], web)
	}
	if len(web) != 2 {
		t.Errorf("%d findings in web, want 2: %+v", len(web), web)
	}
}

// The source and the sink in packages loaded in different batches: the
// summaries outlive their batch, so the finding is the same as in one.
func TestTaintAcrossBatches(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.com/big\n\ngo 1.22\n")
	write(t, filepath.Join(root, "aweb/web.go"), `package aweb
import ("net/http"; "example.com/big/zfiles")
func Get(w http.ResponseWriter, r *http.Request) { zfiles.Remove(r.FormValue("name")) }
`)
	write(t, filepath.Join(root, "zfiles/files.go"), `package zfiles
import "os"
func Remove(name string) error { return os.Remove("/srv/uploads/" + name) }
`)
	dirs := []string{filepath.Join(root, "aweb")}
	for i := range MaxBatch {
		d := filepath.Join(root, fmt.Sprintf("m%02d", i))
		write(t, filepath.Join(d, "m.go"), fmt.Sprintf("package m%02d\n\nfunc N() int { return %d }\n", i, i))
		dirs = append(dirs, d)
	}
	dirs = append(dirs, filepath.Join(root, "zfiles"))
	if us, _ := units(dirs); len(us) < 2 {
		t.Fatalf("%d batches, want the source and the sink apart", len(us))
	}
	results, errs := Analyze(context.Background(), dirs)
	for _, e := range errs {
		t.Errorf("analyze: %v", e)
	}
	for _, r := range results {
		if filepath.Base(filepath.Dir(r.Position.Filename)) == "aweb" && r.Position.Line == 3 && strings.Contains(r.Message, "zfiles.Remove") {
			return
		}
	}
	t.Errorf("no finding at aweb line 3 naming zfiles.Remove: %+v", results)
}
