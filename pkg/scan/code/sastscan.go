package code

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/code/sast"
)

// GoSAST runs the Go analyzers over the packages of a target's .go files.
type GoSAST struct {
	checks map[string]*checks.Check
}

// NewGoSAST returns the Go analyzer scanner over the catalog's code checks.
func NewGoSAST(cat *checks.Catalog) *GoSAST {
	g := &GoSAST{checks: map[string]*checks.Check{}}
	for _, c := range cat.ForInput("analyzer") {
		if c.Pillar == vigilv1.Pillar_PILLAR_CODE {
			g.checks[c.ID] = c
		}
	}
	return g
}

// Name is the scanner name used in scopes.
func (g *GoSAST) Name() string { return "sast-go" }

// Describe declares the analyzer: version 1 is its first declared version.
func (g *GoSAST) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: g.Name(), Version: 1, Reads: []string{pipeline.File}}
}

// Match selects Go sources, not tests or generated vendored code.
func (g *GoSAST) Match(path string) bool {
	return strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") && !strings.Contains(filepath.ToSlash(path), "/vendor/")
}

// ScanFile does nothing: packages, not files, are analyzed (ScanSet).
func (g *GoSAST) ScanFile(context.Context, string, []byte, string) ([]*vigilv1.Finding, error) {
	return nil, nil
}

// ScanSet loads the packages of the files' folders and runs the analyzers.
func (g *GoSAST) ScanSet(ctx context.Context, files []pipeline.Content, tenant string) ([]*vigilv1.Finding, error) {
	dirSet := map[string]bool{}
	for _, f := range files {
		dirSet[filepath.Dir(f.Where())] = true
	}
	if len(dirSet) == 0 {
		return nil, nil
	}
	dirs := make([]string, 0, len(dirSet))
	for d := range dirSet {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	results, errs := sast.Analyze(ctx, dirs)
	rename := pipeline.Renamer(files)
	var out []*vigilv1.Finding
	lines := map[string][][]byte{}
	for _, r := range results {
		c, ok := g.checks[r.Check]
		if !ok {
			continue
		}
		path := filepath.ToSlash(rename(r.Position.Filename))
		if _, ok := lines[path]; !ok {
			data, _ := os.ReadFile(r.Position.Filename)
			lines[path] = bytes.Split(data, []byte("\n"))
		}
		snippet := finding.Snippet(lines[path], r.Position.Line)
		if suppressed(lines[path], r.Position.Line, r.Check) {
			continue
		}
		out = append(out, c.NewFinding(r.Message, finding.Site{
			Scanner:  g.Name(),
			Resource: &vigilv1.Resource{Tenant: tenant, Provider: "go", Kind: "File", Name: path, Uri: path},
			Location: &vigilv1.Location{Path: path, StartLine: int32(r.Position.Line), EndLine: int32(r.Position.Line), Snippet: snippet},
			Path:     path,
			Key:      r.Message + "\x00" + strings.TrimSpace(snippet),
		}))
	}
	return out, errors.Join(errs...)
}

// suppressed reports an inline marker on the finding's line or the line
// above: "vigil:ignore" (optionally naming the check) or gosec's "#nosec".
func suppressed(lines [][]byte, line int, check string) bool {
	for _, l := range []int{line, line - 1} {
		if l < 1 || l > len(lines) {
			continue
		}
		text := string(lines[l-1])
		if l == line && strings.Contains(text, "#nosec") {
			return true
		}
		i := strings.Index(text, "vigil:ignore")
		if i < 0 || (l == line-1 && !strings.Contains(text, "vigil:ignore-next-line")) {
			continue
		}
		rest := strings.TrimSpace(strings.TrimPrefix(text[i+len("vigil:ignore"):], "-next-line"))
		if rest == "" || strings.HasPrefix(rest, check) || strings.HasPrefix(rest, "*/") {
			return true
		}
	}
	return false
}
