package cloudformation

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// Scanner evaluates the cloud checks over CloudFormation templates.
type Scanner struct {
	Checks []*checks.Check
}

// NewScanner returns a CloudFormation scanner with the catalog's cloud checks.
func NewScanner(cat *checks.Catalog) *Scanner { return &Scanner{Checks: cat.ForInput("cloud")} }

// Name is the scanner name used in scopes.
func (s *Scanner) Name() string { return "cloudformation" }

// Describe declares the analyzer: version 1 is its first declared version.
func (s *Scanner) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: s.Name(), Version: 1, Reads: []string{pipeline.File}}
}

// Match selects YAML, JSON and .template files; templates are recognised
// by content.
func (s *Scanner) Match(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json", ".template":
		return true
	}
	return false
}

// ScanFile parses a template and evaluates the checks on its resources.
func (s *Scanner) ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	data, _ = pipeline.Lenient(data)
	if !IsTemplate(data) {
		return nil, nil
	}
	t, err := Parse(path, data)
	if err != nil {
		return nil, pipeline.NotAssessed(pipeline.ParseError, err)
	}
	lines := bytes.Split(data, []byte("\n"))
	fs, _, err := cloud.Evaluate(ctx, s.Checks, Adapt(path, t), tenant, s.Name(), func(string) [][]byte { return lines })
	return fs, err
}
