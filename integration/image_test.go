package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/scan/container/signature/signtest"
)

// TestRegistryImageThroughTheFleet pushes the example image to a registry
// on loopback, signs one copy with a trusted key, has an agent scan both
// copies and checks that the server holds what `vigil scan` reports, that
// the unsigned copy is reported, and that the planted secrets appear in no
// byte of the server's store, the NATS stream or any output.
func TestRegistryImageThroughTheFleet(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	idx, err := layout.ImageIndexFromPath(filepath.Join(examplesDir(), "images", "shop-api"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := idx.IndexManifest()
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := name.ParseReference(host + "/shop/api:1.4.2")
	unsigned, _ := name.ParseReference(host + "/shop/api-canary:1.4.2")
	for _, r := range []name.Reference{signed, unsigned} {
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest, _ := img.Digest()
	signtest.Sign(t, signed, digest, key, signtest.Options{})
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keyFile := filepath.Join(t.TempDir(), "trusted.pub")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)

	n := startNATS(t)
	s := startServer(t, n.url())
	flags := []string{"--insecure-registry", "--trusted-key", keyFile, "--image", signed.String(), "--image", unsigned.String()}
	agent := runAgent(t, n.url(), "shop", "reg-1", t.TempDir(), flags)
	if err := agent.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent: %v\n%s", err, agent.out.String())
	}

	local := localScanArgs(t, append([]string{"--tenant", "shop"}, flags...)...)
	unsignedFound := 0
	for _, f := range local.Findings {
		if f.CheckId == "VGL-CONTAINER-130" {
			unsignedFound++
			if !strings.Contains(f.Location.Path, "api-canary") {
				t.Errorf("signed image reported unsigned: %s", f.Location.Path)
			}
		}
	}
	if unsignedFound != 1 {
		t.Fatalf("unsigned findings: %d, want 1", unsignedFound)
	}
	// Both copies share a digest and so their fingerprints: vigil scan
	// reports each once, the server keeps it once per copy (its scope),
	// and the unsigned finding belongs to the canary copy alone.
	want := 2*len(local.Findings) - 1
	waitFor(t, time.Minute, "image findings on the server", func() bool {
		return len(s.listAll(&vigilv1.FindingFilter{Tenant: "shop"})) >= want
	})
	stored := s.listAll(&vigilv1.FindingFilter{Tenant: "shop"})
	if len(stored) != want {
		t.Fatalf("server holds %d findings, want %d", len(stored), want)
	}
	localFP := fingerprints(local.Findings)
	for _, f := range stored {
		if localFP[f.Finding.Fingerprint] == nil {
			t.Errorf("server has %s which vigil scan does not report", f.Finding.CheckId)
		}
		if f.Finding.Resource.GetUri() != digest.String() {
			t.Errorf("%s on %s, want the image digest", f.Finding.CheckId, f.Finding.Resource.GetUri())
		}
	}

	s.stop()
	n.stop()
	for _, secret := range []string{"AKIAZ3MXQ7RV2KLWT4NP", "9fK2mQx7LpZr4Tv8"} {
		for _, dir := range []string{s.dataDir, n.dir} {
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				data, _ := os.ReadFile(p)
				if bytes.Contains(data, []byte(secret)) {
					t.Errorf("%s holds the raw secret %s", p, secret)
				}
				return nil
			})
		}
		if strings.Contains(agent.out.String(), secret) || strings.Contains(s.p.out.String(), secret) {
			t.Errorf("a log holds the raw secret %s", secret)
		}
	}
}
