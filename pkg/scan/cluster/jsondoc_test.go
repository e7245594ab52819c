package cluster

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

// A JSON file that is no Kubernetes object is known as such without its
// YAML tree; anything that may be an object, or is not plain JSON, is left
// to the YAML reader.
func TestPlainJSONNotObject(t *testing.T) {
	cases := map[string]bool{
		`{"swagger": "2.0", "definitions": {"io.k8s.api.core.v1.Pod": {"properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}}}}`: true,
		`[{"apiVersion": "v1", "kind": "Pod"}]`:                                  true,
		`{"name": "left-pad", "version": "1.3.0"}` + "\n":                        true,
		`{"apiVersion": "v1", "kind": "Pod", "spec": {}}`:                        false,
		`{"kind": "List", "apiVersion": "v1", "items": []}`:                      false,
		`{"apiVersion": "v1", "kind": ""}`:                                       true,
		`{"apiVersion": {"v": 1}, "kind": "Pod"}`:                                true,
		`{"apiVersion": "v1", "kind": "Pod"} {"x": 1}`:                           false, // two values: the YAML reader decides
		`{"apiVersion": "v1", "kind": "Pod"`:                                     false, // broken: the YAML reader reports it
		`{apiVersion: v1, kind: Pod}`:                                            false, // a YAML flow mapping
		"apiVersion: v1\nkind: Pod\n":                                            false,
		`{"a": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`: false, // deeper than JSON is read
	}
	for doc, want := range cases {
		if got := plainJSONNotObject([]byte(doc)); got != want {
			t.Errorf("%.60s: %v, want %v", doc, got, want)
		}
	}
}

// What the check skips yields nothing when read in full: the YAML reader
// finds no object in it.
func FuzzPlainJSONNotObject(f *testing.F) {
	f.Add([]byte(`{"swagger": "2.0", "paths": {"/api/v1/pods": {"get": {}}}}`))
	f.Add([]byte(`[1, "two", {"kind": "Pod", "apiVersion": "v1"}]`))
	f.Add([]byte(`{"apiVersion": "v1", "kind": "Pod", "spec": {"hostPID": true}}`))
	m := NewManifests(catalog(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !plainJSONNotObject(data) {
			return
		}
		if fs, _ := m.scanDocuments(context.Background(), "fuzz.json", data, "t"); len(fs) > 0 {
			t.Fatalf("skipped %q, which gives %d findings", data, len(fs))
		}
	})
}

// An OpenAPI document beside a manifest: the manifest's findings come, the
// document gives none, and reading it costs far less than its YAML tree.
func TestOpenAPIDocumentIsNotParsed(t *testing.T) {
	m := NewManifests(catalog(t))
	var sb strings.Builder
	sb.WriteString(`{"swagger": "2.0", "definitions": {`)
	for i := range 20000 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`"io.example.v1.Thing` + strings.Repeat("x", i%7) + `": {"properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}}`)
	}
	sb.WriteString("}}")
	doc := []byte(sb.String())
	allocated := func(scan func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		scan()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	checked := allocated(func() {
		fs, err := m.ScanFile(context.Background(), "swagger.json", doc, "t")
		if err != nil || len(fs) > 0 {
			t.Fatalf("swagger.json: %d findings, %v", len(fs), err)
		}
	})
	parsed := allocated(func() { m.scanDocuments(context.Background(), "swagger.json", doc, "t") })
	if checked*4 > parsed {
		t.Errorf("checking the %d KiB document allocated %d KiB, reading it as YAML %d KiB: want far less", len(doc)>>10, checked>>10, parsed>>10)
	}
	t.Logf("%d KiB document: checked with %d KiB, read as YAML with %d KiB", len(doc)>>10, checked>>10, parsed>>10)
	fs, err := m.ScanFile(context.Background(), "pod.json", []byte(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"hostPID": true, "containers": [{"name": "c", "image": "nginx"}]}}`), "t")
	if err != nil || len(fs) == 0 {
		t.Fatalf("pod.json: %d findings, %v; want the host PID finding among them", len(fs), err)
	}
}
