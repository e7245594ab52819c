// Package scan runs the file scanners of every pillar over paths on disk.
// `vigil scan` and the agent both call it, so a path is scanned the same way
// wherever it is scanned.
package scan

import (
	"context"
	"fmt"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/finding"
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
	ScanSet(ctx context.Context, files []cluster.File, tenant string) ([]*vigilv1.Finding, error)
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
	// budget bounds the memory of scans in flight (nil: unbounded).
	budget *budget
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

// AWSTarget is the AWS account of the default credential chain ("aws:"),
// or every account of its organisation through a role ("aws:org/ROLE").
const AWSTarget = "aws:"

// AWSScanner is the scanner name of findings on live AWS resources.
const AWSScanner = "aws"

// StdinTarget is the target name that reads manifests from standard input.
const StdinTarget = "-"

// stdin scans YAML read from standard input as one manifest stream.
func (s *Scanner) stdin(ctx context.Context, tenant string) (*Result, error) {
	r := s.Stdin
	if r == nil {
		r = os.Stdin
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("stdin: more than %d bytes", MaxFileSize)
	}
	res := &Result{Findings: map[string][]*vigilv1.Finding{}}
	for _, fsc := range s.files {
		res.Findings[fsc.Name()] = []*vigilv1.Finding{}
		if !fsc.Match("stdin.yaml") {
			continue
		}
		fs, err := fsc.ScanFile(ctx, StdinTarget, data, tenant)
		if err != nil {
			res.Errors = append(res.Errors, &vigilv1.ScanError{Path: StdinTarget, Error: err.Error()})
		}
		if ss, ok := fsc.(SetScanner); ok {
			set, err := ss.ScanSet(ctx, []cluster.File{{Path: StdinTarget, Data: data}}, tenant)
			if err != nil {
				res.Errors = append(res.Errors, &vigilv1.ScanError{Path: StdinTarget, Error: err.Error()})
			}
			fs = append(fs, set...)
		}
		for _, f := range fs {
			finding.RedactSecrets(f)
		}
		res.Findings[fsc.Name()] = dedupe(fs)
	}
	return res, nil
}

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
	return &Scanner{budget: newBudget(opts.MaxMemory), files: files, secrets: secrets, probes: code.NewProbes(cat, opts.DAST), images: imgs, imgOpt: opts.Image, runtime: proc.NewScanner(cat),
		cloudChecks: cat.ForInput("cloud"), awsOpt: opts.AWS}
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
	out := make([]string, 0, len(s.files)+1)
	for _, f := range s.files {
		out = append(out, f.Name())
	}
	return append(out, s.images.Name(), s.runtime.Name(), HistoryScanner, s.probes.Name(), AWSScanner)
}

// Result is the outcome of scanning one target.
type Result struct {
	// Findings per scanner name; every scanner has an entry, maybe empty.
	Findings map[string][]*vigilv1.Finding
	Errors   []*vigilv1.ScanError
	// Durations is the time each scanner spent, summed over its files and
	// its set scan (scanners run in parallel, so the sum may exceed the
	// wall time of the target).
	Durations map[string]time.Duration
}

// Target scans one file or directory tree. Paths in findings start with
// the cleaned target, so the same target gives the same fingerprints
// whichever way it was spelled.
func (s *Scanner) Target(ctx context.Context, target, tenant string) (*Result, error) {
	res, err := s.target(ctx, target, tenant)
	if res != nil {
		for _, fs := range res.Findings {
			for _, f := range fs {
				finding.Sanitize(f)
			}
		}
		for _, e := range res.Errors {
			finding.Sanitize(e)
		}
	}
	return res, err
}

// target scans one target; Target makes its strings valid UTF-8.
func (s *Scanner) target(ctx context.Context, target, tenant string) (*Result, error) {
	if target == StdinTarget {
		return s.stdin(ctx, tenant)
	}
	res := &Result{Findings: map[string][]*vigilv1.Finding{}}
	for _, name := range s.Names() {
		res.Findings[name] = []*vigilv1.Finding{}
	}
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		fs, err := s.probes.Probe(ctx, target, tenant)
		if err != nil && len(fs) == 0 {
			return nil, err
		}
		if err != nil {
			res.Errors = append(res.Errors, &vigilv1.ScanError{Path: target, Error: err.Error()})
		}
		res.Findings[s.probes.Name()] = dedupe(fs)
		return res, nil
	}
	if repo, ok := strings.CutPrefix(target, GitTarget); ok {
		fs, err := s.secrets.History(ctx, repo, tenant)
		if err != nil {
			return nil, err
		}
		res.Findings[HistoryScanner] = dedupe(fs)
		return res, nil
	}
	if spec, ok := strings.CutPrefix(target, AWSTarget); ok {
		return s.aws(ctx, res, target, spec, tenant)
	}
	if procRoot, ok := strings.CutPrefix(target, RuntimeTarget); ok {
		if procRoot == "" {
			procRoot = "/proc"
		}
		fs, errs := s.runtime.Scan(ctx, procRoot, tenant)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Findings[s.runtime.Name()] = dedupe(fs)
		for _, e := range errs {
			res.Errors = append(res.Errors, &vigilv1.ScanError{Path: procRoot, Error: e.Error()})
		}
		return res, nil
	}
	if image.IsReference(target) {
		if err := s.image(ctx, res, target, tenant); err != nil {
			return nil, err
		}
		return res, nil
	}
	target = filepath.Clean(target)
	info, err := os.Stat(target)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target, err)
	}
	type job struct {
		path string
		fs   FileScanner
	}
	var jobs []job
	var layouts []string
	add := func(p string) {
		for _, f := range s.files {
			if f.Match(p) {
				jobs = append(jobs, job{p, f})
			}
		}
	}
	ig := &ignore{}
	if !info.IsDir() {
		add(target)
	} else {
		if ig, err = loadIgnore(target); err != nil {
			res.Errors = append(res.Errors, &vigilv1.ScanError{Path: filepath.ToSlash(filepath.Join(target, IgnoreFile)), Error: err.Error()})
		}
		err := filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				res.Errors = append(res.Errors, &vigilv1.ScanError{Path: p, Error: err.Error()})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if rel, _ := filepath.Rel(target, p); p != target && ig.skips(filepath.ToSlash(rel)) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if p != target && skipDirs[d.Name()] {
					return fs.SkipDir
				}
				if image.IsLayout(p) {
					layouts = append(layouts, p)
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", target, err)
		}
	}

	type out struct {
		scanner  string
		findings []*vigilv1.Finding
		err      *vigilv1.ScanError
		took     time.Duration
	}
	results := make([]out, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				var size int64
				if s.budget != nil {
					if fi, err := os.Stat(j.path); err == nil {
						size = fi.Size()
					}
				}
				release, err := s.budget.reserve(ctx, fileCost(j.fs, size))
				if err != nil {
					continue // the context ended; reported below
				}
				began := time.Now()
				fs, err := scanFile(ctx, j.fs, j.path, tenant)
				release()
				results[i] = out{scanner: j.fs.Name(), findings: fs, took: time.Since(began)}
				if err != nil {
					results[i].err = &vigilv1.ScanError{Path: filepath.ToSlash(j.path), Error: err.Error()}
				}
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Durations = map[string]time.Duration{}
	for _, r := range results {
		res.Durations[r.scanner] += r.took
		res.Findings[r.scanner] = append(res.Findings[r.scanner], r.findings...)
		if r.err != nil {
			res.Errors = append(res.Errors, r.err)
		}
	}
	for _, fsc := range s.files {
		ss, ok := fsc.(SetScanner)
		if !ok {
			continue
		}
		var total int64
		for _, j := range jobs {
			if s.budget == nil || j.fs != fsc {
				continue
			}
			if fi, err := os.Stat(j.path); err == nil {
				total += fi.Size()
			}
		}
		release, err := s.budget.reserve(ctx, setCost(fsc.Name(), total))
		if err != nil {
			return nil, err
		}
		var files []cluster.File
		for _, j := range jobs {
			if j.fs != fsc {
				continue
			}
			path := j.path
			files = append(files, cluster.File{Path: filepath.ToSlash(path), Read: func() ([]byte, error) { return readFile(path) }})
		}
		began := time.Now()
		fs, err := ss.ScanSet(ctx, files, tenant)
		res.Durations[fsc.Name()] += time.Since(began)
		files = nil
		release()
		for _, f := range fs {
			finding.RedactSecrets(f)
		}
		res.Findings[fsc.Name()] = append(res.Findings[fsc.Name()], fs...)
		if err != nil {
			res.Errors = append(res.Errors, &vigilv1.ScanError{Path: target, Error: err.Error()})
		}
	}
	for _, l := range layouts {
		if err := s.image(ctx, res, filepath.ToSlash(l), tenant); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			res.Errors = append(res.Errors, &vigilv1.ScanError{Path: filepath.ToSlash(l), Error: err.Error()})
		}
	}
	for name, fs := range res.Findings {
		kept := fs[:0]
		for _, f := range fs {
			if !ig.fingerprints[f.Fingerprint] {
				kept = append(kept, f)
			}
		}
		res.Findings[name] = dedupe(kept)
	}
	return res, nil
}

// aws collects the accounts of an aws: target and judges their resources.
// Lists and attributes the credentials may not read are reported as not
// assessed, with the checks they leave unjudged.
func (s *Scanner) aws(ctx context.Context, res *Result, target, spec, tenant string) (*Result, error) {
	opts := s.awsOpt
	if role, ok := strings.CutPrefix(spec, "org/"); ok {
		opts.Organization, opts.RoleName = true, role
	} else if spec != "" {
		return nil, fmt.Errorf("target %s: want aws: or aws:org/ROLE", target)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("target %s: AWS credentials: %w", target, err)
	}
	inv, err := awscollect.Collect(ctx, cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target, err)
	}
	fs, skipped, err := cloud.Evaluate(ctx, s.cloudChecks, inv.Resources, tenant, AWSScanner, nil)
	if err != nil {
		res.Errors = append(res.Errors, &vigilv1.ScanError{Path: target, Error: err.Error()})
	}
	for _, f := range fs {
		f.Location = &vigilv1.Location{Path: f.Resource.Name}
	}
	res.Findings[AWSScanner] = dedupe(fs)
	for _, e := range inv.Errors {
		res.Errors = append(res.Errors, &vigilv1.ScanError{Path: target, Error: e.Error()})
	}
	for _, n := range inv.NotAssessed {
		res.Errors = append(res.Errors, &vigilv1.ScanError{Path: target, Error: "not assessed: " + n})
	}
	// One line per check and reason, however many resources it covers.
	type key struct{ check, attr, reason string }
	count := map[key]int{}
	var order []key
	for _, n := range skipped {
		k := key{n.Check, n.Attr, n.Reason}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	for _, k := range order {
		res.Errors = append(res.Errors, &vigilv1.ScanError{Path: target,
			Error: fmt.Sprintf("%s not assessed on %d resource(s): %s unreadable (%s)", k.check, count[k], k.attr, k.reason)})
	}
	return res, nil
}

// image scans every image behind a reference into res.
func (s *Scanner) image(ctx context.Context, res *Result, ref, tenant string) error {
	// An image holds one file of up to MaxFileBytes at a time plus its
	// inventory; it reserves that much.
	release, err := s.budget.reserve(ctx, imageCost)
	if err != nil {
		return err
	}
	rep, err := s.images.ScanRef(ctx, ref, tenant, s.imgOpt)
	release()
	if err != nil {
		return err
	}
	name := s.images.Name()
	res.Findings[name] = append(res.Findings[name], rep.Findings...)
	res.Errors = append(res.Errors, rep.Errors...)
	return nil
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
		return nil, fmt.Errorf("%s: file is larger than %d bytes; skipped", path, MaxFileSize)
	}
	return data, nil
}

func scanFile(ctx context.Context, fsc FileScanner, path, tenant string) (out []*vigilv1.Finding, err error) {
	defer func() {
		// A scanner's flaw on one file must not end the scan of the others.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s: %s scanner failed: %v", path, fsc.Name(), r)
		}
	}()
	if ss, ok := fsc.(StreamScanner); ok {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		fs, err := ss.ScanStream(ctx, filepath.ToSlash(path), f, tenant)
		for _, f := range fs {
			finding.RedactSecrets(f)
		}
		return fs, err
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	fs, err := fsc.ScanFile(ctx, filepath.ToSlash(path), data, tenant)
	for _, f := range fs {
		finding.RedactSecrets(f)
	}
	return fs, err
}

// Run scans every target and returns one report, findings sorted by path,
// line and check. A target that cannot be read is reported in errors.
func (s *Scanner) Run(ctx context.Context, targets []string, tenant string) (*vigilv1.ScanReport, error) {
	rep := &vigilv1.ScanReport{}
	for _, t := range targets {
		res, err := s.Target(ctx, t, tenant)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			rep.Errors = append(rep.Errors, &vigilv1.ScanError{Path: t, Error: err.Error()})
			continue
		}
		for _, name := range s.Names() {
			rep.Findings = append(rep.Findings, res.Findings[name]...)
		}
		rep.Errors = append(rep.Errors, res.Errors...)
	}
	rep.Findings = dedupe(rep.Findings)
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

// dedupe drops findings with a fingerprint seen before (the same file
// reached through two targets, or one field reported twice).
func dedupe(fs []*vigilv1.Finding) []*vigilv1.Finding {
	seen := make(map[string]bool, len(fs))
	out := fs[:0]
	for _, f := range fs {
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		out = append(out, f)
	}
	return out
}
