package scan

import (
	"context"
	"fmt"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/cluster"
	"github.com/vigilsec/vigil/pkg/scan/code"
	"github.com/vigilsec/vigil/pkg/scan/source"
	"github.com/vigilsec/vigil/pkg/scan/source/awsaccount"
	"github.com/vigilsec/vigil/pkg/scan/source/git"
	"github.com/vigilsec/vigil/pkg/scan/source/imageref"
	"github.com/vigilsec/vigil/pkg/scan/source/kubeapi"
	"github.com/vigilsec/vigil/pkg/scan/source/procfs"
	"github.com/vigilsec/vigil/pkg/scan/source/service"
	"github.com/vigilsec/vigil/pkg/scan/source/stdin"
	"github.com/vigilsec/vigil/pkg/scan/source/tree"
)

// registry lists every source, one line each, in the order targets are
// matched: the file tree claims whatever no other source does.
func (s *Scanner) registry(secrets *code.Secrets, cloudChecks []*checks.Check, opts Options) source.Registry {
	images := imageref.Source{Images: s.images, Options: opts.Image, Budget: s.budget}
	return source.Registry{
		stdin.Source{Files: s.files, In: opts.Stdin},
		service.Source{Probes: s.probes},
		git.Source{Secrets: secrets},
		awsaccount.Source{Checks: cloudChecks, Options: opts.AWS},
		procfs.Source{Runtime: s.runtime},
		kubeapi.Source{Manifests: s.manifests(), PageSize: opts.KubePageSize, Context: opts.KubeContext, Namespace: opts.KubeNamespace},
		images,
		tree.Source{Files: s.files, Layouts: images, LayoutScanner: s.images.Name(), Budget: s.budget},
	}
}

// manifests is the kubernetes file scanner, or nil when it is not run.
func (s *Scanner) manifests() *cluster.Manifests {
	for _, f := range s.files {
		if m, ok := f.(*cluster.Manifests); ok {
			return m
		}
	}
	return nil
}

// Source returns the source a target belongs to.
func (s *Scanner) Source(target string) source.Source {
	return s.sources.Resolve(target) // the tree matches anything
}

// Normalize returns the canonical spelling of a target: the same target
// spelled two ways is one scope.
func (s *Scanner) Normalize(target string) string {
	return s.Source(target).Normalize(target)
}

// Target scans one target. Paths in findings start with the cleaned
// target, or inside a git repository with the path from its root, so the
// same target gives the same fingerprints whichever way it was spelled and
// wherever it was checked out. Every finding leaves through one path: redacted, made valid
// UTF-8, exempted by the target's ignore file, one per fingerprint. An
// error means the target could not be scanned at all; what could not be
// read inside it is in the ledger.
func (s *Scanner) Target(ctx context.Context, target, tenant string) (*Result, error) {
	src := s.Source(target)
	target = src.Normalize(target)
	res := source.NewResult(target, s.Names())
	secrets := &pipeline.Secrets{}
	if err := src.Scan(pipeline.WithSecrets(ctx, secrets), res, target, tenant); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("target %s: %w", target, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pipeline.Finish(res.Findings, res.Exempt, secrets, res.Ledger)
	return res, nil
}
