package code

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// osvDB writes OSV records the way the per-ecosystem exports lay them out
// and opens them.
func osvDB(t *testing.T) *vuln.DB {
	t.Helper()
	dir := t.TempDir()
	records := map[string]string{
		"Go/GO-2022-1059.json": `{"id":"GO-2022-1059","aliases":["CVE-2022-32149"],"summary":"Denial of service via crafted Accept-Language header",
			"affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/text"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.8"}]}]}]}`,
		"npm/GHSA-35jh-r3h4-6jhm.json": `{"id":"GHSA-35jh-r3h4-6jhm","aliases":["CVE-2021-23337"],"summary":"Command injection in lodash",
			"database_specific":{"severity":"HIGH"},
			"affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}`,
		"npm/GHSA-vh95-rmgr-6w4m.json": `{"id":"GHSA-vh95-rmgr-6w4m","summary":"Prototype pollution in minimist","database_specific":{"severity":"CRITICAL"},
			"affected":[{"package":{"ecosystem":"npm","name":"minimist"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.6"}]}]}]}`,
	}
	for name, body := range records {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := vuln.Open(dir)
	if err != nil || len(db.Errors) > 0 {
		t.Fatalf("open: %v %v", err, db.Errors)
	}
	return db
}

func scanner(t testing.TB, db *vuln.DB) *Dependencies {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return NewDependencies(cat, db)
}

const goMod = `module example.com/app

go 1.22

require (
	golang.org/x/text v0.3.7
	github.com/google/uuid v1.6.0 // indirect
)

require golang.org/x/net v0.20.0 // indirect

replace golang.org/x/net => ./third_party/net
`

func TestGoMod(t *testing.T) {
	d := scanner(t, osvDB(t))
	fs, err := d.ScanFile(context.Background(), "app/go.mod", []byte(goMod), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("findings = %v", fs)
	}
	f := fs[0]
	if f.CheckId != "VGL-CODE-001" || f.Location.StartLine != 6 || f.Resource.Name != "golang.org/x/text" ||
		!strings.Contains(f.Message, "fixed in 0.3.8") || !strings.Contains(f.Message, "direct dependency") || !strings.Contains(f.Message, "CVE-2022-32149") {
		t.Fatalf("finding = %v", f)
	}
	pkgs, _ := ParseGoMod("go.mod", []byte(goMod))
	if len(pkgs) != 2 || pkgs[1].Direct {
		t.Fatalf("packages = %+v (local replacement dropped, indirect marked)", pkgs)
	}
}

func TestPackageLock(t *testing.T) {
	v3 := `{
  "name": "web", "lockfileVersion": 3,
  "packages": {
    "": {"name": "web", "dependencies": {"lodash": "^4.17.0"}},
    "node_modules/lodash": {"version": "4.17.20"},
    "node_modules/mkdirp/node_modules/minimist": {"version": "1.2.5"},
    "node_modules/minimist": {"version": "1.2.8"}
  }
}`
	v1 := `{
  "name": "web", "lockfileVersion": 1,
  "dependencies": {
    "lodash": {"version": "4.17.15"},
    "mkdirp": {"version": "0.5.1", "dependencies": {"minimist": {"version": "0.0.8"}}}
  }
}`
	d := scanner(t, osvDB(t))
	for name, lock := range map[string]string{"v3": v3, "v1": v1} {
		fs, err := d.ScanFile(context.Background(), "web/package-lock.json", []byte(lock), "acme")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*vigilv1.Finding{}
		for _, f := range fs {
			got[f.Resource.Name] = f
		}
		if len(fs) != 2 || got["lodash"] == nil || got["minimist"] == nil {
			t.Fatalf("%s: findings = %v", name, fs)
		}
		if got["minimist"].Severity != vigilv1.Severity_SEVERITY_CRITICAL || got["lodash"].Location.StartLine == 0 {
			t.Fatalf("%s: severity %v, line %d", name, got["minimist"].Severity, got["lodash"].Location.StartLine)
		}
		if name == "v3" && (!strings.Contains(got["lodash"].Message, "direct dependency") || !strings.Contains(got["minimist"].Message, "transitive")) {
			t.Fatalf("v3 direct/transitive: %q / %q", got["lodash"].Message, got["minimist"].Message)
		}
	}
}

func TestWithoutDataFilesAreStillParsed(t *testing.T) {
	d := scanner(t, nil)
	if fs, err := d.ScanFile(context.Background(), "go.mod", []byte(goMod), ""); err != nil || len(fs) != 0 {
		t.Fatalf("without data: %v %v", fs, err)
	}
	if _, err := d.ScanFile(context.Background(), "x/go.mod", []byte("module\nrequire (\n"), ""); err == nil || !strings.Contains(err.Error(), "x/go.mod") {
		t.Fatalf("bad go.mod: %v", err)
	}
	if _, err := d.ScanFile(context.Background(), "x/package-lock.json", []byte("{"), ""); err == nil {
		t.Fatal("bad lockfile accepted")
	}
}

func FuzzDependencyFiles(f *testing.F) {
	f.Add("go.mod", []byte(goMod))
	b, _ := json.Marshal(map[string]any{"lockfileVersion": 3, "packages": map[string]any{"node_modules/a": map[string]any{"version": "1"}}})
	f.Add("package-lock.json", b)
	cat, err := checks.Builtin()
	if err != nil {
		f.Fatal(err)
	}
	d := NewDependencies(cat, &vuln.DB{})
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if name != "go.mod" {
			name = "package-lock.json"
		}
		d.ScanFile(context.Background(), name, data, "t")
	})
}
