// Package signtest signs images in a registry the way cosign does with a
// key, for tests: a simple-signing payload per signature layer, its
// signature in an annotation, under the tag sha256-<digest>.sig.
package signtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options alter a signature to test its verification.
type Options struct {
	// PayloadDigest signs another digest than the image's.
	PayloadDigest *v1.Hash
	// PayloadType replaces "cosign container image signature".
	PayloadType string
	// FlipSignatureBit alters the signature after signing.
	FlipSignatureBit bool
	// RawAnnotation replaces the base64 signature.
	RawAnnotation string
}

// Sign pushes a signature of digest, made with key (*ecdsa.PrivateKey or
// ed25519.PrivateKey), beside ref.
func Sign(t testing.TB, ref name.Reference, digest v1.Hash, key crypto.Signer, o Options) {
	t.Helper()
	signed := digest
	if o.PayloadDigest != nil {
		signed = *o.PayloadDigest
	}
	typ := "cosign container image signature"
	if o.PayloadType != "" {
		typ = o.PayloadType
	}
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":%q},"optional":null}`,
		ref.Context().String(), signed.String(), typ))
	var sig []byte
	var err error
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(payload)
		sig, err = ecdsa.SignASN1(rand.Reader, k, h[:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, payload)
	default:
		t.Fatalf("key type %T", key)
	}
	if err != nil {
		t.Fatal(err)
	}
	if o.FlipSignatureBit {
		sig[len(sig)-1] ^= 1
	}
	ann := base64.StdEncoding.EncodeToString(sig)
	if o.RawAnnotation != "" {
		ann = o.RawAnnotation
	}
	layer := static.NewLayer(payload, types.MediaType("application/vnd.dev.cosign.simplesigning.v1+json"))
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, Annotations: map[string]string{"dev.cosignproject.cosign/signature": ann}})
	if err != nil {
		t.Fatal(err)
	}
	tag := ref.Context().Tag(digest.Algorithm + "-" + digest.Hex + ".sig")
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}
