package image

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// rpmFixture is a database rpm wrote (see pkg/rpmdb/testdata): openssl and
// openssl-libs 1:3.0.7-24.el9 from one source package, and bash 5.1.8-6.el9.
func rpmFixture(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "rpmdb", "testdata", name+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// rpmAdvisories are OSV records in the shape each RPM-based source
// publishes them: Red Hat names binary packages, once per repository of a
// product stream; AlmaLinux and Rocky Linux name source packages.
func rpmAdvisories(t *testing.T) *vuln.DB {
	t.Helper()
	dir := t.TempDir()
	records := map[string]string{
		"RHSA.json": `{"id":"RHSA-2099:0001","summary":"openssl: example flaw","affected":[
			{"package":{"ecosystem":"Red Hat:enterprise_linux:9::appstream","name":"openssl-libs"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.7-27.el9"}]}]},
			{"package":{"ecosystem":"Red Hat:enterprise_linux:9::baseos","name":"openssl-libs"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.7-27.el9"}]}]},
			{"package":{"ecosystem":"Red Hat:enterprise_linux:9::baseos","name":"bash"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"5.1.8-6.el9"}]}]}]}`,
		"ALSA.json": `{"id":"ALSA-2099:0002","summary":"openssl: example flaw","affected":[
			{"package":{"ecosystem":"AlmaLinux:9","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.7-25.el9_3"}]}]}]}`,
		"RLSA.json": `{"id":"RLSA-2099:0003","summary":"bash: example flaw","affected":[
			{"package":{"ecosystem":"Rocky Linux:8","name":"bash"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"5.1.8-6.el9_1"}]}]}]}`,
	}
	for name, rec := range records {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := vuln.Open(dir)
	if err != nil || len(db.Errors) > 0 {
		t.Fatalf("open: %v %v", err, db.Errors)
	}
	return db
}

func rpmImage(t *testing.T, osRelease string, db file) v1.Image {
	t.Helper()
	return imageOf(t, v1.Config{User: "app"}, nil,
		layerOf(t, file{Path: "etc/os-release", Content: osRelease}),
		layerOf(t, db))
}

// TestRPMImages builds images whose rpm databases were written by rpm, on
// distributions whose advisories differ in shape, and matches them.
func TestRPMImages(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := NewScanner(cat, rpmAdvisories(t), []byte("test key"))
	sqlite := file{Path: "var/lib/rpm/rpmdb.sqlite", Content: rpmFixture(t, "rpmdb.sqlite")}
	cases := []struct {
		name, osRelease string
		db              file
		want            []string // package version advisory fixed
	}{
		{"UBI 9 (Red Hat, binary package names, two repositories)",
			"ID=\"rhel\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n", sqlite,
			[]string{"openssl-libs 1:3.0.7-24.el9 RHSA-2099:0001 1:3.0.7-27.el9"}},
		{"AlmaLinux 9 (source package names)",
			"ID=\"almalinux\"\nVERSION_ID=\"9.4\"\n", sqlite,
			[]string{"openssl 1:3.0.7-24.el9 ALSA-2099:0002 1:3.0.7-25.el9_3", "openssl-libs 1:3.0.7-24.el9 ALSA-2099:0002 1:3.0.7-25.el9_3"}},
		{"Rocky Linux 8 (Berkeley DB under the newer folder)",
			"ID=\"rocky\"\nVERSION_ID=\"8.9\"\n", file{Path: "usr/lib/sysimage/rpm/Packages", Content: rpmFixture(t, "Packages-overflow")},
			[]string{"bash 5.1.8-6.el9 RLSA-2099:0003 5.1.8-6.el9_1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := s.Analyze(context.Background(), rpmImage(t, c.osRelease, c.db))
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Errors) > 0 {
				t.Fatalf("errors: %v", a.Errors)
			}
			rpms := 0
			for _, p := range a.Inventory.Packages {
				if p.Type == "rpm" {
					rpms++
				}
			}
			if rpms != 3 {
				t.Fatalf("%d rpm packages in the inventory, want 3: %+v", rpms, a.Inventory.Packages)
			}
			var got []string
			// The records have no aliases: the advisory id is the last reference.
			for _, f := range s.Findings(a, "example.com/app:1", "t1") {
				if f.CheckId != CheckVulnOS {
					continue
				}
				p := f.Package
				got = append(got, strings.Join([]string{p.GetName(), p.GetVersion(), f.References[len(f.References)-1], p.GetFixedVersion()}, " "))
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("findings %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestRPMWithoutAdvisories: a distribution OSV publishes nothing for, and
// one the data lacks, leave the check not run, with the reason and count.
func TestRPMWithoutAdvisories(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := NewScanner(cat, rpmAdvisories(t), []byte("test key"))
	sqlite := file{Path: "var/lib/rpm/rpmdb.sqlite", Content: rpmFixture(t, "rpmdb.sqlite")}
	for osRelease, want := range map[string]string{
		"ID=\"amzn\"\nVERSION_ID=\"2023\"\nPRETTY_NAME=\"Amazon Linux 2023.4.20240416\"\n": "Amazon Linux 2023.4.20240416: no vulnerability data; 3 packages not checked",
		"ID=\"rocky\"\nVERSION_ID=\"9.3\"\n":                                               "Rocky Linux:9: no vulnerability data; 3 packages not checked",
	} {
		a, err := s.Analyze(context.Background(), rpmImage(t, osRelease, sqlite))
		if err != nil {
			t.Fatal(err)
		}
		var ce *pipeline.CheckError
		if len(a.Errors) != 1 || !errors.As(a.Errors[0], &ce) || ce.Check != CheckVulnOS || ce.Reason != pipeline.NoVulnerabilityData || ce.Error() != want {
			t.Errorf("%s: errors %v; want the OS vulnerability check not run: %s", osRelease, a.Errors, want)
		}
		if len(a.Vulns) != 0 {
			t.Errorf("%s: matched %v", osRelease, a.Vulns)
		}
	}
	// A database that does not parse is reported by its path in the image.
	a, err := s.Analyze(context.Background(), rpmImage(t, "ID=rhel\nVERSION_ID=9.4\n", file{Path: "var/lib/rpm/rpmdb.sqlite", Content: "not a database"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Errors) != 1 || !strings.Contains(a.Errors[0].Error(), "/var/lib/rpm/rpmdb.sqlite: sqlite") || strings.Contains(a.Errors[0].Error(), os.TempDir()) {
		t.Errorf("errors: %v", a.Errors)
	}
}
