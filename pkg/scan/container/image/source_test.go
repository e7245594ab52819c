package image

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// debianImage is a small Debian-like image with a vulnerable package, a Go
// binary (the test binary itself) and a planted secret.
func debianImage(t testing.TB) v1.Image {
	t.Helper()
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	status := "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u1)\nVersion: 3.0.11-1~deb12u1+b1\nDescription: TLS\n multi-line description\n\n" +
		"Package: oldpkg\nStatus: deinstall ok config-files\nVersion: 1.0\n\n" +
		"Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\n"
	base := layerOf(t,
		file{Path: "usr/lib/os-release", Content: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"},
		file{Path: "etc/os-release", Type: "symlink", Link: "../usr/lib/os-release"},
		file{Path: "var/lib/dpkg/status", Content: status},
		file{Path: "var/lib/dpkg/status.d/tzdata", Content: "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"},
		file{Path: "usr/bin/su", Mode: 0o4755, Content: "not really su"},
	)
	app := layerOf(t,
		file{Path: "app/server", Mode: 0o755, Content: string(self)},
		file{Path: "app/config.yaml", Content: "db:\n  url: postgres://app:Sup3rS3cretPw@db:5432/app\n"},
	)
	return imageOf(t, v1.Config{User: "app", Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/app/server", "-health"}}}, nil, base, app)
}

func TestInventoryOfDebianImage(t *testing.T) {
	s := testScanner(t)
	fs, a, err := s.Scan(context.Background(), Source{Name: "app:1", Image: debianImage(t)}, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Errors) > 0 {
		t.Fatalf("errors: %v", a.Errors)
	}
	if a.Inventory.OS.Ecosystem() != "Debian:12" {
		t.Fatalf("os = %+v", a.Inventory.OS)
	}
	byName := map[string]Package{}
	for _, p := range a.Inventory.Packages {
		byName[p.Name] = p
	}
	ssl := byName["libssl3"]
	if ssl.Source != "openssl" || ssl.SourceVersion != "3.0.11-1~deb12u1" || ssl.Version != "3.0.11-1~deb12u1+b1" || ssl.Ecosystem != "Debian:12" {
		t.Fatalf("libssl3 = %+v", ssl)
	}
	if _, ok := byName["oldpkg"]; ok {
		t.Fatal("a package with only config files left is listed as installed")
	}
	if byName["tzdata"].Version == "" || byName["base-files"].Version == "" {
		t.Fatal("status.d entry or last paragraph without blank line missed")
	}
	if p := byName["stdlib"]; p.Type != "golang" || p.Path != "/app/server" || !strings.HasPrefix(p.Version, "v1.") {
		t.Fatalf("Go binary's standard library = %+v", p)
	}
	checks := map[string][]string{}
	for _, f := range fs {
		checks[f.CheckId] = append(checks[f.CheckId], f.Message)
		if f.CheckId == CheckVulnOS && (f.Package.GetName() != "libssl3" || f.Package.GetFixedVersion() != "3.0.11-1~deb12u2" || f.Package.GetVersion() == "") {
			t.Errorf("openssl finding's package = %v", f.Package)
		}
		if strings.Contains(f.Location.Snippet, "Sup3rS3cretPw") || strings.Contains(f.Message, "Sup3rS3cretPw") {
			t.Fatalf("secret leaked into finding: %v", f)
		}
	}
	for _, id := range []string{CheckVulnOS, CheckVulnApp, CheckSetuid, CheckSecretFile} {
		if len(checks[id]) == 0 {
			t.Errorf("%s not reported; got %v", id, checks)
		}
	}
	if m := checks[CheckVulnOS]; len(m) != 1 || !strings.Contains(m[0], "fixed in 3.0.11-1~deb12u2") {
		t.Errorf("openssl finding = %v", m)
	}
	if _, ok := checks["VGL-CONTAINER-101"]; ok {
		t.Error("image with USER app reported as root")
	}
}

func TestImageAnalyzedOncePerDigest(t *testing.T) {
	s := testScanner(t)
	img := debianImage(t)
	a1, _, err := s.Scan(context.Background(), Source{Name: "registry.example/app:1", Image: img}, "acme")
	if err != nil {
		t.Fatal(err)
	}
	a2, _, err := s.Scan(context.Background(), Source{Name: "registry.example/app:latest", Image: img}, "acme")
	if err != nil {
		t.Fatal(err)
	}
	_, x, _ := s.Scan(context.Background(), Source{Name: "x", Image: img}, "acme")
	_, y, _ := s.Scan(context.Background(), Source{Name: "y", Image: img}, "acme")
	if x != y {
		t.Fatal("second scan of the same digest read the image again")
	}
	fp := map[string]bool{}
	for _, f := range a1 {
		fp[f.Fingerprint] = true
	}
	for _, f := range a2 {
		if !fp[f.Fingerprint] {
			t.Fatalf("same image under another tag gives a new fingerprint for %s", f.CheckId)
		}
	}
}

func TestOpenLayoutArchiveAndRegistry(t *testing.T) {
	ctx := context.Background()
	img := debianImage(t)
	digest, _ := img.Digest()
	dir := t.TempDir()

	// OCI layout with two images, one broken by an unsafe layer.
	bad := imageOf(t, v1.Config{}, nil, layerOf(t, file{Path: "../escape", Content: "x"}))
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "1.0"})); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(bad); err != nil {
		t.Fatal(err)
	}
	if !IsReference(filepath.Join(dir, "layout")) {
		t.Fatal("layout folder not recognised")
	}
	s := testScanner(t)
	rep, err := s.ScanRef(ctx, filepath.Join(dir, "layout"), "", OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 1 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error, "climbs out of the image root") {
		t.Fatalf("layout: %d images, errors %v", len(rep.Images), rep.Errors)
	}
	if !strings.HasSuffix(rep.Images[0].Source.Name, ":1.0") {
		t.Fatalf("layout image name %q", rep.Images[0].Source.Name)
	}

	// docker save tarball.
	tag, _ := name.NewTag("registry.example/app:1.0")
	tarPath := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
		t.Fatal(err)
	}
	srcs, err := Open(ctx, TransportArchive+tarPath, OpenOptions{})
	if err != nil || len(srcs) != 1 {
		t.Fatalf("archive: %v %d", err, len(srcs))
	}
	if d, _ := srcs[0].Image.Digest(); d != digest {
		t.Fatalf("archive digest %s, want %s", d, digest)
	}
	if _, err := Open(ctx, TransportArchive+filepath.Join(dir, "layout", "index.json"), OpenOptions{}); err == nil {
		t.Fatal("a file that is no tarball opened")
	}

	// In-process registry over loopback.
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, _ := name.ParseReference(host + "/team/app:1.0")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	rep, err = s.ScanRef(ctx, host+"/team/app:1.0", "", OpenOptions{Insecure: true})
	if err != nil || len(rep.Images) != 1 {
		t.Fatalf("registry: %v", err)
	}
	if rep.Images[0].Analysis.Digest != digest.String() {
		t.Fatal("registry image has another digest")
	}
	if _, err := Open(ctx, host+"/team/missing:1.0", OpenOptions{Insecure: true}); err == nil {
		t.Fatal("missing image opened")
	}
	if _, err := Open(ctx, "Not A Reference!", OpenOptions{}); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("bad reference: %v", err)
	}
}
