package rpmdb

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture decompresses testdata/name into a temporary file.
func fixture(t testing.TB, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// want is what every fixture holds.
var want = []string{
	"bash 5.1.8-6.el9 noarch src=bash",
	"openssl 1:3.0.7-24.el9 noarch src=openssl",
	"openssl-libs 1:3.0.7-24.el9 noarch src=openssl",
}

func describe(ps []Package) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+" "+p.EVR()+" "+p.Arch+" src="+p.SourceName())
	}
	slices.Sort(out)
	return out
}

func TestOpenEachFormat(t *testing.T) {
	sqlitePath := fixture(t, "rpmdb.sqlite")
	blobs, err := readSQLite(context.Background(), sqlitePath)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		path   string
		format Format
	}{
		{"sqlite", sqlitePath, SQLite},
		{"berkeley overflow pages", fixture(t, "Packages-overflow"), Berkeley},
		{"berkeley inline items", fixture(t, "Packages-inline"), Berkeley},
		{"ndb", writeNDB(t, blobs), NDB},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := Open(context.Background(), c.path, c.format)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(ps); !slices.Equal(got, want) {
				t.Errorf("got %q\nwant %q", got, want)
			}
		})
	}
}

func TestInlineFixtureHoldsInlineItems(t *testing.T) {
	// The inline fixture is only worth having if its blobs are not on
	// overflow pages: no page of it may be one.
	data, err := os.ReadFile(fixture(t, "Packages-inline"))
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 8192
	for n := pageSize; n+pageSize <= len(data); n += pageSize {
		if data[n+25] == bdbPageOverflow {
			t.Fatalf("page %d is an overflow page", n/pageSize)
		}
	}
}

func TestFormatOf(t *testing.T) {
	for p, want := range map[string]Format{
		"var/lib/rpm/rpmdb.sqlite":           SQLite,
		"usr/lib/sysimage/rpm/rpmdb.sqlite":  SQLite,
		"var/lib/rpm/Packages":               Berkeley,
		"usr/lib/sysimage/rpm/Packages.db":   NDB,
		"var/lib/rpm/Name":                   0,
		"home/user/var/lib/rpm/rpmdb.sqlite": 0,
	} {
		f, ok := FormatOf(p)
		if f != want || ok != (want != 0) {
			t.Errorf("FormatOf(%s) = %v, %v; want %v", p, f, ok, want)
		}
	}
}

func TestSourceName(t *testing.T) {
	for src, want := range map[string]string{
		"openssl-3.0.7-24.el9.src.rpm":      "openssl",
		"python3.11-3.11.5-1.el9_3.src.rpm": "python3.11",
		"glibc-2.34-100.el9.nosrc.rpm":      "glibc",
		"":                                  "self",
		"broken.src.rpm":                    "self",
	} {
		if got := (Package{Name: "self", SourceRPM: src}).SourceName(); got != want {
			t.Errorf("SourceName(%q) = %q, want %q", src, got, want)
		}
	}
}

func TestBadHeaders(t *testing.T) {
	blobs, err := readSQLite(context.Background(), fixture(t, "rpmdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	good := blobs[0]
	cases := map[string][]byte{
		"empty":          nil,
		"cut short":      good[:len(good)-1],
		"huge count":     append([]byte{0, 1, 0, 0, 0, 0, 0, 0}, good[8:]...),
		"no entries":     append([]byte{0, 0, 0, 0}, good[4:]...),
		"offset outside": withEntry(good, 1000, 6, 1<<30),
		"negative":       withEntry(good, 1000, 6, -5),
		"not a string":   withEntry(good, 1000, 4, 0),
		"epoch outside":  withEntry(good, 1003, 4, 1<<30),
	}
	for name, b := range cases {
		if _, err := ParseHeader(b); err == nil {
			t.Errorf("%s: parsed without an error", name)
		}
	}
	if _, err := ParseHeader(good); err != nil {
		t.Fatal(err)
	}
	// A database with a bad header still returns the good ones.
	ps, err := parseAll([][]byte{good, good[:20]})
	if err == nil || len(ps) != 1 || !strings.Contains(err.Error(), "package header 2") {
		t.Errorf("got %d packages, %v", len(ps), err)
	}
}

// withEntry returns a copy of blob whose first index entry is replaced.
func withEntry(blob []byte, tag, typ uint32, off int32) []byte {
	b := append([]byte(nil), blob...)
	binary.BigEndian.PutUint32(b[8:], tag)
	binary.BigEndian.PutUint32(b[12:], typ)
	binary.BigEndian.PutUint32(b[16:], uint32(off))
	binary.BigEndian.PutUint32(b[20:], 1)
	return b
}

func TestDamagedDatabases(t *testing.T) {
	ctx := context.Background()
	bdbData, err := os.ReadFile(fixture(t, "Packages-overflow"))
	if err != nil {
		t.Fatal(err)
	}
	cut := bdbData[:len(bdbData)-4096]
	if _, err := readBerkeley(ctx, bytes.NewReader(cut), int64(len(cut))); err == nil {
		t.Error("a Berkeley DB file cut short read without an error")
	}
	if _, err := readBerkeley(ctx, bytes.NewReader(make([]byte, 4096)), 4096); err == nil {
		t.Error("zeros read as a Berkeley DB file")
	}
	blobs, err := readSQLite(ctx, fixture(t, "rpmdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	ndbData, err := os.ReadFile(writeNDB(t, blobs))
	if err != nil {
		t.Fatal(err)
	}
	cut = ndbData[:len(ndbData)-100]
	if _, err := readNDB(ctx, bytes.NewReader(cut), int64(len(cut))); err == nil {
		t.Error("an NDB file cut short read without an error")
	}
	bad := filepath.Join(t.TempDir(), "rpmdb.sqlite")
	if err := os.WriteFile(bad, []byte("SQLite format 3\x00 but nothing else"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, bad, SQLite); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a broken SQLite file: %v", err)
	}
}

// writeNDB lays blobs out as an NDB package file with one slot page.
func writeNDB(t testing.TB, blobs [][]byte) string {
	t.Helper()
	le := binary.LittleEndian
	slots := make([]byte, ndbPage)
	le.PutUint32(slots, ndbMagic)
	le.PutUint32(slots[12:], 1)
	le.PutUint32(slots[16:], uint32(len(blobs)+1))
	for o := 32; o < ndbPage; o += ndbSlot {
		le.PutUint32(slots[o:], ndbSlotMagic)
	}
	var data []byte
	for i, b := range blobs {
		blocks := (ndbBlobHead + len(b) + ndbBlobTail + ndbBlock - 1) / ndbBlock
		s := slots[32+ndbSlot*i:]
		le.PutUint32(s[4:], uint32(i+1))
		le.PutUint32(s[8:], uint32((ndbPage+len(data))/ndbBlock))
		le.PutUint32(s[12:], uint32(blocks))
		blob := make([]byte, blocks*ndbBlock)
		le.PutUint32(blob, ndbBlobMagic)
		le.PutUint32(blob[4:], uint32(i+1))
		le.PutUint32(blob[12:], uint32(len(b)))
		copy(blob[ndbBlobHead:], b)
		tail := blob[ndbBlobHead+len(b):]
		le.PutUint32(tail[4:], uint32(len(b)))
		le.PutUint32(tail[8:], 'B'|'l'<<8|'b'<<16|'E'<<24)
		data = append(data, blob...)
	}
	file := append(slots, data...)
	p := filepath.Join(t.TempDir(), "Packages.db")
	if err := os.WriteFile(p, file, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
