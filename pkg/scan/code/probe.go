package code

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

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

// Probe probes one URL and turns the results into findings: one per
// weakness of the service, whatever the number of URLs that show it. The
// first URL is the finding's location, the others its evidence; the
// messages of distinct cases (two parameters reflected) are joined.
func (p *Probes) Probe(ctx context.Context, target, tenant string) ([]*vigilv1.Finding, error) {
	results, err := p.Prober().Probe(ctx, target)
	u, _ := url.Parse(target)
	var out []*vigilv1.Finding
	byWeakness := map[string]*vigilv1.Finding{}
	for _, r := range results {
		c, ok := p.checks.Get(r.Check)
		if !ok {
			continue
		}
		key := r.Check + " " + r.Weakness
		if f := byWeakness[key]; f != nil {
			if !strings.Contains(f.Message, r.Message) {
				f.Message += "; " + r.Message
			}
			if r.URL != f.Location.Path && !slices.Contains(f.Evidence, r.URL) && len(f.Evidence) < pipeline.MaxEvidence {
				f.Evidence = append(f.Evidence, r.URL)
			}
			continue
		}
		f := c.NewFinding(r.Message, finding.Site{
			Scanner:  p.Name(),
			Resource: &vigilv1.Resource{Tenant: tenant, Provider: "http", Kind: "Service", Name: u.Host, Uri: target},
			Location: &vigilv1.Location{Path: r.URL},
			// The service by host, whichever URL of it was the target:
			// one weakness of a service is one finding.
			Identity: &vigilv1.Resource{Tenant: tenant, Provider: "http", Kind: "Service", Name: u.Host},
			Key:      r.Weakness,
		})
		byWeakness[key] = f
		out = append(out, f)
	}
	if err != nil {
		return out, fmt.Errorf("probe %s: %w", target, err)
	}
	return out, nil
}
