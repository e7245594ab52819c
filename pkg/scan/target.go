package scan

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
)

// Result is the outcome of scanning one target.
type Result struct {
	// Findings per scanner name; every scanner has an entry, maybe empty.
	Findings map[string][]*vigilv1.Finding
	// Ledger accounts for every unit of the target: per scanner
	// (Coverage(name)) and as a whole (Coverage("")), with the notices.
	Ledger *pipeline.Ledger
	// Durations is the time each scanner spent, summed over its files and
	// its set scan (scanners run in parallel, so the sum may exceed the
	// wall time of the target).
	Durations map[string]time.Duration
	// Identity names the target as a scope: the canonical target, unless
	// the source knows a name that outlives its spelling (a cluster's UID
	// rather than the kubeconfig that reached it).
	Identity string
	// Scanners are the scanners whose scopes the target holds: all of them,
	// unless the source reads through one (a cluster's API).
	Scanners []string
	// Discovered are further targets the source came upon, for the caller
	// to scan in turn (the images a cluster runs).
	Discovered []string
	// exempt drops findings the target's own ignore file exempts.
	exempt func(*vigilv1.Finding) bool
}

// source is one kind of target: how its name is recognised, made
// canonical, and scanned. Every target string goes through this table,
// from the CLI and from the agent alike.
type source struct {
	// match reports whether a target names this source.
	match func(target string) bool
	// normalize makes the target canonical (nil: as given).
	normalize func(target string) string
	scan      func(s *Scanner, ctx context.Context, res *Result, target, tenant string) error
}

var sources = []source{
	{match: func(t string) bool { return t == StdinTarget }, scan: (*Scanner).stdin},
	{match: func(t string) bool {
		return strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://")
	}, scan: (*Scanner).url},
	{match: func(t string) bool { return strings.HasPrefix(t, GitTarget) }, scan: (*Scanner).git},
	{match: func(t string) bool { return strings.HasPrefix(t, AWSTarget) }, scan: (*Scanner).aws},
	{match: func(t string) bool { return strings.HasPrefix(t, RuntimeTarget) }, scan: (*Scanner).runtimeProcs},
	{match: func(t string) bool { return strings.HasPrefix(t, KubernetesTarget) }, scan: (*Scanner).kubernetes},
	{match: image.IsReference, scan: (*Scanner).image},
	{match: func(string) bool { return true }, normalize: filepath.Clean, scan: (*Scanner).tree},
}

func sourceOf(target string) source {
	i := slices.IndexFunc(sources, func(s source) bool { return s.match(target) })
	return sources[i] // the tree matches anything
}

// Normalize returns the canonical spelling of a target: the same target
// spelled two ways is one scope.
func Normalize(target string) string {
	if src := sourceOf(target); src.normalize != nil {
		return src.normalize(target)
	}
	return target
}

// Target scans one target. Paths in findings start with the cleaned
// target, so the same target gives the same fingerprints whichever way it
// was spelled. Every finding leaves through one path: redacted, made valid
// UTF-8, exempted by the target's ignore file, one per fingerprint. An
// error means the target could not be scanned at all; what could not be
// read inside it is in the ledger.
func (s *Scanner) Target(ctx context.Context, target, tenant string) (*Result, error) {
	res := &Result{Findings: map[string][]*vigilv1.Finding{}, Ledger: pipeline.NewLedger(), Durations: map[string]time.Duration{},
		Scanners: s.Names()}
	for _, name := range res.Scanners {
		res.Findings[name] = []*vigilv1.Finding{}
	}
	src := sourceOf(target)
	if src.normalize != nil {
		target = src.normalize(target)
	}
	res.Identity = target
	secrets := &pipeline.Secrets{}
	if err := src.scan(s, pipeline.WithSecrets(ctx, secrets), res, target, tenant); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("target %s: %w", target, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pipeline.Finish(res.Findings, res.exempt, secrets, res.Ledger)
	return res, nil
}
