package image

import (
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func FuzzParseDpkgStatus(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\nSource: b (1.0)\nVersion: 1.0-1\n\n"))
	f.Add([]byte(" leading continuation\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range mustNotPanic(parseDpkgStatus("status", data)) {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}

func FuzzParseApkInstalled(f *testing.F) {
	f.Add([]byte("P:musl\nV:1.2.5-r0\no:musl\n\nP:x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range mustNotPanic(parseApkInstalled("installed", data)) {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}

func mustNotPanic(p []Package, _ error) []Package { return p }

func FuzzOSRelease(f *testing.F) {
	f.Add([]byte("ID=alpine\nVERSION_ID=3.20.1\n"))
	f.Fuzz(func(t *testing.T, data []byte) { _ = parseOSRelease(data).Ecosystem() })
}

// FuzzWalk reads arbitrary bytes as an uncompressed layer: errors are
// fine, panics and unbounded reads are not.
func FuzzWalk(f *testing.F) {
	f.Add(tarBytes(f, []file{{Path: "etc/.wh.x"}, {Path: "a/b", Content: "c"}, {Path: "l", Type: "symlink", Link: "../x"}}))
	f.Add([]byte("not a tar stream"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img := imageOf(t, v1.Config{}, nil, layerFromTar(t, data))
		_ = Walk(img, Limits{MaxEntries: 1000, MaxLayerBytes: 1 << 20}, func(e *Entry, r io.Reader) error {
			if r != nil {
				_, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
				return err
			}
			return nil
		})
	})
}
