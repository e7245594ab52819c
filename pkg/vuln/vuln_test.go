package vuln

import (
	"archive/zip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionOrdering(t *testing.T) {
	cases := []struct {
		eco, a, b string
		want      int
	}{
		{"Debian:12", "1:1.0-1", "2.0-1", 1}, // epoch wins
		{"Debian", "1.0~rc1-1", "1.0-1", -1}, // tilde sorts before anything
		{"Debian", "2.36-9+deb12u4", "2.36-9+deb12u10", -1},
		{"Ubuntu:22.04", "1.2.3-1ubuntu1", "1.2.3-1", 1},
		{"Alpine:v3.20", "1.2.3-r1", "1.2.3-r10", -1},
		{"Alpine", "3.0.12-r0", "3.0.2-r0", 1},
		{"Alpine", "1.2.3_rc1-r0", "1.2.3-r0", -1},
		{"Go", "v1.2.3", "1.2.10", -1},
		{"Go", "0.0.0-20220101000000-abcdefabcdef", "0.1.0", -1},
		{"npm", "1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"npm", "1.0.0-rc.1", "1.0.0", -1},
		{"crates.io", "2.0.0", "2.0.0", 0},
		{"PyPI", "1.0.dev1", "1.0a1", -1}, // PEP 440: dev < pre < final < post
		{"PyPI", "1.0rc1", "1.0", -1},
		{"PyPI", "1.0.post1", "1.0", 1},
		{"PyPI", "0.15.3", "0.15.10", -1},
		{"PyPI", "1!0.1", "2.0", 1}, // epoch
		{"Maven", "1.0-alpha-1", "1.0", -1},
		{"Maven", "1.0-SNAPSHOT", "1.0", -1},
		{"Maven", "2.9.10.1", "2.9.10", 1},
		{"Maven", "1.0.RELEASE", "1.0.1", -1},
		{"RubyGems", "1.0.0.pre", "1.0.0", -1},
		{"RubyGems", "5.2.4.3", "5.2.4.10", -1},
		{"AlmaLinux:9", "1:3.0.7-18.el9", "3.0.8-1.el9", 1}, // epoch wins
		{"Red Hat:enterprise_linux:9", "0:1.9.5p2-10.el9_6.1", "1.9.5p2-10.el9_6", 1},
		{"Rocky Linux", "1.0", "1.0", 0},
		{"Rocky Linux", "1.01", "1.1", 0}, // leading zeros do not count
		{"Rocky Linux", "2.0.1", "2.0", 1},
		{"Rocky Linux", "2.0.1a", "2.0.1", 1},
		{"Rocky Linux", "5.5p1", "5.5p10", -1},
		{"Rocky Linux", "10xyz", "10.1xyz", -1}, // a number is newer than letters
		{"Rocky Linux", "xyz10", "xyz10.1", -1},
		{"Rocky Linux", "2a", "2.0", -1},
		{"Rocky Linux", "1.0aa", "1.0a", 1},
		{"Rocky Linux", "1.0~rc1", "1.0", -1}, // tilde sorts before the end
		{"Rocky Linux", "1.0~rc1~git123", "1.0~rc1", -1},
		{"Rocky Linux", "1.0^", "1.0", 1},        // caret sorts after the end...
		{"Rocky Linux", "1.0^git1", "1.0.1", -1}, // ...but before anything else
		{"Rocky Linux", "1.0^", "1.0^git1", -1},
		{"Rocky Linux", "1.0^git1~pre", "1.0^git1", -1},
		{"Rocky Linux", "1.0-1.el9", "1.0-1.el9_2", -1},
		{"SUSE:Linux Enterprise Server 15 SP5", "3.0.8-150500.5.14.1", "3.0.8-150500.5.8.1", 1},
		{"openSUSE:Leap 15.5", "2.37-150500.4.3.1", "2.38-1.1", -1},
	}
	for _, c := range cases {
		cmp, ok := comparer(c.eco)
		if !ok {
			t.Fatalf("no ordering for %s", c.eco)
		}
		got, err := cmp(c.a, c.b)
		if err != nil || got != c.want {
			t.Errorf("%s: compare(%s, %s) = %d, %v; want %d", c.eco, c.a, c.b, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "x:1.0-1", "-1"} {
		if _, err := compareRPM(bad, "1.0-1"); err == nil {
			t.Errorf("RPM version %q compared without an error", bad)
		}
	}
	if _, ok := comparer("Hackage"); ok {
		t.Error("Hackage has no ordering and must say so")
	}
}

func record(id, eco, name string, versions []string, ranges ...Range) *Entry {
	e := &Entry{ID: id, Summary: id + " summary"}
	a := Affected{Ranges: ranges, Versions: versions}
	a.Package.Ecosystem, a.Package.Name = eco, name
	e.Affected = []Affected{a}
	return e
}

func TestQuery(t *testing.T) {
	db := &DB{byPackage: map[string][]*Entry{}}
	db.Add(record("DSA-1", "Debian:12", "openssl", nil, Range{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "3.0.11-1~deb12u2"}}}))
	db.Add(record("DEB-ALL", "Debian", "openssl", nil, Range{Type: "ECOSYSTEM", Events: []Event{{Introduced: "3.0.0-1"}, {LastAffected: "3.0.9-1"}}}))
	db.Add(record("ALPINE-1", "Alpine:v3.20", "busybox", nil, Range{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "1.36.1-r29"}}}))
	// Two ranges given out of order, plus a listed version.
	db.Add(record("GHSA-1", "npm", "lodash", []string{"3.0.0"}, Range{Type: "SEMVER", Events: []Event{{Fixed: "4.17.21"}, {Introduced: "4.0.0"}}},
		Range{Type: "SEMVER", Events: []Event{{Introduced: "5.0.0"}, {Limit: "5.1.0"}}}))
	db.Add(record("GO-1", "Go", "golang.org/x/text", nil, Range{Type: "SEMVER", Events: []Event{{Introduced: "0"}, {Fixed: "0.3.8"}}}))
	db.Add(record("GIT-ONLY", "npm", "lodash", nil, Range{Type: "GIT", Events: []Event{{Introduced: "0"}}}))

	cases := []struct {
		eco, name, version string
		want               map[string]string // id → fixed
	}{
		{"Debian:12", "openssl", "3.0.9-1", map[string]string{"DSA-1": "3.0.11-1~deb12u2", "DEB-ALL": ""}},
		{"Debian:12", "openssl", "3.0.11-1~deb12u2", map[string]string{}},
		{"Debian:12", "openssl", "3.0.10-1", map[string]string{"DSA-1": "3.0.11-1~deb12u2"}},
		{"Debian:11", "openssl", "3.0.1-1", map[string]string{"DEB-ALL": ""}},
		{"Alpine:v3.20", "busybox", "1.36.1-r28", map[string]string{"ALPINE-1": "1.36.1-r29"}},
		{"Alpine:v3.20", "busybox", "1.36.1-r29", map[string]string{}},
		{"npm", "lodash", "4.17.20", map[string]string{"GHSA-1": "4.17.21"}},
		{"npm", "lodash", "4.17.21", map[string]string{}},
		{"npm", "lodash", "3.0.0", map[string]string{"GHSA-1": "4.17.21"}},
		{"npm", "lodash", "5.0.5", map[string]string{"GHSA-1": ""}},
		{"npm", "lodash", "5.1.0", map[string]string{}},
		{"Go", "golang.org/x/text", "v0.3.7", map[string]string{"GO-1": "0.3.8"}},
	}
	for _, c := range cases {
		ms, err := db.Query(c.eco, c.name, c.version)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, m := range ms {
			got[m.ID] = m.Fixed
		}
		if len(got) != len(c.want) {
			t.Errorf("%s %s %s: got %v, want %v", c.eco, c.name, c.version, got, c.want)
			continue
		}
		for id, fixed := range c.want {
			if f, ok := got[id]; !ok || f != fixed {
				t.Errorf("%s %s %s: got %v, want %v", c.eco, c.name, c.version, got, c.want)
			}
		}
	}
	// Red Hat names a repository in each record; an image's packages match
	// the stream's records once, whichever repository lists them.
	rh := record("RHSA-1", "Red Hat:enterprise_linux:9::appstream", "openssl-libs", nil, Range{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "1:3.0.7-27.el9"}}})
	rh.Affected = append(rh.Affected, rh.Affected[0])
	rh.Affected[1].Package.Ecosystem = "Red Hat:enterprise_linux:9::baseos"
	db.Add(rh)
	for v, want := range map[string]int{"1:3.0.7-24.el9": 1, "1:3.0.7-27.el9": 0, "1:3.0.9-1.el9": 0, "3.0.9-1.el9": 1} {
		ms, err := db.Query("Red Hat:enterprise_linux:9", "openssl-libs", v)
		if err != nil || len(ms) != want {
			t.Errorf("Red Hat openssl-libs %s: %v, %v; want %d match", v, ms, err, want)
		}
	}
	if ms, _ := db.Query("Red Hat:enterprise_linux:8", "openssl-libs", "1:1.1.1k-1.el8"); len(ms) != 0 {
		t.Errorf("a RHEL 9 record matched RHEL 8: %v", ms)
	}
	if !db.Covers("Red Hat:enterprise_linux:9") || db.Covers("Red Hat:enterprise_linux:8") {
		t.Error("Red Hat coverage is by product stream")
	}
	if _, err := db.Query("Hackage", "aeson", "2.2"); err == nil {
		t.Error("an unsupported ecosystem was queried silently")
	}
}

func TestOpenFolderAndZip(t *testing.T) {
	dir := t.TempDir()
	rec := record("ALPINE-9", "Alpine:v3.19", "zlib", nil, Range{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "1.3.1-r0"}}})
	b, _ := json.Marshal(rec)
	os.MkdirAll(filepath.Join(dir, "Alpine"), 0o755)
	os.WriteFile(filepath.Join(dir, "Alpine", "ALPINE-9.json"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{not json"), 0o644)
	zf, _ := os.Create(filepath.Join(dir, "npm.zip"))
	zw := zip.NewWriter(zf)
	w, _ := zw.Create("GHSA-2.json")
	b2, _ := json.Marshal(record("GHSA-2", "npm", "minimist", nil, Range{Type: "SEMVER", Events: []Event{{Introduced: "0"}, {Fixed: "1.2.6"}}}))
	w.Write(b2)
	zw.Close()
	zf.Close()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 2 || len(db.Errors) != 1 || !strings.Contains(db.Errors[0].Error(), "broken.json") {
		t.Fatalf("loaded %d records, errors %v", db.Len(), db.Errors)
	}
	if ms, _ := db.Query("npm", "minimist", "1.2.5"); len(ms) != 1 || ms[0].Fixed != "1.2.6" {
		t.Fatalf("zip record not matched: %v", ms)
	}
}

// vulndbVersion pins the Go vulnerability database module the test reads.
const vulndbVersion = "v0.0.0-20261105234957-e22db6528018"

// TestGoVulnDB matches against the real Go vulnerability database, which
// ships as a Go module (CC-BY-4.0) with its OSV records under data/osv.
func TestGoVulnDB(t *testing.T) {
	out, err := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+vulndbVersion).Output()
	if err != nil {
		t.Fatalf("go mod download golang.org/x/vulndb: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download output: %v %s", err, out)
	}
	db, err := Open(filepath.Join(mod.Dir, "data", "osv"))
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() < 4000 || len(db.Errors) != 0 {
		t.Fatalf("loaded %d records, %d errors (first: %v)", db.Len(), len(db.Errors), db.Errors)
	}
	ms, err := db.Query("Go", "golang.org/x/text", "v0.3.7")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		for _, a := range m.Aliases {
			if a == "CVE-2022-32149" { // language tag parsing DoS, fixed in 0.3.8
				found = m.Fixed == "0.3.8"
			}
		}
	}
	if !found {
		t.Fatalf("golang.org/x/text v0.3.7: CVE-2022-32149 fixed in 0.3.8 not found in %v", ms)
	}
	// At each fix, the vulnerability it fixes no longer matches.
	for _, m := range ms {
		if m.Fixed == "" {
			continue
		}
		after, _ := db.Query("Go", "golang.org/x/text", "v"+m.Fixed)
		for _, a := range after {
			if a.ID == m.ID {
				t.Errorf("%s still matches at its fixed version %s", m.ID, m.Fixed)
			}
		}
	}
}

func FuzzOpenRecord(f *testing.F) {
	b, _ := json.Marshal(record("X-1", "npm", "a", []string{"1.0.0"}, Range{Type: "SEMVER", Events: []Event{{Introduced: "0"}, {Fixed: "2.0.0"}}}))
	f.Add(b, "1.5.0")
	f.Fuzz(func(t *testing.T, data []byte, version string) {
		db := &DB{byPackage: map[string][]*Entry{}}
		db.addRecord("fuzz.json", data)
		for _, eco := range []string{"npm", "Debian", "Alpine", "Go"} {
			db.Query(eco, "a", version)
		}
	})
}

func TestNamesCompareAsTheirEcosystemSays(t *testing.T) {
	db := &DB{byPackage: map[string][]*Entry{}}
	db.Add(record("PYSEC-1", "PyPI", "Flask_Login", nil, Range{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "0.6.3"}}}))
	db.Add(record("GHSA-N", "NuGet", "Newtonsoft.Json", nil, Range{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "13.0.1"}}}))
	db.Add(record("GHSA-M", "Maven", "org.Example:lib", nil, Range{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "2.0"}}}))
	for _, c := range []struct {
		eco, name, version string
		hits               int
	}{
		{"PyPI", "flask-login", "0.6.2", 1},
		{"PyPI", "Flask.Login", "0.6.2", 1},
		{"NuGet", "newtonsoft.json", "12.0.3", 1},
		{"Maven", "org.example:lib", "1.0", 0}, // Maven names are case-sensitive
	} {
		ms, err := db.Query(c.eco, c.name, c.version)
		if err != nil || len(ms) != c.hits {
			t.Errorf("%s %s %s: %d matches, %v; want %d", c.eco, c.name, c.version, len(ms), err, c.hits)
		}
	}
}
