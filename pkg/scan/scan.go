// Package scan runs the file scanners of every pillar over paths on disk.
// `vigil scan` and the agent both call it, so a path is scanned the same way
// wherever it is scanned.
package scan

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	"github.com/vigilsec/vigil/pkg/vuln"
)

// FileScanner analyzes one kind of file.
type FileScanner interface {
	// Name identifies the scanner in scopes ("kubernetes", "dockerfile").
	Name() string
	// Describe declares the analyzer's version, the units it reads and
	// what it needs.
	pipeline.Describer
	// Match reports whether the scanner reads the file at path.
	Match(path string) bool
	// ScanFile returns the findings of one file. An error names the file
	// and the reason; findings returned with it are kept.
	ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error)
}

// SetScanner is a FileScanner with checks over all its files of a target
// at once (a binding and its role, workloads and the policies that select
// them).
type SetScanner interface {
	FileScanner
	ScanSet(ctx context.Context, files []pipeline.Content, tenant string) ([]*vigilv1.Finding, error)
}

// StreamScanner is a FileScanner that also reads a file as a stream, in
// bounded memory; files larger than MaxFileSize are given to it that way.
type StreamScanner interface {
	FileScanner
	ScanStream(ctx context.Context, path string, r io.Reader, tenant string) ([]*vigilv1.Finding, error)
}

// MaxFileSize is the largest file a scanner reads whole into memory.
const MaxFileSize = 16 << 20

// skipDirs are never descended into.
var skipDirs = map[string]bool{".git": true, "node_modules": true, ".terraform": true}

// Scanner runs a fixed set of file scanners.
type Scanner struct {
	probes  *code.Probes
	files   []FileScanner
	secrets *code.Secrets
	images  *image.Scanner
	runtime *proc.Scanner
	imgOpt  image.OpenOptions
	// cloudChecks judge live cloud resources; awsOpt configures collection.
	cloudChecks []*checks.Check
	awsOpt      awscollect.Options
	// kubePageSize bounds each list call of a k8s: target (0: the default).
	kubePageSize int64
	// budget bounds the memory of scans in flight (nil: unbounded).
	budget          *budget
	analyzerVersion string
	// Stdin is read for the target "-" (os.Stdin when nil): manifests piped
	// from helm template or kustomize build.
	Stdin io.Reader
}

// GitTarget prefixes a git repository ("git:./repo") whose whole history
// is searched for secrets; its findings belong to HistoryScanner.
const GitTarget = "git:"

// HistoryScanner is the scanner name of secrets found in git history.
const HistoryScanner = "history"

// RuntimeTarget prefixes a /proc folder ("runtime:/host/proc") whose
// running container processes are scanned; "runtime:" alone is /proc.
const RuntimeTarget = "runtime:"

// KubernetesTarget prefixes a cluster scanned through its API:
// "k8s:PATH" by a kubeconfig file, "k8s:in-cluster" by the pod's service
// account, "k8s:" alone by the default kubeconfig and its current context.
const KubernetesTarget = "k8s:"

// AWSTarget is the AWS account of the default credential chain ("aws:"),
// or every account of its organisation through a role ("aws:org/ROLE").
const AWSTarget = "aws:"

// AWSScanner is the scanner name of findings on live AWS resources.
const AWSScanner = "aws"

// StdinTarget is the target name that reads manifests from standard input.
const StdinTarget = "-"

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
	// MaxMemory bounds the memory scans hold at once (0: no bound). File,
	// set and image scans reserve an estimate of their peak and wait while
	// the budget is spent. Pair it with debug.SetMemoryLimit for the heap.
	MaxMemory int64
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
	s := &Scanner{budget: newBudget(opts.MaxMemory), files: files, secrets: secrets, probes: code.NewProbes(cat, opts.DAST), images: imgs, imgOpt: opts.Image, runtime: proc.NewScanner(cat),
		cloudChecks: cat.ForInput("cloud"), awsOpt: opts.AWS, kubePageSize: opts.KubePageSize}
	s.analyzerVersion = pipeline.Digest(s.Analyzers(), cat.Digest())
	return s
}

// AnalyzerVersion is the digest of the analyzers at their versions and of
// the checks they run. It travels with every scan; when it changes, a
// scope is sent in full so findings the old analyzers made and the new
// ones do not are resolved, not kept by a delta. A release that changes no
// analyzer and no check keeps it, and the fleet's next scans stay deltas.
func (s *Scanner) AnalyzerVersion() string { return s.analyzerVersion }

// History is the analyzer of git history: the secret rules over every
// blob ever committed.
var History = pipeline.Analyzer{Name: HistoryScanner, Version: 1, Reads: []string{pipeline.Repository}, Needs: pipeline.NeedGit}

// AWS is the analyzer of live AWS resources: the cloud checks over what
// the account's APIs return.
var AWS = pipeline.Analyzer{Name: AWSScanner, Version: 1, Reads: []string{pipeline.Resource}, Needs: pipeline.NeedNetwork}

// Analyzers declares every analyzer the scanner runs, in the order of
// Names.
func (s *Scanner) Analyzers() []pipeline.Analyzer {
	out := make([]pipeline.Analyzer, 0, len(s.files)+5)
	for _, f := range s.files {
		out = append(out, f.Describe())
	}
	return append(out, s.images.Describe(), s.runtime.Describe(), History, s.probes.Describe(), AWS)
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

// readFile reads a file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, pipeline.NotAssessed(pipeline.TooLarge, fmt.Errorf("%s: file is larger than %d bytes; skipped", path, MaxFileSize))
	}
	return data, nil
}

func scanFile(ctx context.Context, fsc FileScanner, path, tenant string) (out []*vigilv1.Finding, err error) {
	defer func() {
		// A scanner's flaw on one file must not end the scan of the others.
		if r := recover(); r != nil {
			out, err = nil, pipeline.NotAssessed(pipeline.AnalyzerFailed, fmt.Errorf("%s: %s scanner failed: %v", path, fsc.Name(), r))
		}
	}()
	if ss, ok := fsc.(StreamScanner); ok {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ss.ScanStream(ctx, filepath.ToSlash(path), f, tenant)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return fsc.ScanFile(ctx, filepath.ToSlash(path), data, tenant)
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
