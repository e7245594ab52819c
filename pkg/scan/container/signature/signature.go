// Package signature verifies key-based image signatures in the cosign
// format: a manifest tagged "sha256-<digest>.sig" beside the image in its
// repository, whose layers are simple-signing payloads naming the image's
// manifest digest, each with its base64 signature in an annotation.
package signature

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Cosign's names for the parts of a signature.
const (
	// AnnotationSignature holds a layer's base64 signature.
	AnnotationSignature = "dev.cosignproject.cosign/signature"
	// PayloadMediaType is the media type of a simple-signing payload layer.
	PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// PayloadType is the critical.type of a cosign signature payload.
	PayloadType = "cosign container image signature"
)

// MaxPayloadBytes bounds one signature payload.
const MaxPayloadBytes = 64 << 10

// Status is the outcome of verifying an image.
type Status int

const (
	// Verified: a trusted key signed this image's digest.
	Verified Status = iota + 1
	// Unsigned: the repository holds no signature for the digest.
	Unsigned
	// Invalid: a signature is malformed or signs another digest.
	Invalid
	// Untrusted: well-formed signatures for the digest that no trusted
	// key verifies (another signer, or altered signature bytes).
	Untrusted
)

func (s Status) String() string {
	switch s {
	case Verified:
		return "verified"
	case Unsigned:
		return "unsigned"
	case Invalid:
		return "invalid"
	case Untrusted:
		return "untrusted"
	}
	return "unknown"
}

// Result is a status with the reason.
type Result struct {
	Status Status
	Detail string
}

// Verifier checks signatures against trusted public keys.
type Verifier struct {
	Keys []crypto.PublicKey
}

// LoadKeys reads PEM public keys (PKIX "PUBLIC KEY" blocks, ECDSA P-256 or
// Ed25519), any number per file.
func LoadKeys(paths ...string) (*Verifier, error) {
	v := &Verifier{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("trusted key: %w", err)
		}
		n := 0
		for {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			if b.Type != "PUBLIC KEY" {
				continue
			}
			k, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("trusted key %s: %w", p, err)
			}
			if err := supported(k); err != nil {
				return nil, fmt.Errorf("trusted key %s: %w", p, err)
			}
			v.Keys = append(v.Keys, k)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("trusted key %s: no PEM PUBLIC KEY block", p)
		}
	}
	return v, nil
}

func supported(k crypto.PublicKey) error {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("ECDSA key on %s; only P-256 is supported", k.Curve.Params().Name)
		}
		return nil
	case ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("key type %T is not supported (want ECDSA P-256 or Ed25519)", k)
}

// Tag is where cosign stores the signatures of digest in repo.
func Tag(repo name.Repository, digest v1.Hash) name.Tag {
	return repo.Tag(digest.Algorithm + "-" + digest.Hex + ".sig")
}

// payload is the simple-signing document a signature covers.
type payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
}

// Verify looks up the signatures of digest beside ref and checks them. An
// error means the registry could not be asked (the status is unknown).
func (v *Verifier) Verify(ctx context.Context, ref name.Reference, digest v1.Hash, opts ...remote.Option) (Result, error) {
	tag := Tag(ref.Context(), digest)
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	sig, err := remote.Image(tag, opts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return Result{Unsigned, "no signature " + tag.String()}, nil
		}
		return Result{}, fmt.Errorf("signatures %s: %w", tag, err)
	}
	m, err := sig.Manifest()
	if err != nil {
		return Result{}, fmt.Errorf("signatures %s: %w", tag, err)
	}
	if len(m.Layers) == 0 {
		return Result{Unsigned, tag.String() + " holds no signature"}, nil
	}
	var invalid []string
	untrusted := 0
	for i, d := range m.Layers {
		why, ok, err := v.check(sig, d, digest)
		if err != nil {
			return Result{}, fmt.Errorf("signature %d of %s: %w", i, tag, err)
		}
		switch {
		case ok:
			return Result{Verified, fmt.Sprintf("signature %d of %s verified", i, tag)}, nil
		case why != "":
			invalid = append(invalid, fmt.Sprintf("signature %d: %s", i, why))
		default:
			untrusted++
		}
	}
	if untrusted > 0 {
		return Result{Untrusted, fmt.Sprintf("%d signature(s) in %s for %s, none made by a trusted key", untrusted, tag, digest)}, nil
	}
	return Result{Invalid, fmt.Sprint(invalid)}, nil
}

// check verifies one signature layer: ok when a trusted key verifies a
// payload for digest; why says what makes it invalid; neither means a
// well-formed signature no trusted key made.
func (v *Verifier) check(sig v1.Image, d v1.Descriptor, digest v1.Hash) (why string, ok bool, err error) {
	if d.MediaType != PayloadMediaType {
		return fmt.Sprintf("media type %q is not a simple-signing payload", d.MediaType), false, nil
	}
	if d.Size > MaxPayloadBytes {
		return fmt.Sprintf("payload of %d bytes is over %d", d.Size, MaxPayloadBytes), false, nil
	}
	b64, found := d.Annotations[AnnotationSignature]
	if !found {
		return "no signature annotation", false, nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "signature is not base64", false, nil
	}
	l, err := sig.LayerByDigest(d.Digest)
	if err != nil {
		return "", false, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return "", false, err
	}
	defer rc.Close()
	// Reading to the end makes the registry client check the blob against
	// its digest; an altered payload fails here.
	body, err := io.ReadAll(io.LimitReader(rc, MaxPayloadBytes+1))
	if err != nil {
		return "payload does not match its digest: " + err.Error(), false, nil
	}
	if h := sha256.Sum256(body); fmt.Sprintf("sha256:%x", h) != d.Digest.String() {
		return "payload does not match its digest", false, nil
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return "payload is not JSON", false, nil
	}
	if p.Critical.Type != PayloadType {
		return fmt.Sprintf("payload type %q is not %q", p.Critical.Type, PayloadType), false, nil
	}
	if p.Critical.Image.DockerManifestDigest != digest.String() {
		return fmt.Sprintf("payload signs %s, not this image (%s)", p.Critical.Image.DockerManifestDigest, digest), false, nil
	}
	for _, k := range v.Keys {
		if verify(k, body, raw) {
			return "", true, nil
		}
	}
	return "", false, nil
}

func verify(k crypto.PublicKey, msg, sig []byte) bool {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		h := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(k, h[:], sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	}
	return false
}
