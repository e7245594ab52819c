package vuln

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeRecords(t *testing.T, dir string, recs map[string]string) {
	t.Helper()
	for name, body := range recs {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A bundle keeps each id once (the first source's), leaves withdrawn
// records out, lists what it could not read, counts per ecosystem, and
// opens as vulnerability data with its manifest.
func TestBundle(t *testing.T) {
	dir := t.TempDir()
	fresh, old := filepath.Join(dir, "fresh"), filepath.Join(dir, "old")
	writeRecords(t, fresh, map[string]string{
		"Go/GO-1.json": `{"id":"GO-1","aliases":["CVE-1"],"affected":[{"package":{"ecosystem":"Go","name":"example.org/a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]}`,
		"npm/N-1.json": `{"id":"N-1","affected":[{"package":{"ecosystem":"npm","name":"left"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}`,
		"npm/N-2.json": `{"id":"N-2","withdrawn":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"gone"}}]}`,
		"npm/bad.json": `{"id":`,
	})
	// The old source, as a zip, holds an older GO-1 (fixed later) and one more.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, body := range map[string]string{
		"GO-1.json": `{"id":"GO-1","affected":[{"package":{"ecosystem":"Go","name":"example.org/a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"9.9.9"}]}]}]}`,
		"GO-2.json": `{"id":"GO-2","affected":[{"package":{"ecosystem":"Go","name":"example.org/b"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.5.0"}]}]}]}`,
	} {
		f, _ := zw.Create(name)
		f.Write([]byte(body))
	}
	zw.Close()
	os.MkdirAll(old, 0o755)
	if err := os.WriteFile(filepath.Join(old, "Go.zip"), zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "bundle.zip")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	made := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	m, err := WriteBundle(f, []string{fresh, old}, made)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Records != 3 || m.Ecosystems["Go"] != 2 || m.Ecosystems["npm"] != 1 || len(m.Skipped) != 1 ||
		len(m.Sources) != 2 || m.Sources[0].Records != 2 || m.Sources[1].Records != 1 {
		t.Fatalf("manifest %+v", m)
	}
	back, err := ReadManifest(out)
	if err != nil || !back.Created.Equal(made) || back.Records != 3 {
		t.Fatalf("manifest read back %+v, %v", back, err)
	}
	db, err := Open(out)
	if err != nil || len(db.Errors) != 0 || db.Len() != 3 || db.Manifest == nil || !db.Manifest.Created.Equal(made) {
		t.Fatalf("open bundle: %v, %d records, errors %v, manifest %v", err, db.Len(), db.Errors, db.Manifest)
	}
	ms, err := db.Query("Go", "example.org/a", "1.3.0")
	if err != nil || len(ms) != 0 {
		t.Errorf("the fresh GO-1 (fixed in 1.2.0) must win over the old one: %v %v", ms, err)
	}
	if ms, _ := db.Query("Go", "example.org/b", "0.4.0"); len(ms) != 1 {
		t.Errorf("GO-2 from the old source: %v", ms)
	}
	if _, err := ReadManifest(filepath.Join(old, "Go.zip")); err == nil {
		t.Error("a zip of records read as a bundle")
	}
	if _, err := WriteBundle(&bytes.Buffer{}, []string{filepath.Join(dir, "missing")}, made); err == nil {
		t.Error("a missing source made a bundle")
	}
}

func FuzzParseManifest(f *testing.F) {
	good, _ := json.Marshal(Manifest{Format: 1, Created: time.Now(), Ecosystems: map[string]int{"Go": 1}})
	f.Add(good)
	f.Add([]byte(`{"format":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data)
		if err == nil && (m.Format != 1 || m.Created.IsZero()) {
			t.Fatalf("accepted %q", data)
		}
	})
}
