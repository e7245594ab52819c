// Package scan runs the analyzers of every pillar over targets: paths on
// disk, images, clusters, cloud accounts, services. `vigil scan` and the
// agent both call it, and both resolve a target through its one registry
// of sources, so a target is scanned the same way wherever it is scanned.
package scan

import (
	"context"
	"io"
	"slices"
	"sort"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	awscollect "github.com/vigilsec/vigil/pkg/scan/cloud/aws"
	"github.com/vigilsec/vigil/pkg/scan/cloud/cloudformation"
	"github.com/vigilsec/vigil/pkg/scan/cloud/terraform"
	"github.com/vigilsec/vigil/pkg/scan/cluster"
	"github.com/vigilsec/vigil/pkg/scan/code"
	"github.com/vigilsec/vigil/pkg/scan/code/dast"
	"github.com/vigilsec/vigil/pkg/scan/container"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
	"github.com/vigilsec/vigil/pkg/scan/container/proc"
	"github.com/vigilsec/vigil/pkg/scan/container/signature"
	"github.com/vigilsec/vigil/pkg/scan/source"
	"github.com/vigilsec/vigil/pkg/scan/source/awsaccount"
	"github.com/vigilsec/vigil/pkg/scan/source/git"
	"github.com/vigilsec/vigil/pkg/scan/source/kubeapi"
	"github.com/vigilsec/vigil/pkg/scan/source/procfs"
	"github.com/vigilsec/vigil/pkg/scan/source/stdin"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// FileScanner analyzes one kind of file; see source.FileScanner.
type FileScanner = source.FileScanner

// Result is the outcome of scanning one target; see source.Result.
type Result = source.Result

// Scanner runs a fixed set of analyzers over targets resolved through one
// registry of sources.
type Scanner struct {
	files   []FileScanner
	images  *image.Scanner
	probes  *code.Probes
	runtime *proc.Scanner
	sources source.Registry
	// budget bounds the memory of scans in flight (nil: unbounded); tests
	// read its peak.
	budget          *source.Budget
	analyzerVersion string
}

// The prefixes of targets that are not paths, spelled by their sources.
const (
	// GitTarget prefixes a git repository ("git:./repo") whose whole
	// history is searched for secrets; its findings belong to
	// HistoryScanner.
	GitTarget = git.Prefix
	// RuntimeTarget prefixes a /proc folder ("runtime:/host/proc") whose
	// running container processes are scanned; "runtime:" alone is /proc.
	RuntimeTarget = procfs.Prefix
	// KubernetesTarget prefixes a cluster scanned through its API:
	// "k8s:PATH" by a kubeconfig file, "k8s:in-cluster" by the pod's
	// service account, "k8s:" alone by the default kubeconfig.
	KubernetesTarget = kubeapi.Prefix
	// AWSTarget is the AWS account of the default credential chain
	// ("aws:"), or every account of its organisation through a role
	// ("aws:org/ROLE").
	AWSTarget = awsaccount.Prefix
	// StdinTarget is the target name that reads manifests from standard
	// input.
	StdinTarget = stdin.Target
)

// HistoryScanner and AWSScanner are the scanner names of findings in git
// history and on live AWS resources.
const (
	HistoryScanner = git.Scanner
	AWSScanner     = awsaccount.Scanner
)

// Options configure the scanners beyond the check catalog.
type Options struct {
	// VulnDB is the OSV data dependency files are matched against; without
	// it they are parsed but not matched.
	VulnDB *vuln.DB
	// Image configures how image references are resolved (platform,
	// plain-HTTP registries, credentials).
	Image image.OpenOptions
	// ImageLimits bound what reading one image may cost.
	ImageLimits image.Limits
	// Signatures verifies registry images' signatures; nil skips them.
	Signatures *signature.Verifier
	// DAST bounds probes of http(s) targets: only its allowed hosts are
	// probed.
	DAST dast.Options
	// SecretKey keys the hashes of secrets found; scanners that share it
	// recognise the same secret. DefaultSecretKey when empty.
	SecretKey []byte
	// Scanners, when set, are the only file scanners that run, by name
	// ("secrets", "kubernetes", "sast-go", …).
	Scanners []string
	// AWS configures the collection of aws: targets (regions, retries).
	AWS awscollect.Options
	// KubePageSize bounds each list call to a cluster's API (0: 500).
	KubePageSize int64
	// KubeContext names the kubeconfig context of k8s: targets (empty: the
	// current one); KubeNamespace limits them to one namespace.
	KubeContext, KubeNamespace string
	// MaxMemory bounds the memory scans hold at once (0: no bound). File,
	// set and image scans reserve an estimate of their peak and wait while
	// the budget is spent. Pair it with debug.SetMemoryLimit for the heap.
	MaxMemory int64
	// Stdin is read for the target "-" (os.Stdin when nil): manifests
	// piped from helm template or kustomize build.
	Stdin io.Reader
}

// DefaultSecretKey keys secret hashes when no key is configured. A fleet
// should set its own so hashes cannot be checked against guesses offline.
var DefaultSecretKey = []byte("vigil-secret-hash-v1")

// New returns a Scanner with every built-in file scanner over the catalog.
func New(cat *checks.Catalog) *Scanner { return NewWith(cat, Options{}) }

// NewWith returns a Scanner with every built-in file scanner, configured.
func NewWith(cat *checks.Catalog, opts Options) *Scanner {
	key := opts.SecretKey
	if len(key) == 0 {
		key = DefaultSecretKey
	}
	imgs := image.NewScanner(cat, opts.VulnDB, key)
	imgs.Limits = opts.ImageLimits
	imgs.Verifier = opts.Signatures
	secrets := code.NewSecrets(cat, key)
	files := []FileScanner{cluster.NewManifests(cat), cluster.NewCertificates(cat), container.NewDockerfiles(cat),
		code.NewDependencies(cat, opts.VulnDB), secrets, code.NewGoSAST(cat), code.NewPatterns(cat), terraform.NewScanner(cat), cloudformation.NewScanner(cat)}
	if len(opts.Scanners) > 0 {
		files = slices.DeleteFunc(files, func(f FileScanner) bool { return !slices.Contains(opts.Scanners, f.Name()) })
	}
	s := &Scanner{budget: source.NewBudget(opts.MaxMemory), files: files, images: imgs, probes: code.NewProbes(cat, opts.DAST), runtime: proc.NewScanner(cat)}
	s.sources = s.registry(secrets, cat.ForInput("cloud"), opts)
	s.analyzerVersion = pipeline.Digest(s.Analyzers(), cat.Digest())
	return s
}

// AnalyzerVersion is the digest of the analyzers at their versions and of
// the checks they run. It travels with every scan; when it changes, a
// scope is sent in full so findings the old analyzers made and the new
// ones do not are resolved, not kept by a delta. A release that changes no
// analyzer and no check keeps it, and the fleet's next scans stay deltas.
func (s *Scanner) AnalyzerVersion() string { return s.analyzerVersion }

// Analyzers declares every analyzer the scanner runs, in the order of
// Names.
func (s *Scanner) Analyzers() []pipeline.Analyzer {
	out := make([]pipeline.Analyzer, 0, len(s.files)+5)
	for _, f := range s.files {
		out = append(out, f.Describe())
	}
	return append(out, s.images.Describe(), s.runtime.Describe(), git.Analyzer, s.probes.Describe(), awsaccount.Analyzer)
}

// FileScanners are the names of the built-in file scanners.
func FileScanners() []string {
	var out []string
	for _, f := range NewWith(&checks.Catalog{}, Options{}).files {
		out = append(out, f.Name())
	}
	return out
}

// Images returns the image scanner, whose cache of analyses by digest the
// file scans share.
func (s *Scanner) Images() *image.Scanner { return s.images }

// Names returns the scanner names, the unit of a scope together with a target.
func (s *Scanner) Names() []string {
	as := s.Analyzers()
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}

// Run scans every target and returns one report, findings sorted by path,
// line and check. A target that cannot be scanned at all is listed in
// FailedTargets; the coverage of the others adds up in Coverage.
func (s *Scanner) Run(ctx context.Context, targets []string, tenant string) (*vigilv1.ScanReport, error) {
	rep := &vigilv1.ScanReport{Coverage: &vigilv1.Coverage{}, Errors: []*vigilv1.ScanError{}, FailedTargets: []*vigilv1.ScanError{}}
	for _, a := range s.Analyzers() {
		rep.Analyzers = append(rep.Analyzers, a.String())
	}
	for _, t := range targets {
		res, err := s.Target(ctx, t, tenant)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			rep.FailedTargets = append(rep.FailedTargets, &vigilv1.ScanError{Path: t, Error: err.Error(), Reason: pipeline.Classify(err)})
			continue
		}
		for _, name := range s.Names() {
			rep.Findings = append(rep.Findings, res.Findings[name]...)
		}
		rep.Errors = append(rep.Errors, res.Ledger.Notices("")...)
		pipeline.Merge(rep.Coverage, res.Ledger.Coverage(""))
	}
	for _, f := range rep.FailedTargets {
		finding.Sanitize(f)
	}
	rep.Findings = pipeline.Unique(rep.Findings)
	Sort(rep.Findings)
	return rep, nil
}

// Sort orders findings by path, line, check id and fingerprint.
func Sort(fs []*vigilv1.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if pa, pb := a.GetLocation().GetPath(), b.GetLocation().GetPath(); pa != pb {
			return pa < pb
		}
		if la, lb := a.GetLocation().GetStartLine(), b.GetLocation().GetStartLine(); la != lb {
			return la < lb
		}
		if a.CheckId != b.CheckId {
			return a.CheckId < b.CheckId
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint) < 0
	})
}
