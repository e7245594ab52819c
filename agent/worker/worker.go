// Package worker runs an agent's scans: it turns a Spec into targets, scans
// each with every analyzer and hands back each target's result. It is the
// heavy half of the agent, run in the vigil-agent-scan process (or in the
// agent's own process, for tests), so that an idle agent links none of it.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vigilsec/vigil/agent"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan"
	awscollect "github.com/vigilsec/vigil/pkg/scan/cloud/aws"
	"github.com/vigilsec/vigil/pkg/scan/cluster"
	"github.com/vigilsec/vigil/pkg/scan/code/dast"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
	"github.com/vigilsec/vigil/pkg/scan/container/signature"
	"github.com/vigilsec/vigil/pkg/scan/source/kubeapi"
	"github.com/vigilsec/vigil/pkg/scan/source/procfs"
	"github.com/vigilsec/vigil/pkg/scan/source/tree"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// Local is an agent.Scanner that scans in the calling process.
type Local struct {
	// Logger receives the scan's log records (slog.Default when nil).
	Logger *slog.Logger
}

// Check prepares the spec's scanner and reports what it will lack.
func (l Local) Check(ctx context.Context, spec agent.Spec) error {
	j, err := prepare(spec, l.logger(spec))
	if err != nil {
		return err
	}
	// Once, at the agent's start, rather than at every round.
	j.warnUnmetNeeds(spec.VulnDB != "")
	return nil
}

// Scan scans the spec's targets.
func (l Local) Scan(ctx context.Context, spec agent.Spec, emit func(*vigilv1.TargetScan) error) error {
	return Run(ctx, spec, l.logger(spec), emit)
}

func (l Local) logger(spec agent.Spec) *slog.Logger {
	return cmpLogger(l.Logger).With("tenant", spec.Tenant, "agent", spec.Agent)
}

func cmpLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// job is a spec made ready: its targets and the scanner for them.
type job struct {
	targets    []string
	scanner    *scan.Scanner
	scanImages bool
	log        *slog.Logger
}

// prepare loads what the spec's scans need: check packs, vulnerability
// data, trusted keys, and a cluster configuration that must be readable.
func prepare(spec agent.Spec, log *slog.Logger) (*job, error) {
	targets, err := Targets(spec)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, errors.New("no targets: give one or more paths to scan, --node-root, --kubeconfig or --in-cluster")
	}
	if ks := kubeSpec(spec); ks != "" {
		// The cluster itself is reached at each scan; its configuration
		// must read now.
		if _, err := cluster.Connect(ks, spec.KubeContext); err != nil {
			return nil, fmt.Errorf("kubernetes config: %w", err)
		}
	}
	cat, err := checks.Load(spec.ChecksDir)
	if err != nil {
		return nil, err
	}
	opts := scan.Options{
		Image:        image.OpenOptions{Platform: spec.Platform, Insecure: spec.InsecureRegistry},
		DAST:         dast.Options{AllowedHosts: spec.DAST.AllowedHosts, RatePerSecond: spec.DAST.RatePerSecond, Budget: spec.DAST.Budget},
		AWS:          awscollect.Options{Regions: spec.AWSRegions},
		KubePageSize: spec.KubePageSize,
		KubeContext:  spec.KubeContext, KubeNamespace: spec.KubeNamespace,
	}
	if spec.MaxMemory > 0 {
		// Half the budget for the data of scans in flight, the rest for the
		// process (catalog, runtime); the Go heap is held to the whole.
		opts.MaxMemory = spec.MaxMemory / 2
		debug.SetMemoryLimit(spec.MaxMemory)
	}
	if len(spec.TrustedKeys) > 0 {
		if opts.Signatures, err = signature.LoadKeys(spec.TrustedKeys...); err != nil {
			return nil, err
		}
	}
	if spec.VulnDB != "" {
		if opts.VulnDB, err = vuln.Open(spec.VulnDB); err != nil {
			return nil, err
		}
		for _, e := range opts.VulnDB.Errors {
			log.Warn("vulnerability record not loaded", "err", e)
		}
		maxAge := vuln.DefaultMaxAge
		if spec.VulnDBMaxAge != nil {
			maxAge = time.Duration(*spec.VulnDBMaxAge)
		}
		opts.VulnDB.SetMaxAge(maxAge)
		if err := opts.VulnDB.Stale(time.Now()); err != nil {
			log.Warn("vulnerability data is stale; the units matched against it are reported not assessed", "err", err)
		}
	}
	j := &job{scanner: scan.NewWith(cat, opts), scanImages: spec.ScanImages, log: log}
	for _, t := range targets {
		j.targets = append(j.targets, j.fleetName(t))
	}
	return j, nil
}

// Run scans every target of spec, handing each target's result to emit as
// soon as it is done, the images a cluster runs after the cluster when the
// spec asks for them. A target that cannot be scanned is a result with its
// error; Run's own error is the context's, emit's, or the spec's.
func Run(ctx context.Context, spec agent.Spec, log *slog.Logger, emit func(*vigilv1.TargetScan) error) error {
	j, err := prepare(spec, log)
	if err != nil {
		return err
	}
	for _, target := range j.targets {
		discovered, err := j.scanTarget(ctx, target, spec.Tenant, emit)
		if err != nil {
			return err
		}
		if !j.scanImages {
			continue
		}
		// Each image a cluster runs is a target of its own, so an image
		// the registry will not serve keeps its findings. The scanner reads
		// each digest once, however many workloads and tags share it.
		for _, ref := range discovered {
			if _, err := j.scanTarget(ctx, ref, spec.Tenant, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanTarget scans one target and emits its result; it returns the targets
// the scan discovered.
func (j *job) scanTarget(ctx context.Context, target, tenant string, emit func(*vigilv1.TargetScan) error) ([]string, error) {
	started := time.Now()
	res, err := j.scanner.Target(ctx, target, tenant)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, emit(&vigilv1.TargetScan{Target: target, Error: err.Error(), StartedAt: timestamppb.New(started), FinishedAt: timestamppb.Now()})
	}
	ts := &vigilv1.TargetScan{Target: target, Identity: res.Identity, StartedAt: timestamppb.New(started), FinishedAt: timestamppb.Now(),
		ScannerSeconds: map[string]float64{}, AnalyzerVersion: j.scanner.AnalyzerVersion()}
	for name, d := range res.Durations {
		ts.ScannerSeconds[name] = d.Seconds()
	}
	total := res.Ledger.Coverage("")
	for _, e := range total.NotAssessed {
		j.log.WarnContext(ctx, "not assessed", "unit", e.Path, "reason", pipeline.ReasonName(e.Reason), "err", e.Error)
	}
	// A unit no scanner could read (a folder the walk could not enter)
	// keeps the findings every scanner had under it.
	var unreadable []string
	for _, e := range total.NotAssessed {
		if slices.Contains(e.Analyzers, "walk") {
			unreadable = append(unreadable, strings.TrimSuffix(e.Path, "/")+"/")
		}
	}
	for _, name := range res.Scanners {
		cov := res.Ledger.Coverage(name)
		notAssessed := slices.Clone(unreadable)
		for _, e := range cov.NotAssessed {
			notAssessed = append(notAssessed, e.Path)
		}
		ts.Scopes = append(ts.Scopes, &vigilv1.ScopeResult{Scanner: name, Findings: res.Findings[name], Errors: res.Ledger.Notices(name),
			NotAssessed: notAssessed, Coverage: cov})
	}
	for _, p := range Pieces(ts, PieceFindings) {
		if err := emit(p); err != nil {
			return nil, err
		}
	}
	return res.Discovered, nil
}

// PieceFindings bounds the findings of one piece of a target's result.
const PieceFindings = 1000

// Pieces splits a target's result into pieces of at most n findings, in
// scope order: the first carries every field of ts, the others the target
// and their scopes' scanner and findings; all but the last say More.
func Pieces(ts *vigilv1.TargetScan, n int) []*vigilv1.TargetScan {
	first := &vigilv1.TargetScan{Target: ts.Target, Identity: ts.Identity, Error: ts.Error, StartedAt: ts.StartedAt, FinishedAt: ts.FinishedAt,
		ScannerSeconds: ts.ScannerSeconds, AnalyzerVersion: ts.AnalyzerVersion}
	for _, s := range ts.Scopes {
		head := &vigilv1.ScopeResult{Scanner: s.Scanner, Errors: s.Errors, NotAssessed: s.NotAssessed, Coverage: s.Coverage}
		first.Scopes = append(first.Scopes, head)
	}
	out := []*vigilv1.TargetScan{first}
	cur, room := first, n
	for i, s := range ts.Scopes {
		rest := s.Findings
		for len(rest) > 0 {
			if room == 0 {
				cur = &vigilv1.TargetScan{Target: ts.Target, Identity: ts.Identity}
				out = append(out, cur)
				room = n
			}
			take := min(room, len(rest))
			var sr *vigilv1.ScopeResult
			if cur == first {
				sr = first.Scopes[i]
			} else {
				sr = &vigilv1.ScopeResult{Scanner: s.Scanner}
				cur.Scopes = append(cur.Scopes, sr)
			}
			sr.Findings = append(sr.Findings, rest[:take]...)
			rest, room = rest[take:], room-take
		}
	}
	for _, p := range out[:len(out)-1] {
		p.More = true
	}
	return out
}

// fleetName is how the agent names a target to the fleet: its canonical
// spelling, and a local path made absolute, so that one tree configured
// as ./manifests or /srv/app/manifests is one scope with one set of
// fingerprints.
func (j *job) fleetName(target string) string {
	t := j.scanner.Normalize(target)
	if _, ok := j.scanner.Source(t).(tree.Source); ok {
		if abs, err := filepath.Abs(t); err == nil {
			return abs
		}
	}
	return t
}

// warnUnmetNeeds logs each analyzer whose declared needs this spec does
// not meet: what it reads will be reported not assessed.
func (j *job) warnUnmetNeeds(haveVulnData bool) {
	runtime := slices.ContainsFunc(j.targets, func(t string) bool {
		_, ok := j.scanner.Source(t).(procfs.Source)
		return ok
	})
	// Everything but a cluster's API may hold dependency files.
	files := j.scanImages || slices.ContainsFunc(j.targets, func(t string) bool {
		_, ok := j.scanner.Source(t).(kubeapi.Source)
		return !ok
	})
	for _, an := range j.scanner.Analyzers() {
		switch {
		case an.Needs&pipeline.NeedVulnData != 0 && !haveVulnData && files:
			j.log.Warn("analyzer has no vulnerability data (--vuln-db): what it reads is reported as lacking it, never as clean", "analyzer", an.String())
		case an.Needs&pipeline.NeedRoot != 0 && runtime && os.Geteuid() != 0:
			j.log.Warn("analyzer needs root: processes of other users are not assessed", "analyzer", an.String())
		}
	}
}

// Targets turns the spec's per-kind options (node root, images, repos, AWS,
// /proc, a cluster) into targets, each once.
func Targets(spec agent.Spec) ([]string, error) {
	targets := slices.Clone(spec.Targets)
	var err error
	if spec.NodeRoot != "" {
		var nt []string
		nt, err = NodeTargets(spec.NodeRoot)
		targets = append(targets, nt...)
	}
	for _, ref := range spec.Images {
		targets = append(targets, image.AsTarget(ref))
	}
	for _, r := range spec.Repos {
		targets = append(targets, scan.GitTarget+r)
	}
	switch {
	case spec.AWSOrgRole != "":
		targets = append(targets, scan.AWSTarget+"org/"+spec.AWSOrgRole)
	case spec.AWS:
		targets = append(targets, scan.AWSTarget)
	}
	if spec.ProcRoot != "" {
		targets = append(targets, scan.RuntimeTarget+spec.ProcRoot)
	}
	if ks := kubeSpec(spec); ks != "" {
		targets = append(targets, scan.KubernetesTarget+ks)
	}
	seen := map[string]bool{}
	targets = slices.DeleteFunc(targets, func(t string) bool {
		dup := seen[t]
		seen[t] = true
		return dup
	})
	return targets, err
}

// kubeSpec is how the spec reaches a live cluster, "" for none.
func kubeSpec(spec agent.Spec) string {
	if spec.InCluster {
		return cluster.InCluster
	}
	return spec.Kubeconfig
}

// nodePaths are where kubeadm-style nodes keep what node checks read:
// static pod manifests, the PKI, kubeconfigs and encryption configuration
// under /etc/kubernetes, and the kubelet's configuration and certificates.
var nodePaths = []string{"etc/kubernetes", "var/lib/kubelet/config.yaml", "var/lib/kubelet/pki"}

// NodeTargets returns the node paths that exist under root.
func NodeTargets(root string) ([]string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("node root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("node root %s is not a directory", root)
	}
	var out []string
	for _, p := range nodePaths {
		full := filepath.Join(root, filepath.FromSlash(p))
		if _, err := os.Stat(full); err == nil {
			out = append(out, full)
		}
	}
	return out, nil
}
