// Package image reads container images (OCI layout folders, `docker save`
// tarballs and registries) and scans their configuration and contents,
// layer by layer, without extracting anything to disk.
package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Source is one image found behind a reference, with the name it is
// reported under.
type Source struct {
	// Name is the reference the image was asked for, with the tag or
	// index position that picked it ("oci:dir@sha256:…", "app:1.2").
	Name  string
	Image v1.Image
	// Ref is the registry reference when the image came from a registry;
	// signatures are looked up beside it.
	Ref name.Reference
	// Options reach the registry again for signatures.
	Options []remote.Option
}

// Transport prefixes of image references. A reference without one is a
// registry reference, or a layout folder or tarball when it names a path
// that exists.
const (
	TransportLayout  = "oci:"
	TransportArchive = "docker-archive:"
	TransportRemote  = "registry:"
)

// OpenOptions configure how references are resolved.
type OpenOptions struct {
	// Platform picks the image of a multi-platform index ("linux/amd64",
	// the default). Layout folders with several images give all of them.
	Platform string
	// Insecure allows plain HTTP registries (loopback test registries).
	Insecure bool
	// Keychain supplies registry credentials; the docker config
	// (~/.docker/config.json, DOCKER_CONFIG) when nil.
	Keychain authn.Keychain
}

// IsReference reports whether target names an image rather than a file
// tree: a transport prefix, or a path holding an OCI layout.
func IsReference(target string) bool {
	for _, p := range []string{TransportLayout, TransportArchive, TransportRemote} {
		if strings.HasPrefix(target, p) {
			return true
		}
	}
	return IsLayout(target)
}

// AsTarget makes a reference an image target that IsReference accepts:
// prefixed references stay, an existing folder is a layout, an existing
// file a tarball, anything else a registry image.
func AsTarget(ref string) string {
	if IsReference(ref) {
		return ref
	}
	if st, err := os.Stat(ref); err == nil {
		if st.IsDir() {
			return TransportLayout + ref
		}
		return TransportArchive + ref
	}
	return TransportRemote + ref
}

// IsLayout reports whether dir is an OCI image layout folder.
func IsLayout(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "oci-layout"))
	return err == nil && st.Mode().IsRegular()
}

// Open resolves a reference to its images.
func Open(ctx context.Context, ref string, opts OpenOptions) ([]Source, error) {
	switch {
	case strings.HasPrefix(ref, TransportLayout):
		return openLayout(strings.TrimPrefix(ref, TransportLayout), opts)
	case strings.HasPrefix(ref, TransportArchive):
		return openArchive(strings.TrimPrefix(ref, TransportArchive))
	case strings.HasPrefix(ref, TransportRemote):
		return openRemote(ctx, strings.TrimPrefix(ref, TransportRemote), opts)
	}
	if st, err := os.Stat(ref); err == nil {
		if st.IsDir() {
			return openLayout(ref, opts)
		}
		return openArchive(ref)
	}
	return openRemote(ctx, ref, opts)
}

func platform(opts OpenOptions) (*v1.Platform, error) {
	s := opts.Platform
	if s == "" {
		s = "linux/amd64"
	}
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", s, err)
	}
	return p, nil
}

// openLayout returns the images of an OCI layout: every image its index
// names, nested indexes narrowed to the platform.
func openLayout(dir string, opts OpenOptions) ([]Source, error) {
	if !IsLayout(dir) {
		return nil, fmt.Errorf("%s: not an OCI image layout (no oci-layout file)", dir)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	plat, err := platform(opts)
	if err != nil {
		return nil, err
	}
	var out []Source
	var walk func(idx v1.ImageIndex, depth int) error
	walk = func(idx v1.ImageIndex, depth int) error {
		if depth > 4 {
			return fmt.Errorf("indexes nested more than 4 deep")
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range m.Manifests {
			switch {
			case d.MediaType.IsIndex():
				child, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return fmt.Errorf("index %s: %w", d.Digest, err)
				}
				if err := walk(child, depth+1); err != nil {
					return err
				}
			case d.MediaType.IsImage():
				if depth > 0 && d.Platform != nil && !d.Platform.Satisfies(*plat) {
					continue
				}
				img, err := idx.Image(d.Digest)
				if err != nil {
					return fmt.Errorf("image %s: %w", d.Digest, err)
				}
				name := TransportLayout + filepath.ToSlash(filepath.Clean(dir)) + "@" + d.Digest.String()
				if tag := d.Annotations["org.opencontainers.image.ref.name"]; tag != "" {
					name = TransportLayout + filepath.ToSlash(filepath.Clean(dir)) + ":" + tag
				}
				out = append(out, Source{Name: name, Image: img})
			}
		}
		return nil
	}
	if err := walk(idx, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no image for %s in the layout", dir, plat)
	}
	return out, nil
}

// openArchive returns the images of a `docker save` tarball, one per
// manifest entry.
func openArchive(file string) ([]Source, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(file) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("%s: not a docker save tarball: %w", file, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s: the tarball's manifest.json lists no image", file)
	}
	var out []Source
	for i, d := range m {
		var tag *name.Tag
		label := fmt.Sprintf("%s#%d", filepath.ToSlash(filepath.Clean(file)), i)
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("%s: tag %q: %w", file, d.RepoTags[0], err)
			}
			tag = &t
			label = d.RepoTags[0]
		} else if len(m) > 1 {
			return nil, fmt.Errorf("%s: image %d has no tag to pick it by", file, i)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out = append(out, Source{Name: TransportArchive + filepath.ToSlash(filepath.Clean(file)) + ":" + label, Image: img})
	}
	return out, nil
}

// openRemote pulls the manifest of a registry image (layers are fetched as
// they are read), picking the platform from an index.
func openRemote(ctx context.Context, ref string, opts OpenOptions) ([]Source, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	plat, err := platform(opts)
	if err != nil {
		return nil, err
	}
	kc := opts.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithPlatform(*plat)}
	img, err := remote.Image(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return []Source{{Name: ref, Image: img, Ref: r, Options: ropts}}, nil
}
