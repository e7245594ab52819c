package terraform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// Scanner evaluates the cloud checks over Terraform: each folder of .tf
// files is a root module (unless another root uses it as a local module),
// and each `terraform show -json` plan is read on its own.
type Scanner struct {
	Checks []*checks.Check
}

// NewScanner returns a Terraform scanner with the catalog's cloud checks.
func NewScanner(cat *checks.Catalog) *Scanner { return &Scanner{Checks: cat.ForInput("cloud")} }

// Name is the scanner name used in scopes.
func (s *Scanner) Name() string { return "terraform" }

// Describe declares the analyzer: version 1 is its first declared version.
func (s *Scanner) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: s.Name(), Version: 1, Reads: []string{pipeline.File}}
}

// Match selects .tf files and JSON files (plans are recognised by content).
func (s *Scanner) Match(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".tf" || ext == ".json"
}

// ScanFile reads plans; .tf files are read by folder in ScanSet.
func (s *Scanner) ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	if !strings.EqualFold(filepath.Ext(path), ".json") || !IsPlan(data) {
		return nil, nil
	}
	cfg, err := Plan(path, data)
	if err != nil {
		return nil, pipeline.NotAssessed(pipeline.ParseError, err)
	}
	fs, _, err := cloud.Evaluate(ctx, s.Checks, Adapt(cfg), tenant, s.Name(), nil)
	return fs, err
}

// ScanSet evaluates the folders of the .tf files among files.
func (s *Scanner) ScanSet(ctx context.Context, files []pipeline.Content, tenant string) ([]*vigilv1.Finding, error) {
	content := map[string][]byte{}
	dirs := map[string]bool{}
	rename := pipeline.Renamer(files)
	for _, f := range files {
		if strings.EqualFold(filepath.Ext(f.Path), ".tf") {
			dirs[filepath.Clean(filepath.Dir(filepath.FromSlash(f.Where())))] = true
			data, err := f.Bytes()
			if err != nil {
				continue // reported by the file scan
			}
			content[path.Clean(f.Path)] = data
		}
	}
	order := make([]string, 0, len(dirs))
	for d := range dirs {
		order = append(order, d)
	}
	sort.Strings(order)
	configs := map[string]*Config{}
	used := map[string]bool{}
	var errs []error
	for _, d := range order {
		cfg, err := LoadDir(ctx, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
			continue
		}
		configs[d] = cfg
		for _, m := range cfg.ModuleDirs {
			if m != d {
				used[m] = true
			}
		}
	}
	lines := func(name string) [][]byte {
		data, ok := content[path.Clean(name)]
		if !ok {
			return nil
		}
		return bytes.Split(data, []byte("\n"))
	}
	var out []*vigilv1.Finding
	for _, d := range order {
		cfg := configs[d]
		if cfg == nil || used[d] {
			continue // a module: its resources are evaluated with its callers' inputs
		}
		errs = append(errs, cfg.Errors...)
		resources := Adapt(cfg)
		for _, r := range resources {
			if r.Path != "" {
				r.Path = filepath.ToSlash(rename(r.Path))
			}
		}
		fs, _, err := cloud.Evaluate(ctx, s.Checks, resources, tenant, s.Name(), lines)
		out = append(out, fs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range out {
		if f.Location != nil {
			f.Location.Path = filepath.ToSlash(f.Location.Path)
		}
	}
	return out, errors.Join(errs...)
}
