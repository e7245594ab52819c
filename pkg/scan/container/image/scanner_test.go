package image

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/checks/checkstest"
	"github.com/vigilsec/vigil/pkg/scan/container/signature"
	"github.com/vigilsec/vigil/pkg/scan/container/signature/signtest"
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
	// Signature, when set, pushes the image to a registry and signs it:
	// "none", "trusted", "untrusted" (another key) or "other-digest".
	Signature string `json:"signature"`
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

// signedSource pushes img to an in-process registry and signs it as the
// spec says; the scanner trusts trusted's public key.
func signedSource(t *testing.T, s *Scanner, img v1.Image, mode string) Source {
	t.Helper()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/case/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	trusted, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s.Verifier = &signature.Verifier{Keys: []crypto.PublicKey{&trusted.PublicKey}}
	d, _ := img.Digest()
	switch mode {
	case "none":
	case "trusted":
		signtest.Sign(t, ref, d, trusted, signtest.Options{})
	case "untrusted":
		signtest.Sign(t, ref, d, other, signtest.Options{})
	case "other-digest":
		h, _ := v1.NewHash("sha256:" + strings.Repeat("cd", 32))
		signtest.Sign(t, ref, d, trusted, signtest.Options{PayloadDigest: &h})
	default:
		t.Fatalf("signature mode %q", mode)
	}
	srcs, err := Open(context.Background(), ref.String(), OpenOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	return srcs[0]
}

func TestEveryImageCheckFailsAndPasses(t *testing.T) {
	s := testScanner(t)
	cat, _ := checks.Builtin()
	var all []*checks.Check
	for _, c := range cat.All() {
		if _, ok := s.analyzer[c.ID]; ok || c.Input == "image" {
			all = append(all, c)
		}
	}
	checkstest.Run(t, "testdata/cases.yaml", all, func(t *testing.T, src string) map[string]int {
		img := buildSpec(t, src)
		var spec imageSpec
		yaml.Unmarshal([]byte(src), &spec)
		var fs []*vigilv1.Finding
		if spec.Signature != "" {
			src := signedSource(t, s, img, spec.Signature)
			defer func() { s.Verifier = nil }()
			rep, err := s.ScanRef(context.Background(), src.Name, "", OpenOptions{Insecure: true})
			if err != nil || len(rep.Errors) > 0 {
				t.Fatalf("scan: %v %v", err, rep.Errors)
			}
			fs = rep.Findings
		} else {
			var err error
			fs, _, err = s.Scan(context.Background(), Source{Name: "case:1", Image: img}, "")
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
		}
		out := map[string]int{}
		for _, f := range fs {
			out[f.CheckId]++
		}
		return out
	})
}
