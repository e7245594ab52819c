package rpmdb

import (
	"bytes"
	"context"
	"os"
	"testing"
)

func FuzzParseHeader(f *testing.F) {
	blobs, err := readSQLite(context.Background(), fixture(f, "rpmdb.sqlite"))
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range blobs {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseHeader(b)
		if err == nil && (p.Name == "" || p.Version == "") {
			t.Fatalf("a header without a name or version parsed: %+v", p)
		}
	})
}

func FuzzBerkeley(f *testing.F) {
	for _, name := range []string{"Packages-overflow", "Packages-inline"} {
		data, err := os.ReadFile(fixture(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		blobs, _ := readBerkeley(context.Background(), bytes.NewReader(data), int64(len(data)))
		blobsFit(t, blobs, data)
	})
}

func FuzzNDB(f *testing.F) {
	blobs, err := readSQLite(context.Background(), fixture(f, "rpmdb.sqlite"))
	if err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(writeNDB(f, blobs))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		blobs, _ := readNDB(context.Background(), bytes.NewReader(data), int64(len(data)))
		blobsFit(t, blobs, data)
	})
}

// blobsFit fails when a reader returned more blob bytes than its file
// holds: every blob is a part of the file, copied once.
func blobsFit(t *testing.T, blobs [][]byte, data []byte) {
	total := 0
	for _, b := range blobs {
		total += len(b)
	}
	if total > len(data) {
		t.Fatalf("%d bytes of blobs out of a %d byte file", total, len(data))
	}
}
