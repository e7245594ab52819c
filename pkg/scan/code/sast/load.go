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

	"golang.org/x/tools/go/packages"
)

// loadMode is what the analyzers need: syntax and full type information of
// the packages analyzed. Dependencies are typed from export data, not
// parsed, which keeps memory to a third on large modules.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
	packages.NeedTypesInfo | packages.NeedImports | packages.NeedTypesSizes | packages.NeedModule

// Load type-checks the Go packages of dirs. A folder outside any module
// is loaded as a module of its own through an overlay go.mod, so loose
// sources can be analyzed; imports that cannot be resolved leave their
// package partly typed, not unread. Packages come back with their errors.
func Load(ctx context.Context, dirs []string) ([]*packages.Package, error) {
	var out []*packages.Package
	// Folders of one module load in one go list run.
	byRoot := map[string][]string{}
	var roots []string
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return out, err
		}
		root := moduleRoot(abs)
		if root == "" {
			pkgs, err := load(ctx, abs, []string{"."}, map[string][]byte{filepath.Join(abs, "go.mod"): []byte("module vigil.invalid/scan\n\ngo 1.22\n")})
			if err != nil {
				return out, fmt.Errorf("%s: %w", dir, err)
			}
			out = append(out, pkgs...)
			continue
		}
		if _, ok := byRoot[root]; !ok {
			roots = append(roots, root)
		}
		rel, _ := filepath.Rel(root, abs)
		byRoot[root] = append(byRoot[root], "./"+filepath.ToSlash(rel))
	}
	for _, root := range roots {
		pkgs, err := load(ctx, root, byRoot[root], nil)
		if err != nil {
			return out, fmt.Errorf("%s: %w", root, err)
		}
		out = append(out, pkgs...)
	}
	return out, nil
}

func load(ctx context.Context, dir string, patterns []string, overlay map[string][]byte) ([]*packages.Package, error) {
	cfg := &packages.Config{Context: ctx, Mode: loadMode, Dir: dir, Tests: false, Overlay: overlay,
		Env: append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOPROXY=off")}
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
