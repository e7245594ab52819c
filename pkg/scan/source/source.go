// Package source defines a kind of target, such as a file tree, an image,
// a cluster's API or a cloud account, and the result scanning one yields.
// Each kind lives in its own package below this one; the scanner holds one
// ordered Registry of them, and every target string, from the CLI and the
// agent alike, is resolved through it.
package source

import (
	"context"
	"slices"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// Source is one kind of target: how its name is recognised, spelled
// canonically, and scanned.
type Source interface {
	// Name names the kind of target ("tree", "kubernetes", "aws").
	Name() string
	// Match reports whether a target names this source. It reads the
	// string, and at most looks at what a path is (an OCI layout is a
	// folder); it reads no content.
	Match(target string) bool
	// Normalize returns the canonical spelling of a target this source
	// matched: the same target spelled two ways is one scope.
	Normalize(target string) string
	// Scan scans a normalised target into res. Every unit it tries goes
	// into res.Ledger, its findings into res.Findings by scanner. An error
	// means the target could not be scanned at all.
	Scan(ctx context.Context, res *Result, target, tenant string) error
}

// Registry is the ordered list of sources: a target belongs to the first
// that matches it, so the catch-all (the file tree) comes last.
type Registry []Source

// Resolve returns the source of a target, or nil when none matches.
func (r Registry) Resolve(target string) Source {
	if i := slices.IndexFunc(r, func(s Source) bool { return s.Match(target) }); i >= 0 {
		return r[i]
	}
	return nil
}

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
	// Exempt, when set, drops findings the target's own ignore file
	// exempts.
	Exempt func(*vigilv1.Finding) bool
}

// NewResult returns an empty result for a target named identity, with an
// empty entry for each of scanners.
func NewResult(identity string, scanners []string) *Result {
	res := &Result{Findings: make(map[string][]*vigilv1.Finding, len(scanners)), Ledger: pipeline.NewLedger(),
		Durations: map[string]time.Duration{}, Identity: identity, Scanners: scanners}
	for _, name := range scanners {
		res.Findings[name] = []*vigilv1.Finding{}
	}
	return res
}
