package code

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/lockfile"
	"github.com/vigilsec/vigil/pkg/pipeline"
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
	if p := f.Package; p.GetName() != "golang.org/x/text" || p.GetVersion() != "v0.3.7" || p.GetFixedVersion() != "0.3.8" || p.GetEcosystem() != "Go" {
		t.Fatalf("package = %v", p)
	}
	pkgs, _ := lockfile.ParseGoMod("go.mod", []byte(goMod))
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
	// Parsed, but not judged: not assessed for want of data, never clean.
	fs, err := d.ScanFile(context.Background(), "go.mod", []byte(goMod), "")
	var pe *pipeline.Error
	if len(fs) != 0 || !errors.As(err, &pe) || pe.Reason != pipeline.NoVulnerabilityData || pe.Detail != "Go" {
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
	names := lockfile.Names()
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if _, ok := lockfile.ParserFor(name); !ok {
			name = names[len(name)%len(names)]
		}
		d.ScanFile(context.Background(), name, data, "t")
	})
}

func TestMoreLockfiles(t *testing.T) {
	pnpm6 := "lockfileVersion: '6.0'\ndependencies:\n  lodash:\n    specifier: ^4.17.4\n    version: 4.17.4\npackages:\n\n  /lodash@4.17.4:\n    dev: false\n\n  /@babel/core@7.24.0(supports-color@8.1.1):\n    dev: true\n\n  /minimist@1.2.5:\n    dev: false\n"
	pnpm5 := "lockfileVersion: 5.4\nspecifiers:\n  lodash: ^4.17.4\ndependencies:\n  lodash: 4.17.4\npackages:\n  /lodash/4.17.4:\n    dev: false\n  /@types/node/20.1.0_typescript@5.0.0:\n    dev: true\n"
	pnpm9 := "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      lodash:\n        specifier: ^4.17.4\n        version: 4.17.4\npackages:\n  lodash@4.17.4:\n    resolution: {integrity: sha512-x}\nsnapshots:\n  lodash@4.17.4: {}\n"
	composer := `{"packages": [{"name": "guzzlehttp/psr7", "version": "1.8.3"}, {"name": "acme/app", "version": "dev-main"}], "packages-dev": [{"name": "phpunit/phpunit", "version": "v9.6.0"}]}`
	cargo := "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
	cases := []struct {
		parse func([]byte) ([]lockfile.Package, error)
		data  string
		want  []string // name@version, direct marked with !
	}{
		{lockfile.ParsePnpmLock, pnpm6, []string{"@babel/core@7.24.0", "lodash@4.17.4!", "minimist@1.2.5"}},
		{lockfile.ParsePnpmLock, pnpm5, []string{"@types/node@20.1.0", "lodash@4.17.4!"}},
		{lockfile.ParsePnpmLock, pnpm9, []string{"lodash@4.17.4!"}},
		{lockfile.ParseComposerLock, composer, []string{"guzzlehttp/psr7@1.8.3", "phpunit/phpunit@9.6.0"}},
		{lockfile.ParseCargoLock, cargo, []string{"smallvec@1.6.0"}},
	}
	for i, c := range cases {
		pkgs, err := c.parse([]byte(c.data))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var got []string
		for _, p := range pkgs {
			s := p.Name + "@" + p.Version
			if p.Direct {
				s += "!"
			}
			if p.Line == 0 {
				t.Errorf("case %d: %s has no line", i, s)
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("case %d: got %v, want %v", i, got, c.want)
		}
	}
	// The scanner picks the parser by file name and matches the packages.
	d := scanner(t, osvDB(t))
	fs, err := d.ScanFile(context.Background(), "web/pnpm-lock.yaml", []byte(pnpm6), "")
	if err != nil || len(fs) != 2 {
		t.Fatalf("pnpm findings = %v, %v", fs, err)
	}
	for _, bad := range []string{"pnpm-lock.yaml", "composer.lock", "Cargo.lock"} {
		if _, err := d.ScanFile(context.Background(), "x/"+bad, []byte("{[unclosed"), ""); err == nil {
			t.Errorf("a broken %s was accepted", bad)
		}
	}
}

func TestEcosystemLockfiles(t *testing.T) {
	yarn1 := "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.24.0\"\n  resolved \"https://r/x.tgz\"\n\njquery@^3.2.1:\n  version \"3.2.1\"\n"
	yarnBerry := "__metadata:\n  version: 6\n\n\"jquery@npm:^3.2.1\":\n  version: 3.2.1\n  resolution: \"jquery@npm:3.2.1\"\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n"
	reqs := "# pinned\nFlask==2.0.0\nWerkzeug[watchdog] == 0.11 ; python_version < \"3.8\"\nrequests>=2.0\n-r other.txt\nurllib3===1.26.4 --hash=sha256:abc\n"
	pipfile := `{"_meta": {"pipfile-spec": 6}, "default": {"werkzeug": {"version": "==0.11.1"}}, "develop": {"pytest": {"version": "==7.0.0"}}}`
	poetry := "[[package]]\nname = \"werkzeug\"\nversion = \"0.14\"\n\n[[package]]\nname = \"click\"\nversion = \"8.1.3\"\n"
	uv := "version = 1\n[[package]]\nname = \"werkzeug\"\nversion = \"0.11.1\"\nsource = { registry = \"https://pypi.org/simple\" }\n\n[[package]]\nname = \"uv-test\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n"
	gemfile := "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.13.10-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.6.1)\n    rails (6.1.7)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  rails (~> 6.1)\n"
	gradle := "# Gradle lock\ncom.fasterxml.jackson.core:jackson-databind:2.9.1=compileClasspath, runtimeClasspath\nempty=\n"
	pom := `<project><groupId>com.example</groupId><version>1.0</version><properties><jackson.version>2.9.1</jackson.version></properties>
<dependencyManagement><dependencies><dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>1.7.30</version></dependency></dependencies></dependencyManagement>
<dependencies>
<dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId><version>${jackson.version}</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId></dependency>
<dependency><groupId>com.example</groupId><artifactId>lib</artifactId><version>${project.version}</version></dependency>
<dependency><groupId>x</groupId><artifactId>ranged</artifactId><version>[1.0,2.0)</version></dependency>
</dependencies></project>`
	nuget := `{"version": 1, "dependencies": {"net6.0": {"Newtonsoft.Json": {"type": "Direct", "resolved": "12.0.3"}, "System.Memory": {"type": "Transitive", "resolved": "4.5.4"}, "MyLib": {"type": "Project"}}}}`
	conan := `{"graph_lock": {"nodes": {"0": {"path": "../conanfile.txt"}, "1": {"ref": "pcre/8.43#abc"}, "2": {"ref": "zlib/1.2.12@user/stable"}}}}`
	bun := "{\n  \"workspaces\": {\"\": {\"dependencies\": {\"jquery\": \"3.3.1\",},},},\n  \"packages\": {\n    \"jquery\": [\"jquery@3.3.1\", \"\", {}, \"sha512-x\"],\n    \"@types/bun\": [\"@types/bun@1.2.14\", \"\", {}],\n  }\n}\n"
	cases := []struct {
		name  string
		parse func([]byte) ([]lockfile.Package, error)
		data  string
		want  []string
	}{
		{"yarn v1", lockfile.ParseYarnLock, yarn1, []string{"@babel/core@7.24.0", "jquery@3.2.1"}},
		{"yarn berry", lockfile.ParseYarnLock, yarnBerry, []string{"jquery@3.2.1"}},
		{"requirements", lockfile.ParseRequirements, reqs, []string{"Flask@2.0.0", "Werkzeug@0.11", "urllib3@1.26.4"}},
		{"Pipfile.lock", lockfile.ParsePipfileLock, pipfile, []string{"pytest@7.0.0", "werkzeug@0.11.1"}},
		{"poetry.lock", lockfile.ParsePythonTOMLLock, poetry, []string{"click@8.1.3", "werkzeug@0.14"}},
		{"uv.lock", lockfile.ParsePythonTOMLLock, uv, []string{"werkzeug@0.11.1"}},
		{"Gemfile.lock", lockfile.ParseGemfileLock, gemfile, []string{"nokogiri@1.13.10", "racc@1.6.1", "rails@6.1.7!"}},
		{"gradle.lockfile", lockfile.ParseGradleLockfile, gradle, []string{"com.fasterxml.jackson.core:jackson-databind@2.9.1"}},
		{"pom.xml", lockfile.ParsePomXML, pom, []string{"com.fasterxml.jackson.core:jackson-databind@2.9.1!", "org.slf4j:slf4j-api@1.7.30!", "com.example:lib@1.0!"}},
		{"packages.lock.json", lockfile.ParseNuGetLock, nuget, []string{"Newtonsoft.Json@12.0.3!", "System.Memory@4.5.4"}},
		{"conan.lock", lockfile.ParseConanLock, conan, []string{"pcre@8.43", "zlib@1.2.12"}},
		{"bun.lock", lockfile.ParseBunLock, bun, []string{"@types/bun@1.2.14", "jquery@3.3.1!"}},
	}
	for _, c := range cases {
		pkgs, err := c.parse([]byte(c.data))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, p := range pkgs {
			s := p.Name + "@" + p.Version
			if p.Direct {
				s += "!"
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	for name, bad := range map[string]string{"Pipfile.lock": "{}", "pom.xml": "<project><dependencies>", "gradle.lockfile": "not:a:lock:line=x",
		"packages.lock.json": "[", "conan.lock": "{", "poetry.lock": "[[package", "yarn.lock": "garbage: [\n"} {
		parse, _ := lockfile.ParserFor(name)
		if _, err := parse(name, []byte(bad)); err == nil {
			t.Errorf("a broken %s was accepted", name)
		}
	}
	if _, ok := lockfile.ParserFor("requirements-dev.txt"); !ok {
		t.Error("requirements-dev.txt is not read")
	}
}

// TestGoReachability scans the go.mod of a module that calls one
// vulnerable function of a dependency and not the other: the first
// finding is reachable with its call path, the second is not, and a
// go.mod whose sources are not on disk is unknown.
func TestGoReachability(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		// The dependency is vendored: the go command reads it offline.
		"app/vendor/modules.txt":               "# example.test/feed v1.0.0\n## explicit; go 1.22\nexample.test/feed\n",
		"app/vendor/example.test/feed/feed.go": "package feed\n\nfunc Fetch(u string) string { return u }\n\nfunc Publish(s string) {}\n",
		"app/go.mod":                           "module example.test/app\n\ngo 1.22\n\nrequire example.test/feed v1.0.0\n",
		"app/main.go":                          "package main\n\nimport \"example.test/feed\"\n\nfunc main() { println(feed.Fetch(\"x\")) }\n",
		"osv/GO-TEST-0001.json": `{"id":"GO-TEST-0001","summary":"Fetch follows redirects to any host","affected":[{"package":{"ecosystem":"Go","name":"example.test/feed"},
			"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.1.0"}]}],"ecosystem_specific":{"imports":[{"path":"example.test/feed","symbols":["Fetch"]}]}}]}`,
		"osv/GO-TEST-0002.json": `{"id":"GO-TEST-0002","summary":"Publish leaks the feed's key","affected":[{"package":{"ecosystem":"Go","name":"example.test/feed"},
			"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.1.0"}]}],"ecosystem_specific":{"imports":[{"path":"example.test/feed","symbols":["Publish"]}]}}]}`,
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := vuln.Open(filepath.Join(root, "osv"))
	if err != nil || len(db.Errors) > 0 {
		t.Fatalf("open: %v %v", err, db.Errors)
	}
	path := filepath.Join(root, "app", "go.mod")
	data, _ := os.ReadFile(path)
	fs, err := scanner(t, db).ScanFile(context.Background(), path, data, "t")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*vigilv1.Finding{}
	for _, f := range fs {
		for _, r := range f.References {
			got[r] = f
		}
	}
	if f := got["GO-TEST-0001"]; f == nil || f.Reachability != vigilv1.Reachability_REACHABILITY_REACHABLE ||
		f.ReachabilityDetail != "main.main → feed.Fetch" {
		t.Errorf("GO-TEST-0001: %v", f)
	}
	if f := got["GO-TEST-0002"]; f == nil || f.Reachability != vigilv1.Reachability_REACHABILITY_NOT_REACHABLE ||
		!strings.Contains(f.Message, "not reachable") {
		t.Errorf("GO-TEST-0002: %v", f)
	}
	// The same go.mod read from somewhere else (an image, a commit).
	fs, _ = scanner(t, db).ScanFile(context.Background(), filepath.Join(root, "elsewhere", "go.mod"), data, "t")
	for _, f := range fs {
		if f.Reachability != vigilv1.Reachability_REACHABILITY_UNKNOWN {
			t.Errorf("%s away from its sources: %v", f.Message, f.Reachability)
		}
	}
}

// Data older than its limit still matches, and marks the file not
// assessed for stale data; fresh data, data of unknown age or no limit
// does not.
func TestStaleVulnerabilityData(t *testing.T) {
	goMod := "module example.org/app\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n"
	for _, c := range []struct {
		name     string
		modified string
		maxAge   time.Duration
		stale    bool
	}{
		{"a year old", time.Now().AddDate(-1, 0, 0).UTC().Format(time.RFC3339), vuln.DefaultMaxAge, true},
		{"a day old", time.Now().AddDate(0, 0, -1).UTC().Format(time.RFC3339), vuln.DefaultMaxAge, false},
		{"a year old, no limit", time.Now().AddDate(-1, 0, 0).UTC().Format(time.RFC3339), 0, false},
		{"age unknown", "0001-01-01T00:00:00Z", vuln.DefaultMaxAge, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			rec := `{"id":"GO-2022-1059","modified":"` + c.modified + `","aliases":["CVE-2022-32149"],
				"affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/text"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.8"}]}]}]}`
			if err := os.WriteFile(filepath.Join(dir, "r.json"), []byte(rec), 0o644); err != nil {
				t.Fatal(err)
			}
			db, err := vuln.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxAge(c.maxAge)
			fs, err := scanner(t, db).ScanFile(context.Background(), "app/go.mod", []byte(goMod), "acme")
			var pe *pipeline.Error
			isStale := errors.As(err, &pe) && pe.Reason == pipeline.StaleData
			if len(fs) != 1 || isStale != c.stale {
				t.Fatalf("%d findings, error %v; want 1 finding, stale %v", len(fs), err, c.stale)
			}
		})
	}
}
