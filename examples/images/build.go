//go:build ignore

// Command build writes the example images of this folder as OCI layouts:
// go run ./examples/images/build.go. The output is committed; it is
// deterministic, so running it again changes nothing.
package main

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type entry struct {
	path, content string
	mode          int64
	dir           bool
}

func layer(entries ...entry) v1.Layer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.path, Mode: e.mode, Typeflag: tar.TypeReg, Size: int64(len(e.content))}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			log.Fatal(err)
		}
		io.WriteString(tw, e.content)
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func main() {
	dir := filepath.Join("examples", "images", "shop-api")
	base := layer(
		entry{path: "etc/os-release", content: "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"},
		entry{path: "lib/apk/db/installed", content: "P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\nP:busybox\nV:1.36.1-r28\nA:x86_64\no:busybox\n\nP:libcrypto3\nV:3.3.1-r0\nA:x86_64\no:openssl\n\n"},
		entry{path: "bin/bbsuid", content: "suid helper", mode: 0o4755},
	)
	app := layer(
		entry{path: "srv/", dir: true, mode: 0o755},
		entry{path: "srv/uploads/", dir: true, mode: 0o777},
		entry{path: "srv/app/package-lock.json", content: `{"name":"shop-api","lockfileVersion":3,"packages":{"":{"dependencies":{"lodash":"^4.17.0","express":"^4.18.0"}},"node_modules/lodash":{"version":"4.17.20"},"node_modules/express":{"version":"4.18.2"}}}`},
		// Fake credential, in the format of AWS's documentation examples.
		entry{path: "srv/app/.env", content: "NODE_ENV=production\nAWS_ACCESS_KEY_ID=AKIAZ3MXQ7RV2KLWT4NP\n"},
	)
	img, err := mutate.AppendLayers(empty.Image, base, app)
	if err != nil {
		log.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SESSION_SECRET=9fK2mQx7LpZr4Tv8"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "22/tcp": {}},
		Cmd:          []string{"node", "/srv/app/server.js"},
		WorkingDir:   "/srv/app",
	}
	cf.History = []v1.History{{CreatedBy: "/bin/sh -c #(nop) ADD file:base in /"}, {CreatedBy: "/bin/sh -c curl -fsSL https://deb.example.com/setup.sh | sh"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		log.Fatal(err)
	}
	os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "1.4.2"})); err != nil {
		log.Fatal(err)
	}
}
