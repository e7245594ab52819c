package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// file is one tar entry of a test layer.
type file struct {
	Path    string `json:"path"`
	Mode    int64  `json:"mode"`
	Content string `json:"content"`
	// Type is "dir", "symlink", "hardlink" or "" for a regular file.
	Type string `json:"type"`
	Link string `json:"link"`
	// Size overrides the header size (to claim more than the content).
	Size int64 `json:"size"`
}

// tarBytes writes entries as an uncompressed tar stream.
func tarBytes(t testing.TB, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Mode: f.Mode, Linkname: f.Link, Format: tar.FormatPAX}
		switch f.Type {
		case "dir":
			h.Typeflag = tar.TypeDir
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case "symlink":
			h.Typeflag = tar.TypeSymlink
			h.Mode = 0o777
		case "hardlink":
			h.Typeflag = tar.TypeLink
		default:
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.Content))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.Content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerOf builds a gzip-compressed layer from entries.
func layerOf(t testing.TB, files ...file) v1.Layer {
	t.Helper()
	return layerFromTar(t, tarBytes(t, files))
}

func layerFromTar(t testing.TB, tb []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func gz(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// imageOf stacks layers (base first) under a configuration.
func imageOf(t testing.TB, cfg v1.Config, history []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", "amd64"
	for _, h := range history {
		cf.History = append(cf.History, v1.History{CreatedBy: h})
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
