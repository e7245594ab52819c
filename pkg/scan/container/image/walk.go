package image

import (
	"archive/tar"
	"cmp"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Limits bound what reading one image may cost. The zero value of a field
// means its default.
type Limits struct {
	// MaxEntries is the most tar entries read over all layers (default 2,000,000).
	MaxEntries int
	// MaxLayerBytes is the most uncompressed bytes one layer may hold
	// (default 32 GiB).
	MaxLayerBytes int64
	// MaxRatio is the highest uncompressed-to-compressed size ratio a layer
	// may reach once it is past RatioFloor bytes (default 200); past it the
	// layer is treated as a decompression bomb.
	MaxRatio int64
	// RatioFloor is the uncompressed size from which MaxRatio applies
	// (default 512 MiB): small layers of zeros are normal.
	RatioFloor int64
	// MaxFileBytes is the largest file whose content is read (default 64 MiB).
	MaxFileBytes int64
	// MaxBinaryBytes is the largest executable read for Go build
	// information (default 256 MiB).
	MaxBinaryBytes int64
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 2_000_000
	}
	def(&l.MaxLayerBytes, 32<<30)
	def(&l.MaxRatio, 200)
	def(&l.RatioFloor, 512<<20)
	def(&l.MaxFileBytes, 64<<20)
	def(&l.MaxBinaryBytes, 256<<20)
	return l
}

// ErrUnsafe marks an image whose layers try to escape the image root or
// exhaust the reader: it is reported and not scanned further.
var ErrUnsafe = errors.New("unsafe image content")

// Entry is one file, directory or link of an image's merged filesystem.
type Entry struct {
	// Path is relative to the image root, slash-separated, without a
	// leading slash ("usr/bin/su").
	Path string
	Type byte // tar type flag
	Mode int64
	Size int64
	UID  int
	GID  int
	// Link is the target of a symlink or hard link.
	Link string
	// Layer is the index of the layer that provides the entry (0 is the base).
	Layer int
}

// Regular reports whether the entry is a regular file.
func (e *Entry) Regular() bool { return e.Type == tar.TypeReg || e.Type == tar.TypeRegA }

// Visitor sees each entry of the merged filesystem once, with its content
// when it is a regular file. It may read the content or leave it.
type Visitor func(e *Entry, content io.Reader) error

// shadow records what upper layers decided about a path.
type shadow uint8

const (
	shadowFile     shadow = iota + 1 // an upper layer has a file or link here
	shadowDir                        // an upper layer has this directory
	shadowImplicit                   // an upper layer has entries below this path but no entry for it
	shadowDeleted                    // whited out: hidden with everything below
	shadowOpaque                     // directory made opaque: lower contents hidden
)

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Walk visits the merged filesystem of img, layers applied with their
// whiteouts, reading each layer once as a stream and extracting nothing.
// Layers are read from the top down, so an entry is visited only if no
// upper layer replaced or deleted it. A layer that escapes the root, writes
// through a symlink or exceeds the limits stops the walk with ErrUnsafe.
func Walk(img v1.Image, lim Limits, visit Visitor) error {
	lim = lim.withDefaults()
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("layers: %w", err)
	}
	state := map[string]shadow{}
	entries := 0
	for i := len(layers) - 1; i >= 0; i-- {
		if err := walkLayer(layers[i], i, lim, state, &entries, visit); err != nil {
			return err
		}
	}
	return nil
}

// hidden reports whether upper layers replace or delete p: an entry of
// their own at p, or a deleted, opaque or non-directory ancestor.
func hidden(state map[string]shadow, p string) bool {
	if s, ok := state[p]; ok && s != shadowImplicit {
		return true
	}
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		switch state[dir] {
		case shadowDeleted, shadowOpaque, shadowFile:
			return true
		}
	}
	return false
}

func walkLayer(l v1.Layer, index int, lim Limits, state map[string]shadow, entries *int, visit Visitor) error {
	digest, _ := l.Digest()
	where := fmt.Sprintf("layer %d (%s)", index, digest)
	compressed, err := l.Size()
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	defer rc.Close()
	counter := &countingReader{r: rc, lim: lim, compressed: compressed, where: where}
	tr := tar.NewReader(counter)
	lw := &layerWalk{where: where, state: state, layer: map[string]shadow{}, links: map[string]bool{}}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return cmp.Or(counter.err, fmt.Errorf("%s: %w", where, err))
		}
		*entries++
		if *entries > lim.MaxEntries {
			return fmt.Errorf("%w: %s: more than %d entries", ErrUnsafe, where, lim.MaxEntries)
		}
		p, err := lw.entry(hdr)
		if err != nil {
			return err
		}
		if p == "" {
			continue
		}
		e := &Entry{Path: p, Type: hdr.Typeflag, Mode: hdr.Mode, Size: hdr.Size, UID: hdr.Uid, GID: hdr.Gid, Link: hdr.Linkname, Layer: index}
		var content io.Reader
		if e.Regular() && !sparse(hdr) {
			// Sparse entries are not read: their holes would expand to
			// their claimed size without costing the stream anything.
			content = tr
		}
		if err := visit(e, content); err != nil {
			return cmp.Or(counter.err, err)
		}
	}
	if counter.err != nil {
		return counter.err
	}
	for p, s := range lw.layer {
		if old, ok := state[p]; ok && old != shadowImplicit {
			continue // an upper layer's decision stands
		}
		state[p] = s
	}
	return nil
}

// layerWalk is the walk of one layer. What the layer decides about paths
// (layer) is merged into state, the upper layers' decisions, once the
// layer is done: a layer's whiteouts hide only lower layers.
type layerWalk struct {
	where string
	state map[string]shadow
	layer map[string]shadow
	links map[string]bool // symlinks of this layer
}

// entry reads one tar entry: the path to visit, "" for an entry that is
// not visited (the root, a whiteout, an opaque marker, a path an upper
// layer hides, a duplicate), or ErrUnsafe.
func (lw *layerWalk) entry(hdr *tar.Header) (string, error) {
	p, err := cleanPath(hdr.Name)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrUnsafe, lw.where, err)
	}
	if p == "" {
		return "", nil // the root itself
	}
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if lw.links[dir] {
			return "", fmt.Errorf("%w: %s: entry %q is written through the symlink %q", ErrUnsafe, lw.where, p, dir)
		}
	}
	base, dir := path.Base(p), path.Dir(p)
	if base == opaqueMarker {
		if dir != "." {
			lw.layer[dir] = shadowOpaque
		}
		return "", nil
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		target := path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
		if _, ok := lw.layer[target]; !ok {
			lw.layer[target] = shadowDeleted
		}
		return "", nil
	}
	if err := lw.link(hdr, p, dir); err != nil {
		return "", err
	}
	if hidden(lw.state, p) || !lw.record(p, hdr.Typeflag == tar.TypeDir) {
		// An explicit directory entry in an upper layer does not hide
		// the lower directory's children; nothing new is recorded.
		return "", nil
	}
	return p, nil
}

// link refuses hard links and symlinks that lead out of the image root,
// and symlinks an upper layer wrote files through.
func (lw *layerWalk) link(hdr *tar.Header, p, dir string) error {
	switch hdr.Typeflag {
	case tar.TypeLink:
		if _, err := cleanPath(hdr.Linkname); err != nil {
			return fmt.Errorf("%w: %s: hard link %q: %v", ErrUnsafe, lw.where, p, err)
		}
	case tar.TypeSymlink:
		if !path.IsAbs(hdr.Linkname) {
			if _, err := cleanPath(path.Join(dir, hdr.Linkname)); err != nil {
				return fmt.Errorf("%w: %s: symlink %q -> %q escapes the image root", ErrUnsafe, lw.where, p, hdr.Linkname)
			}
		}
		// An upper layer wrote files below this path without making it a
		// directory of its own: unpacked in order, they would be written
		// through the link.
		if lw.state[p] == shadowImplicit {
			return fmt.Errorf("%w: %s: symlink %q has files written through it by an upper layer", ErrUnsafe, lw.where, p)
		}
		lw.links[p] = true
	}
	return nil
}

// record notes what the layer holds at p and its parents; false for a
// later duplicate in the same layer (the first is kept).
func (lw *layerWalk) record(p string, isDir bool) bool {
	switch prev := lw.layer[p]; {
	case prev == shadowFile || prev == shadowDir:
		return false
	case prev == shadowOpaque:
		// the directory's opaque marker came first; it stays opaque
	case isDir:
		lw.layer[p] = shadowDir
	default:
		lw.layer[p] = shadowFile
	}
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if _, ok := lw.layer[d]; ok {
			break
		}
		lw.layer[d] = shadowImplicit
	}
	return true
}

// sparse reports whether a tar entry is a GNU or PAX sparse file.
func sparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// cleanPath turns a tar entry name into a root-relative path and rejects
// names that climb out of the root.
func cleanPath(name string) (string, error) {
	p := path.Clean("/" + strings.TrimPrefix(name, "./"))
	raw := path.Clean(strings.TrimPrefix(name, "/"))
	if raw == ".." || strings.HasPrefix(raw, "../") {
		return "", fmt.Errorf("path %q climbs out of the image root", name)
	}
	if strings.Contains(name, "\x00") {
		return "", fmt.Errorf("path %q holds a NUL byte", name)
	}
	return strings.TrimPrefix(p, "/"), nil
}

// countingReader stops a layer stream that grows past the limits.
type countingReader struct {
	r          io.Reader
	n          int64
	lim        Limits
	compressed int64
	where      string
	err        error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case c.n > c.lim.MaxLayerBytes:
		c.err = fmt.Errorf("%w: %s: more than %d uncompressed bytes", ErrUnsafe, c.where, c.lim.MaxLayerBytes)
	case c.n > c.lim.RatioFloor && c.compressed > 0 && c.n/c.compressed > c.lim.MaxRatio:
		c.err = fmt.Errorf("%w: %s: decompression bomb: %d compressed bytes expand past %d", ErrUnsafe, c.where, c.compressed, c.n)
	}
	if c.err != nil {
		return n, c.err
	}
	return n, err
}
