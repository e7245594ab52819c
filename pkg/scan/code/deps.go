// Package code scans source trees: vulnerable dependencies today; secrets,
// SAST and DAST as they land.
package code

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/lockfile"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// VulnerableDependency is the check this scanner reports.
const VulnerableDependency = "VGL-CODE-001"

// Dependencies matches the packages of dependency files (go.mod,
// package-lock.json, pnpm-lock.yaml, composer.lock, Cargo.lock) against OSV
// vulnerability data.
type Dependencies struct {
	// DB is the vulnerability data; without it files are parsed (and
	// errors reported) but nothing is matched.
	DB    *vuln.DB
	Check *checks.Check
}

// NewDependencies returns a dependency scanner; db may be nil.
func NewDependencies(cat *checks.Catalog, db *vuln.DB) *Dependencies {
	c, _ := cat.Get(VulnerableDependency)
	return &Dependencies{DB: db, Check: c}
}

// Name is the scanner name used in scopes.
func (d *Dependencies) Name() string { return "dependencies" }

// Describe declares the analyzer: version 1 is its first declared version.
func (d *Dependencies) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: d.Name(), Version: 1, Reads: []string{pipeline.File}, Needs: pipeline.NeedVulnData}
}

// Match selects the dependency files it can parse.
func (d *Dependencies) Match(path string) bool {
	_, ok := lockfile.ParserFor(filepath.Base(path))
	return ok
}

// ScanFile parses the file and reports each vulnerable package version.
func (d *Dependencies) ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	parse, ok := lockfile.ParserFor(filepath.Base(path))
	if !ok {
		return nil, nil
	}
	pkgs, err := parse(path, data)
	if err != nil {
		return nil, pipeline.NotAssessed(pipeline.ParseError, fmt.Errorf("%s: %w", path, err))
	}
	if d.Check == nil {
		return nil, nil
	}
	lines := bytes.Split(data, []byte("\n"))
	var out []*vigilv1.Finding
	var errs []error
	uncovered := map[string]bool{}
	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if !d.DB.Covers(p.Ecosystem) {
			if !uncovered[p.Ecosystem] {
				uncovered[p.Ecosystem] = true
				errs = append(errs, &pipeline.Error{Reason: pipeline.NoVulnerabilityData, Detail: p.Ecosystem,
					Err: fmt.Errorf("%s: no vulnerability data for %s", path, p.Ecosystem)})
			}
			continue
		}
		matches, err := d.DB.Query(p.Ecosystem, p.Name, p.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s %s: %w", path, p.Name, p.Version, err))
			continue
		}
		for _, m := range matches {
			out = append(out, d.finding(path, lines, tenant, p, m))
		}
	}
	return out, errors.Join(errs...)
}

func (d *Dependencies) finding(path string, lines [][]byte, tenant string, p lockfile.Package, m vuln.Match) *vigilv1.Finding {
	ids := append([]string{m.ID}, m.Aliases...)
	kind := ""
	switch {
	case p.DirectKnown && p.Direct:
		kind = " (direct dependency)"
	case p.DirectKnown:
		kind = " (transitive dependency)"
	}
	f := d.Check.NewFinding(m.Describe(p.Name, p.Version, kind), finding.Site{
		Scanner:  d.Name(),
		Resource: &vigilv1.Resource{Tenant: tenant, Provider: strings.ToLower(p.Ecosystem), Kind: "Package", Name: p.Name, Uri: path},
		Location: &vigilv1.Location{Path: path, StartLine: int32(p.Line), EndLine: int32(p.Line), Snippet: finding.Snippet(lines, p.Line)},
		Path:     path,
		Key:      p.Version + "/" + m.ID,
	})
	vuln.Rate(f, m.Rating)
	f.References = append(f.References, ids...)
	return f
}
