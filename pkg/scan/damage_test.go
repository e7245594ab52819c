package scan

import (
	"bytes"
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
)

// damages are the kinds of harm done to one line of a manifest.
var damages = []struct {
	name string
	do   func(line []byte) []byte
}{
	{"invalid-byte comment", func(l []byte) []byte { return append([]byte("# caf\xe9 \xff\xfe\n"), l...) }},
	{"invalid byte appended", func(l []byte) []byte { return append(append([]byte(nil), l...), 0xff) }},
	{"control character", func(l []byte) []byte { return append(append([]byte(nil), l...), 0x07) }},
	{"64 KiB padding", func(l []byte) []byte {
		return append([]byte("# "+strings.Repeat("x", 64<<10)+"\n"), l...)
	}},
}

// manifests lists the YAML files the property is checked on: the examples,
// the cluster test data and, when present, the Kubernetes corpora (under
// -short, those of several documents and a seeded sample of the others).
func manifests(t *testing.T) []string {
	var out []string
	roots := []string{"../../examples", "cluster/testdata", "../../../shared/corpus/kubescape-regolibrary", "../../../shared/corpus/trivy-checks-examples"}
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				out = append(out, p)
			}
			return nil
		})
	}
	if !testing.Short() {
		return out
	}
	// Short: every file of several documents (where a lost document shows),
	// and a seeded sample of the rest.
	var multi, single []string
	for _, p := range out {
		if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, []byte("\n---")) {
			multi = append(multi, p)
		} else {
			single = append(single, p)
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(single), func(i, j int) { single[i], single[j] = single[j], single[i] })
	return append(multi, single[:min(40, len(single))]...)
}

// Damaging a manifest never silently removes findings: after each damage,
// either the file is reported not assessed, or every finding of the
// documents the damage did not touch is still reported, fingerprint for
// fingerprint.
func TestDamageNeverHidesFindingsSilently(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := NewWith(cat, Options{Scanners: []string{"kubernetes"}})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	files, checked, notAssessed := manifests(t), 0, 0
	for _, src := range files {
		data, err := os.ReadFile(src)
		if err != nil || len(data) == 0 {
			continue
		}
		os.WriteFile(path, data, 0o644)
		before, err := s.Run(ctx, []string{path}, "")
		if err != nil || before.Coverage.UnitsNotAssessed > 0 || len(before.Findings) == 0 {
			continue // only files that parse and have findings say anything here
		}
		lines := bytes.SplitAfter(data, []byte("\n"))
		docOf := documents(lines)
		for _, d := range damages {
			at := rng.IntN(len(lines))
			damaged := slicesJoin(lines[:at], d.do(lines[at]), lines[at+1:])
			os.WriteFile(path, damaged, 0o644)
			after, err := s.Run(ctx, []string{path}, "")
			if err != nil {
				t.Fatalf("%s, %s at line %d: %v", src, d.name, at+1, err)
			}
			checked++
			if after.Coverage.UnitsNotAssessed > 0 {
				notAssessed++
				continue
			}
			got := map[string]bool{}
			for _, f := range after.Findings {
				got[f.Fingerprint] = true
			}
			for _, f := range before.Findings {
				line := int(f.GetLocation().GetStartLine())
				if line < 1 || line > len(docOf) || docOf[line-1] == docOf[at] {
					continue // in the damaged document, or not placed
				}
				if !got[f.Fingerprint] {
					t.Errorf("%s, %s at line %d: %s (line %d, another document) vanished without a not-assessed entry",
						src, d.name, at+1, f.CheckId, line)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no manifest was damaged")
	}
	t.Logf("%d damaged files from %d manifests; %d reported not assessed, the rest kept every finding of untouched documents", checked, len(files), notAssessed)
}

// documents numbers the YAML document of each line ("---" starts one).
func documents(lines [][]byte) []int {
	out := make([]int, len(lines))
	doc := 0
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("---")) {
			doc++
		}
		out[i] = doc
	}
	return out
}

func slicesJoin(head [][]byte, mid []byte, tail [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range head {
		b.Write(l)
	}
	b.Write(mid)
	for _, l := range tail {
		b.Write(l)
	}
	return b.Bytes()
}
