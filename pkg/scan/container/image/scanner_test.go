package image

import (
	"context"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/checks/checkstest"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// testDB holds advisories written for the tests, in OSV form.
func testDB(t testing.TB) *vuln.DB {
	t.Helper()
	dir := t.TempDir()
	records := map[string]string{
		"DSA-0001.json":    `{"id":"DSA-0001","aliases":["CVE-2099-0001"],"summary":"openssl: example flaw","affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u2"}]}]}]}`,
		"ALPINE-0001.json": `{"id":"ALPINE-CVE-2099-0002","summary":"busybox: example flaw","affected":[{"package":{"ecosystem":"Alpine:v3.20","name":"busybox"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.36.1-r29"}]}]}]}`,
		"GHSA-0001.json":   `{"id":"GHSA-35jh-r3h4-6jhm","aliases":["CVE-2021-23337"],"summary":"Command injection in lodash","database_specific":{"severity":"HIGH"},"affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}`,
		"GO-0001.json":     `{"id":"GO-2099-0001","summary":"stdlib: example flaw","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"99.0.0"}]}]}]}`,
	}
	for name, rec := range records {
		if err := os.WriteFile(dir+"/"+name, []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := vuln.Open(dir)
	if err != nil || len(db.Errors) > 0 {
		t.Fatalf("open: %v %v", err, db.Errors)
	}
	return db
}

func testScanner(t testing.TB) *Scanner {
	t.Helper()
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return NewScanner(cat, testDB(t), []byte("test key"))
}

type imageSpec struct {
	Config  v1.Config `json:"config"`
	History []string  `json:"history"`
	Files   []file    `json:"files"`
}

func buildSpec(t testing.TB, src string) v1.Image {
	t.Helper()
	var spec imageSpec
	if err := yaml.UnmarshalStrict([]byte(src), &spec); err != nil {
		t.Fatalf("case: %v", err)
	}
	if spec.Config.User == "" && !strings.Contains(src, "User:") {
		spec.Config.User = "app" // cases not about the user run as non-root
	}
	return imageOf(t, spec.Config, spec.History, layerOf(t, spec.Files...))
}

func TestEveryImageCheckFailsAndPasses(t *testing.T) {
	s := testScanner(t)
	cat, _ := checks.Builtin()
	var all []*checks.Check
	for _, c := range cat.All() {
		if c.Input == "image" || s.analyzer[c.ID] == c {
			all = append(all, c)
		}
	}
	checkstest.Run(t, "testdata/cases.yaml", all, func(t *testing.T, src string) map[string]int {
		fs, _, err := s.Scan(context.Background(), Source{Name: "case:1", Image: buildSpec(t, src)}, "")
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		out := map[string]int{}
		for _, f := range fs {
			out[f.CheckId]++
		}
		return out
	})
}
