// Package code scans source trees: vulnerable dependencies today; secrets,
// SAST and DAST as they land.
package code

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/lockfile"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/code/reach"
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
	var goVulns []goVuln
	uncovered := map[string]bool{}
	if err := d.DB.Stale(time.Now()); err != nil && len(pkgs) > 0 {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
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
			f := d.finding(path, lines, tenant, p, m)
			out = append(out, f)
			if p.Ecosystem == "Go" {
				goVulns = append(goVulns, goVuln{f, m})
			}
		}
	}
	if len(goVulns) > 0 && filepath.Base(path) == "go.mod" {
		reachability(ctx, path, data, goVulns)
	}
	return out, errors.Join(errs...)
}

// goVuln is a finding about a Go module and the match it reports.
type goVuln struct {
	f *vigilv1.Finding
	m vuln.Match
}

// reachability marks the findings of a go.mod with whether the module's
// code calls the vulnerable functions the advisories name. The module's
// sources must be on disk beside the go.mod read (a go.mod read out of an
// image layer or a git object leaves it unknown).
func reachability(ctx context.Context, path string, data []byte, vs []goVuln) {
	results := map[string]reach.Result{}
	if disk, err := os.ReadFile(path); err != nil || !bytes.Equal(disk, data) {
		for _, v := range vs {
			results[v.m.ID] = reach.Result{Status: reach.Unknown, Detail: "the module's sources are not on disk"}
		}
	} else {
		var targets []reach.Target
		for _, v := range vs {
			t := reach.Target{ID: v.m.ID}
			for _, im := range v.m.Imports {
				t.Imports = append(t.Imports, reach.Import{Path: im.Path, Symbols: im.Symbols})
			}
			targets = append(targets, t)
		}
		results = reach.Analyze(ctx, filepath.Dir(path), targets)
	}
	for _, v := range vs {
		r := results[v.m.ID]
		switch r.Status {
		case reach.Reachable:
			v.f.Reachability = vigilv1.Reachability_REACHABILITY_REACHABLE
			v.f.Message += "; reachable: " + r.Detail
		case reach.NotReachable:
			v.f.Reachability = vigilv1.Reachability_REACHABILITY_NOT_REACHABLE
			v.f.Message += "; not reachable: " + r.Detail
		default:
			v.f.Reachability = vigilv1.Reachability_REACHABILITY_UNKNOWN
			v.f.Message += "; reachability unknown: " + r.Detail
		}
		v.f.ReachabilityDetail = r.Detail
	}
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
	f.Package = &vigilv1.Package{Name: p.Name, Version: p.Version, FixedVersion: m.Fixed, Ecosystem: p.Ecosystem}
	vuln.Rate(f, m.Rating)
	f.References = append(f.References, ids...)
	return f
}
