package image

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func visible(t *testing.T, img v1.Image, lim Limits) (map[string]string, error) {
	t.Helper()
	out := map[string]string{}
	err := Walk(img, lim, func(e *Entry, r io.Reader) error {
		if r != nil {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			out[e.Path] = string(b)
		} else {
			out[e.Path] = "<" + string(e.Type) + ">"
		}
		return nil
	})
	return out, err
}

func keys(m map[string]string) string {
	var k []string
	for p := range m {
		k = append(k, p)
	}
	sort.Strings(k)
	return strings.Join(k, " ")
}

func TestWalkAppliesWhiteouts(t *testing.T) {
	base := layerOf(t,
		file{Path: "etc/", Type: "dir"},
		file{Path: "etc/keep", Content: "base"},
		file{Path: "etc/gone", Content: "deleted above"},
		file{Path: "etc/replaced", Content: "old"},
		file{Path: "opt/app/old.txt", Content: "hidden by opaque"},
		file{Path: "srv/tree/a", Content: "hidden by deleted dir"},
		file{Path: "var/x/y", Content: "hidden: var/x becomes a file"},
		file{Path: "./usr/bin/tool", Content: "kept", Mode: 0o755},
	)
	upper := layerOf(t,
		file{Path: "etc/.wh.gone"},
		file{Path: "etc/replaced", Content: "new"},
		file{Path: "opt/app/", Type: "dir"},
		file{Path: "opt/app/.wh..wh..opq"},
		file{Path: "opt/app/new.txt", Content: "upper"},
		file{Path: "srv/.wh.tree"},
		file{Path: "var/x", Content: "a file now"},
	)
	got, err := visible(t, imageOf(t, v1.Config{}, nil, base, upper), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := "etc etc/keep etc/replaced opt opt/app opt/app/new.txt srv usr usr/bin usr/bin/tool var var/x"
	// Implicit parents (opt, srv, usr, var) have no entries of their own.
	for _, p := range []string{"opt", "srv", "usr", "usr/bin", "var"} {
		got[p] = "implicit"
	}
	if k := keys(got); k != want {
		t.Fatalf("visible paths\n got %s\nwant %s", k, want)
	}
	if got["etc/replaced"] != "new" || got["var/x"] != "a file now" {
		t.Fatalf("upper content not chosen: %q %q", got["etc/replaced"], got["var/x"])
	}
}

func TestWalkRefusesUnsafeLayers(t *testing.T) {
	bomb := gz(t, tarBytes(t, []file{{Path: "zeros", Content: string(make([]byte, 8<<20))}}))
	cases := map[string]v1.Layer{
		"dot-dot entry":        layerOf(t, file{Path: "../../etc/passwd", Content: "x"}),
		"dot-dot hard link":    layerOf(t, file{Path: "a", Type: "hardlink", Link: "../../etc/shadow"}),
		"escaping symlink":     layerOf(t, file{Path: "usr/link", Type: "symlink", Link: "../../../etc"}),
		"write through link":   layerOf(t, file{Path: "etc", Type: "symlink", Link: "/host/etc"}, file{Path: "etc/passwd", Content: "x"}),
		"decompression bomb":   layerFromTar(t, bomb),
		"entry count":          layerOf(t, file{Path: "a"}, file{Path: "b"}, file{Path: "c"}, file{Path: "d"}),
		"uncompressed too big": layerOf(t, file{Path: "big", Content: strings.Repeat("x", 3<<20)}),
	}
	lim := Limits{MaxEntries: 3, RatioFloor: 1 << 20, MaxRatio: 100, MaxLayerBytes: 2 << 20}
	for name, l := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := visible(t, imageOf(t, v1.Config{}, nil, l), lim)
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("err = %v, want ErrUnsafe", err)
			}
		})
	}
	// A symlink written by a lower layer under files of an upper one.
	lower := layerOf(t, file{Path: "data", Type: "symlink", Link: "/etc"})
	upper := layerOf(t, file{Path: "data/cron", Content: "x"})
	if _, err := visible(t, imageOf(t, v1.Config{}, nil, lower, upper), Limits{}); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("write through a lower layer's symlink: err = %v", err)
	}
	// Absolute symlinks inside the image are normal (Debian has many) and
	// are never followed out of it.
	ok := layerOf(t, file{Path: "etc/alternatives/awk", Type: "symlink", Link: "/usr/bin/mawk"}, file{Path: "usr/bin/mawk", Content: "x"})
	if _, err := visible(t, imageOf(t, v1.Config{}, nil, ok), Limits{}); err != nil {
		t.Fatalf("absolute symlink inside the image: %v", err)
	}
}

func TestWalkMemoryBoundedOnHugeEntry(t *testing.T) {
	// A header claiming 1 GiB with a short body: the reader fails on the
	// truncated stream instead of allocating the claimed size.
	tb := tarBytes(t, []file{{Path: "huge", Content: strings.Repeat("y", 1024)}})
	// Patch the size field (octal, offset 124, 12 bytes) to 1 GiB.
	copy(tb[124:136], []byte("10000000000\x00"))
	fixChecksum(tb[:512])
	_, err := visible(t, imageOf(t, v1.Config{}, nil, layerFromTar(t, tb)), Limits{})
	if err == nil {
		t.Fatal("truncated huge entry read without error")
	}
}

func fixChecksum(h []byte) {
	copy(h[148:156], bytes.Repeat([]byte(" "), 8))
	sum := 0
	for _, b := range h {
		sum += int(b)
	}
	copy(h[148:156], []byte(octal6(sum)+"\x00 "))
}

func octal6(n int) string {
	s := ""
	for i := 0; i < 6; i++ {
		s = string(rune('0'+n%8)) + s
		n /= 8
	}
	return s
}
