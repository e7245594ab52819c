package code

import (
	"context"
	"fmt"
	"net/url"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/code/dast"
)

// Probes runs the DAST checks against URLs.
type Probes struct {
	Prober func() *dast.Prober
	checks *checks.Catalog
}

// NewProbes returns a DAST scanner; every probe gets a fresh prober (and
// request budget) from opts.
func NewProbes(cat *checks.Catalog, opts dast.Options) *Probes {
	return &Probes{Prober: func() *dast.Prober { return dast.New(opts) }, checks: cat}
}

// Name is the scanner name used in scopes.
func (p *Probes) Name() string { return "dast" }

// Describe declares the analyzer: version 1 is its first declared version.
func (p *Probes) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: p.Name(), Version: 1, Reads: []string{pipeline.URL}, Needs: pipeline.NeedNetwork}
}

// Probe probes one URL and turns the results into findings.
func (p *Probes) Probe(ctx context.Context, target, tenant string) ([]*vigilv1.Finding, error) {
	results, err := p.Prober().Probe(ctx, target)
	u, _ := url.Parse(target)
	var out []*vigilv1.Finding
	for _, r := range results {
		c, ok := p.checks.Get(r.Check)
		if !ok {
			continue
		}
		out = append(out, c.NewFinding(r.Message, finding.Site{
			Scanner:  p.Name(),
			Resource: &vigilv1.Resource{Tenant: tenant, Provider: "http", Kind: "Service", Name: u.Host, Uri: target},
			Location: &vigilv1.Location{Path: r.URL},
			// The service by host, whichever URL of it was the target.
			Identity: &vigilv1.Resource{Tenant: tenant, Provider: "http", Kind: "Service", Name: u.Host},
			Path:     u.Path,
			Key:      r.Message,
		}))
	}
	if err != nil {
		return out, fmt.Errorf("probe %s: %w", target, err)
	}
	return out, nil
}
