package cluster

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Known attacks on YAML readers: each must end quickly with an error (or
// nothing to report), never hang, crash or take memory out of proportion.
func TestHostileManifests(t *testing.T) {
	m := NewManifests(catalog(t))
	bomb := "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 9; i++ {
		bomb += fmt.Sprintf("a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	deep := strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000)
	deepMap := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: " + strings.Repeat("{a: ", 50_000) + "x" + strings.Repeat("}", 50_000) + "\n"
	longLine := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k: \"" + strings.Repeat("A", 15<<20) + "\"}\n"
	cases := map[string]struct {
		doc     string
		wantErr bool
	}{
		"alias bomb":             {bomb + "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: *a8}\n", true},
		"alias bomb as the spec": {bomb + "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: *a8}\n", true},
		"deep sequences":         {deep, true},
		"deep mappings":          {deepMap, true},
		"15 MiB line":            {longLine, false},
		"over the size limit":    {longLine + strings.Repeat("#", 2<<20), true},
		"invalid UTF-8":          {"apiVersion: v1\nkind: Pod\nmetadata: {name: \"\xff\xfe\"}\nspec: {hostPID: true}\n", false},
		// Control characters YAML refuses are read leniently, as U+FFFD.
		"NUL bytes": {"apiVersion: v1\x00\nkind: Pod\n", false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := m.ScanFile(context.Background(), "hostile.yaml", []byte(c.doc), "acme")
			if c.wantErr && err == nil {
				t.Fatal("accepted")
			}
			if err != nil && !strings.Contains(err.Error(), "hostile.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			// Allocation stays within a small multiple of the input.
			if grown := after.TotalAlloc - before.TotalAlloc; grown > uint64(40*len(c.doc)+256<<20) {
				t.Fatalf("allocated %d MiB for a %d KiB input", grown>>20, len(c.doc)>>10)
			}
			t.Logf("%s: %v in %v", name, err, time.Since(start).Round(time.Millisecond))
		})
	}
}
