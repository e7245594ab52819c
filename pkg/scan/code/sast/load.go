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

// loadMode is what the analyzers need: syntax and full type information.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
	packages.NeedTypesInfo | packages.NeedImports | packages.NeedDeps | packages.NeedTypesSizes | packages.NeedModule

// Load type-checks the Go packages of dirs. A folder outside any module
// is loaded as a module of its own through an overlay go.mod, so loose
// sources can be analyzed; imports that cannot be resolved leave their
// package partly typed, not unread. Packages come back with their errors.
func Load(ctx context.Context, dirs []string) ([]*packages.Package, error) {
	var out []*packages.Package
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return out, err
		}
		cfg := &packages.Config{Context: ctx, Mode: loadMode, Dir: abs, Tests: false,
			Env: append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off", "GOPROXY=off")}
		if !inModule(abs) {
			cfg.Overlay = map[string][]byte{filepath.Join(abs, "go.mod"): []byte("module vigil.invalid/scan\n\ngo 1.22\n")}
		}
		pkgs, err := packages.Load(cfg, ".")
		if err != nil {
			return out, fmt.Errorf("%s: %w", dir, err)
		}
		out = append(out, pkgs...)
	}
	return out, nil
}

// inModule reports whether dir or a parent holds a go.mod.
func inModule(dir string) bool {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}
