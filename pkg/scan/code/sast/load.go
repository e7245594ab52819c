// Package sast finds security flaws in Go source with analyzers built on
// golang.org/x/tools/go/analysis: SSA-based taint tracking from request
// data, command-line arguments and the environment to SQL, shell, file,
// HTTP, HTML and redirect sinks, within and across functions, and checks
// of crypto, TLS, randomness, file permissions, listeners, archives and
// conversions.
package sast

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// loadMode is what the analyzers need: syntax and full type information of
// the packages analyzed. Dependencies are typed from export data, not
// parsed, which keeps memory to a third on large modules.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
	packages.NeedTypesInfo | packages.NeedImports | packages.NeedTypesSizes | packages.NeedModule

// MaxBatch is the most package folders loaded and analyzed at once. The
// packages of a batch, their syntax, types and the export data of their
// imports are released before the next batch loads, so memory is bounded
// by a batch whatever the number of packages under one target.
const MaxBatch = 12

// MaxBatchSource bounds the Go source of a batch, in bytes: a few large
// packages (a generated table of a megabyte) weigh more in syntax, types
// and SSA than a dozen small ones, so they load with fewer companions or
// alone.
const MaxBatchSource = 256 << 10

// unit is one go list run: patterns relative to dir, with an overlay go.mod
// for folders that belong to no module.
type unit struct {
	dir      string
	patterns []string
	overlay  map[string][]byte
}

// units plans the loads of dirs: the folders of one module in batches of
// at most MaxBatch; folders outside any module, likewise batched, under an
// overlay go.mod at their common parent so that loose sources load as one
// module of their own (imports that cannot be resolved leave a package
// partly typed, not unread).
func units(dirs []string) ([]unit, error) {
	byRoot := map[string][]string{}
	var roots, loose []string
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		root := moduleRoot(abs)
		if root == "" {
			loose = append(loose, abs)
			continue
		}
		if _, ok := byRoot[root]; !ok {
			roots = append(roots, root)
		}
		rel, _ := filepath.Rel(root, abs)
		byRoot[root] = append(byRoot[root], "./"+filepath.ToSlash(rel))
	}
	var out []unit
	for _, root := range roots {
		for _, ps := range batches(byRoot[root], func(p string) string { return filepath.Join(root, p) }) {
			out = append(out, unit{dir: root, patterns: ps})
		}
	}
	sort.Strings(loose)
	for _, batch := range batches(loose, func(d string) string { return d }) {
		parent := commonParent(batch)
		u := unit{dir: parent, overlay: map[string][]byte{filepath.Join(parent, "go.mod"): []byte("module vigil.invalid/scan\n\ngo 1.22\n")}}
		for _, d := range batch {
			rel, _ := filepath.Rel(parent, d)
			u.patterns = append(u.patterns, "./"+filepath.ToSlash(rel))
		}
		out = append(out, u)
	}
	return out, nil
}

// batches splits items (folders, named through dir) into runs of at most
// MaxBatch folders and MaxBatchSource bytes of Go source; a folder larger
// than that is a batch of its own.
func batches(items []string, dir func(string) string) [][]string {
	var out [][]string
	var cur []string
	size := int64(0)
	for _, it := range items {
		n := sourceSize(dir(it))
		if len(cur) > 0 && (len(cur) == MaxBatch || size+n > MaxBatchSource) {
			out, cur, size = append(out, cur), nil, 0
		}
		cur, size = append(cur, it), size+n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sourceSize is the size of the Go files of a folder, tests aside.
func sourceSize(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := int64(0)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

// commonParent is the deepest folder holding every one of dirs (absolute,
// sorted).
func commonParent(dirs []string) string {
	p := dirs[0]
	for _, d := range dirs[1:] {
		for p != filepath.Dir(p) && d != p && !strings.HasPrefix(d, p+string(filepath.Separator)) {
			p = filepath.Dir(p)
		}
	}
	return p
}

// load type-checks the packages of one unit.
func (u unit) load(ctx context.Context) ([]*packages.Package, error) {
	pkgs, err := load(ctx, u.dir, u.patterns, u.overlay)
	if err != nil {
		return pkgs, fmt.Errorf("%s: %w", u.dir, err)
	}
	return pkgs, nil
}

// loadEnv keeps the go command offline and on the installed toolchain.
var loadEnv = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOPROXY=off")

func load(ctx context.Context, dir string, patterns []string, overlay map[string][]byte) ([]*packages.Package, error) {
	cfg := &packages.Config{Context: ctx, Mode: loadMode, Dir: dir, Tests: false, Overlay: overlay, Env: loadEnv}
	return packages.Load(cfg, patterns...)
}

// moduleRoot returns the folder of the go.mod that dir belongs to, "" when
// there is none.
func moduleRoot(dir string) string {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
