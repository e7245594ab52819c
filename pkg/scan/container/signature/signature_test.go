package signature

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vigilsec/vigil/pkg/scan/container/signature/signtest"
)

func writeKey(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pub")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v, err := LoadKeys(writeKey(t, &ecKey.PublicKey), writeKey(t, edPub))
	if err != nil {
		t.Fatal(err)
	}
	push := func(repo string) (name.Reference, v1.Hash) {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(host + "/" + repo + ":1")
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return ref, d
	}
	cases := []struct {
		name string
		sign func(ref name.Reference, d v1.Hash)
		want Status
	}{
		{"unsigned", func(name.Reference, v1.Hash) {}, Unsigned},
		{"ecdsa", func(r name.Reference, d v1.Hash) { signtest.Sign(t, r, d, ecKey, signtest.Options{}) }, Verified},
		{"ed25519", func(r name.Reference, d v1.Hash) { signtest.Sign(t, r, d, edKey, signtest.Options{}) }, Verified},
		{"other key", func(r name.Reference, d v1.Hash) { signtest.Sign(t, r, d, otherKey, signtest.Options{}) }, Untrusted},
		{"altered signature bytes", func(r name.Reference, d v1.Hash) {
			signtest.Sign(t, r, d, edKey, signtest.Options{FlipSignatureBit: true})
		}, Untrusted},
		{"signature of another image", func(r name.Reference, d v1.Hash) {
			other, _ := v1.NewHash("sha256:" + strings.Repeat("ab", 32))
			signtest.Sign(t, r, d, ecKey, signtest.Options{PayloadDigest: &other})
		}, Invalid},
		{"not base64", func(r name.Reference, d v1.Hash) {
			signtest.Sign(t, r, d, ecKey, signtest.Options{RawAnnotation: "%%%"})
		}, Invalid},
		{"wrong payload type", func(r name.Reference, d v1.Hash) {
			signtest.Sign(t, r, d, ecKey, signtest.Options{PayloadType: "something else"})
		}, Invalid},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref, d := push("team/app" + string(rune('a'+i)))
			c.sign(ref, d)
			res, err := v.Verify(context.Background(), ref, d)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.want {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Detail, c.want)
			}
		})
	}
}

func TestLoadKeysRejects(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := LoadKeys(writeKey(t, &p384.PublicKey)); err == nil {
		t.Fatal("P-384 key accepted")
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	os.WriteFile(empty, []byte("no pem here"), 0o644)
	if _, err := LoadKeys(empty); err == nil || !strings.Contains(err.Error(), "empty.pem") {
		t.Fatalf("file without a key: %v", err)
	}
}
