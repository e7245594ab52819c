// Package service is the source of running HTTP services ("https://…"),
// probed by the DAST analyzer.
package service

import (
	"context"
	"strings"

	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/code"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// Source probes the service a URL names.
type Source struct {
	Probes *code.Probes
}

// Name is "service".
func (Source) Name() string { return "service" }

// Match reports whether target is an http or https URL.
func (Source) Match(target string) bool {
	return strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://")
}

// Normalize returns the URL as given.
func (Source) Normalize(target string) string { return target }

// Scan probes the service: the URL is one unit. A service that answered
// nothing is a target that could not be scanned.
func (s Source) Scan(ctx context.Context, res *source.Result, target, tenant string) error {
	fs, err := s.Probes.Probe(ctx, target, tenant)
	if err != nil && len(fs) == 0 {
		return err
	}
	res.Ledger.Record(s.Probes.Name(), pipeline.URL, target, pipeline.AsNotice(err))
	res.Findings[s.Probes.Name()] = fs
	return nil
}
