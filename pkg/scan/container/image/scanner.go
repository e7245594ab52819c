package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/rpmdb"
	"github.com/vigilsec/vigil/pkg/sbom"
	"github.com/vigilsec/vigil/pkg/scan/container/signature"
	"github.com/vigilsec/vigil/pkg/secret"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// Analyzer check ids of image contents.
const (
	CheckSetuid        = "VGL-CONTAINER-110"
	CheckWorldWritable = "VGL-CONTAINER-111"
	CheckSecretFile    = "VGL-CONTAINER-112"
	CheckVulnOS        = "VGL-CONTAINER-120"
	CheckVulnApp       = "VGL-CONTAINER-121"
	CheckUnsigned      = "VGL-CONTAINER-130"
	CheckSigInvalid    = "VGL-CONTAINER-131"
	CheckSigUntrusted  = "VGL-CONTAINER-132"
)

// Scanner scans images: the configuration with the catalog's "image"
// checks, the contents with Go analyzers, and packages against OSV data.
// Analyses are cached by image digest, so an image reached under many
// names, or by many workloads, is read and matched once.
type Scanner struct {
	config   []*checks.Check
	analyzer map[string]*checks.Check
	// DB is the vulnerability data; without it packages are listed but not
	// matched.
	DB      *vuln.DB
	Limits  Limits
	Secrets *secret.Scanner
	// Verifier checks registry images' signatures against trusted keys;
	// without it signatures are not checked.
	Verifier *signature.Verifier

	mu    sync.Mutex
	cache map[string]*cacheEntry
	order []string
}

// CacheSize is how many image analyses a Scanner keeps.
const CacheSize = 128

type cacheEntry struct {
	done chan struct{}
	a    *Analysis
	err  error
}

// NewScanner returns an image scanner over the catalog; db may be nil.
// secretKey keys the hashes of secrets found in files.
func NewScanner(cat *checks.Catalog, db *vuln.DB, secretKey []byte) *Scanner {
	s := &Scanner{config: cat.ForInput("image"), analyzer: map[string]*checks.Check{}, DB: db,
		Secrets: secret.New(secretKey), cache: map[string]*cacheEntry{}}
	for _, id := range []string{CheckSetuid, CheckWorldWritable, CheckSecretFile, CheckVulnOS, CheckVulnApp, CheckUnsigned, CheckSigInvalid, CheckSigUntrusted} {
		if c, ok := cat.Get(id); ok {
			s.analyzer[id] = c
		}
	}
	return s
}

// Name is the scanner name used in scopes.
func (s *Scanner) Name() string { return "image" }

// Describe declares the analyzer: version 1 is its first declared version.
func (s *Scanner) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: s.Name(), Version: 1, Reads: []string{pipeline.Image}, Needs: pipeline.NeedVulnData | pipeline.NeedNetwork}
}

// Analysis is what reading one image found, independent of the name it
// was reached by and of the tenant.
type Analysis struct {
	Digest    string
	Config    *v1.ConfigFile
	Inventory Inventory
	// Issues of files: setuid, world-writable, secrets.
	Files []FileIssue
	// Vulns are the advisories matching the inventory's packages.
	Vulns []PackageVuln
	// Errors are problems that did not stop the analysis (a package
	// database that did not parse, a file over the size limit).
	Errors []error
}

// FileIssue is a finding about one file of the image.
type FileIssue struct {
	Check   string
	Path    string
	Message string
	Line    int
	Snippet string
	// Key distinguishes several issues of one check in one file.
	Key string
	// SecretHash is the keyed hash of a credential found.
	SecretHash string
}

// PackageVuln is one advisory affecting one package.
type PackageVuln = sbom.Vuln

// BOM is the bill of materials of an analysis of the image named name.
func (a *Analysis) BOM(name string) sbom.BOM {
	local := strings.HasPrefix(name, TransportLayout) || strings.HasPrefix(name, TransportArchive) || strings.HasPrefix(name, TransportRemote)
	return sbom.BOM{Name: name, Digest: a.Digest, Local: local, Inventory: a.Inventory, Vulns: a.Vulns}
}

// Analyze reads an image once per digest; concurrent and later calls for
// the same digest share the result.
func (s *Scanner) Analyze(ctx context.Context, img v1.Image) (*Analysis, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	key := d.String()
	s.mu.Lock()
	if e, ok := s.cache[key]; ok {
		s.mu.Unlock()
		select {
		case <-e.done:
			return e.a, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e := &cacheEntry{done: make(chan struct{})}
	s.cache[key] = e
	s.order = append(s.order, key)
	if len(s.order) > CacheSize {
		delete(s.cache, s.order[0])
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	e.a, e.err = s.analyze(ctx, img, key)
	if e.err != nil && ctx.Err() != nil {
		// Do not keep a cancelled analysis.
		s.mu.Lock()
		delete(s.cache, key)
		s.mu.Unlock()
	}
	close(e.done)
	return e.a, e.err
}

func (s *Scanner) analyze(ctx context.Context, img v1.Image, digest string) (*Analysis, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	r := &fileReader{ctx: ctx, s: s, a: &Analysis{Digest: digest, Config: cfg}, lim: s.Limits.withDefaults()}
	err = Walk(img, r.lim, func(e *Entry, content io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.modeIssues(r.a, e)
		if content == nil {
			return nil
		}
		return r.read(e, content)
	})
	if err != nil {
		return nil, err
	}
	a := r.a
	if r.osRelease == nil {
		r.osRelease = r.osReleaseFallback
	}
	a.Inventory.OS = parseOSRelease(r.osRelease)
	a.Inventory.Packages = append(a.Inventory.Packages, r.rpmPackages()...)
	finish(&a.Inventory)
	if s.DB != nil {
		s.match(a)
	}
	return a, nil
}

// fileReader reads the files of an image the analysis needs: the
// inventory's, those that may hold secrets, and executables that may be Go
// binaries.
type fileReader struct {
	ctx context.Context
	s   *Scanner
	a   *Analysis
	lim Limits
	// os-release is read from /etc, else from /usr/lib.
	osRelease, osReleaseFallback []byte
	// rpm holds the rpm databases found, by format.
	rpm map[rpmdb.Format]rpmDatabase
}

func (r *fileReader) read(e *Entry, content io.Reader) error {
	if f, ok := rpmdb.FormatOf(e.Path); ok && e.Regular() {
		return r.readRPM(r.ctx, e, f, content)
	}
	wantInventory := inventoryFile(e.Path)
	wantSecret := secretCandidate(e)
	wantBinary := e.Mode&0o111 != 0 && e.Size >= 1024 && e.Size <= r.lim.MaxBinaryBytes
	if !wantInventory && !wantSecret && !wantBinary {
		return nil
	}
	if wantBinary && !wantInventory && !wantSecret {
		var magic [4]byte
		if _, err := io.ReadFull(content, magic[:]); err != nil || string(magic[:]) != "\x7fELF" {
			return nil
		}
		content = io.MultiReader(bytes.NewReader(magic[:]), content)
	}
	max := r.lim.MaxFileBytes
	if wantBinary {
		max = r.lim.MaxBinaryBytes
	}
	if e.Size > max {
		if wantInventory {
			r.a.Errors = append(r.a.Errors, fmt.Errorf("/%s: %d bytes, over the %d byte limit; not read", e.Path, e.Size, max))
		}
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(content, e.Size))
	if err != nil {
		return fmt.Errorf("/%s: %w", e.Path, err)
	}
	if wantInventory {
		r.inventory(e.Path, data)
	}
	if wantBinary && bytes.HasPrefix(data, []byte("\x7fELF")) {
		if pkgs, ok := goBinary("/"+e.Path, data); ok {
			r.a.Inventory.Packages = append(r.a.Inventory.Packages, pkgs...)
		}
	}
	if wantSecret {
		for _, m := range r.s.Secrets.ScanFile(e.Path, data) {
			r.a.Files = append(r.a.Files, FileIssue{Check: CheckSecretFile, Path: "/" + e.Path, Line: m.Line, Snippet: m.Redacted,
				Message: fmt.Sprintf("/%s line %d: %s", e.Path, m.Line, m.Rule.Title), Key: m.Rule.ID + "/" + m.Hash, SecretHash: m.Hash})
		}
	}
	return nil
}

// inventory reads a file the inventory wants: os-release, a package
// database or a lockfile.
func (r *fileReader) inventory(p string, data []byte) {
	var pkgs []Package
	var err error
	switch {
	case p == "etc/os-release":
		r.osRelease = data
	case p == "usr/lib/os-release":
		r.osReleaseFallback = data
	case p == dpkgStatus || strings.HasPrefix(p, dpkgStatusDir):
		pkgs, err = parseDpkgStatus("/"+p, data)
	case p == apkInstalled:
		pkgs, err = parseApkInstalled("/"+p, data)
	default:
		pkgs, err = lockfilePackages("/"+p, data)
	}
	r.a.Inventory.Packages = append(r.a.Inventory.Packages, pkgs...)
	r.a.addErr(err)
}

func (a *Analysis) addErr(err error) {
	if err != nil {
		a.Errors = append(a.Errors, err)
	}
}

// modeIssues records setuid/setgid and world-writable entries.
func (s *Scanner) modeIssues(a *Analysis, e *Entry) {
	const setuid, setgid, sticky = 0o4000, 0o2000, 0o1000
	if e.Regular() && e.Mode&(setuid|setgid) != 0 {
		bits := []string{}
		if e.Mode&setuid != 0 {
			bits = append(bits, "setuid")
		}
		if e.Mode&setgid != 0 {
			bits = append(bits, "setgid")
		}
		a.Files = append(a.Files, FileIssue{Check: CheckSetuid, Path: "/" + e.Path, Key: strings.Join(bits, "+"),
			Message: fmt.Sprintf("/%s is %s (owner %d, mode %04o)", e.Path, strings.Join(bits, " and "), e.UID, e.Mode&0o7777)})
	}
	worldWritable := e.Mode&0o002 != 0
	switch {
	case !worldWritable:
	case e.Regular():
		a.Files = append(a.Files, FileIssue{Check: CheckWorldWritable, Path: "/" + e.Path, Key: "file",
			Message: fmt.Sprintf("/%s is writable by every user (mode %04o)", e.Path, e.Mode&0o7777)})
	case e.Type == '5' && e.Mode&sticky == 0: // directory
		a.Files = append(a.Files, FileIssue{Check: CheckWorldWritable, Path: "/" + e.Path, Key: "dir",
			Message: fmt.Sprintf("directory /%s is writable by every user without the sticky bit (mode %04o)", e.Path, e.Mode&0o7777)})
	}
}

// secretSkip are folders whose files are distribution or library content,
// not the application's: searching them finds test fixtures and examples.
var secretSkip = []string{"usr/share/", "usr/include/", "usr/lib/", "usr/libexec/", "lib/", "lib64/", "var/lib/dpkg/", "var/lib/apk/",
	"var/cache/", "proc/", "sys/", "dev/", "usr/local/go/", "usr/local/lib/"}

var secretSkipDirs = map[string]bool{"node_modules": true, "vendor": true, ".git": true, "site-packages": true,
	"dist-packages": true, "testdata": true, "test": true, "tests": true, "__pycache__": true}

// SecretMaxBytes is the largest file searched for secrets.
const SecretMaxBytes = 2 << 20

// secretCandidate reports whether a file is searched for credentials.
func secretCandidate(e *Entry) bool {
	if !e.Regular() || e.Size == 0 || e.Size > SecretMaxBytes {
		return false
	}
	for _, p := range secretSkip {
		if strings.HasPrefix(e.Path, p) {
			return false
		}
	}
	for _, part := range strings.Split(path.Dir(e.Path), "/") {
		if secretSkipDirs[part] {
			return false
		}
	}
	switch path.Ext(e.Path) {
	case ".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".gz", ".zip", ".jar", ".so", ".a", ".o", ".pyc", ".mo":
		return false
	}
	return true
}

// match looks up every package of the inventory in the vulnerability data.
// Packages it cannot look up (a distribution OSV has no advisories for, an
// ecosystem the data lacks) leave their check not run on the image, with
// the reason; so does data past its age.
func (s *Scanner) match(a *Analysis) {
	type gap struct{ check, what string }
	gaps := map[gap]int{}
	checked := map[string]bool{}
	for _, p := range a.Inventory.Packages {
		check := CheckVulnApp
		if p.OSPackage() {
			check = CheckVulnOS
		}
		switch {
		case p.Ecosystem == "":
			gaps[gap{check, a.Inventory.OS.String()}]++
			continue
		case !s.DB.Covers(p.Ecosystem):
			gaps[gap{check, p.Ecosystem}]++
			continue
		}
		checked[check] = true
		name, version := matchName(p)
		ms, err := s.DB.Query(p.Ecosystem, name, version)
		if err != nil {
			if !errors.Is(err, vuln.ErrUnsupportedEcosystem) {
				a.addErr(fmt.Errorf("%s: %s %s: %w", p.Path, p.Name, p.Version, err))
			} else {
				gaps[gap{check, p.Ecosystem}]++
			}
			continue
		}
		for _, m := range ms {
			a.Vulns = append(a.Vulns, PackageVuln{Package: p, Match: m})
		}
	}
	keys := make([]gap, 0, len(gaps))
	for g := range gaps {
		keys = append(keys, g)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].check+keys[i].what < keys[j].check+keys[j].what })
	for _, g := range keys {
		a.addErr(&pipeline.CheckError{Check: g.check, Reason: pipeline.NoVulnerabilityData,
			Err: fmt.Errorf("%s: no vulnerability data; %d packages not checked", g.what, gaps[g])})
	}
	if err := s.DB.Stale(time.Now()); err != nil {
		for _, check := range []string{CheckVulnOS, CheckVulnApp} {
			if checked[check] {
				a.addErr(&pipeline.CheckError{Check: check, Reason: pipeline.StaleData, Err: err})
			}
		}
	}
}

// matchName is the name and version a package is looked up by: the
// source package for distributions whose advisories name source packages,
// the binary package for Red Hat and Photon OS, whose advisories name
// those, and the package itself elsewhere.
func matchName(p Package) (name, version string) {
	name, version = p.Name, p.Version
	switch p.Type {
	case "deb", "apk":
		name = p.Source
		if p.SourceVersion != "" {
			version = p.SourceVersion
		}
	case "rpm":
		if !strings.HasPrefix(p.Ecosystem, "Red Hat:") && !strings.HasPrefix(p.Ecosystem, "Photon OS:") && p.Source != "" {
			name = p.Source
		}
	}
	return name, version
}

// Scan reads one image and returns its findings under name for tenant.
func (s *Scanner) Scan(ctx context.Context, src Source, tenant string) ([]*vigilv1.Finding, *Analysis, error) {
	a, err := s.Analyze(ctx, src.Image)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	// Credentials in the environment are masked in the snippets of the
	// configuration; the scan masks their other occurrences (the history's
	// commands) too.
	if a.Config != nil {
		for _, kv := range a.Config.Config.Env {
			for _, v := range finding.SecretValues(kv) {
				pipeline.NoteSecret(ctx, v)
			}
		}
	}
	return s.Findings(a, src.Name, tenant), a, nil
}

// Findings turns an analysis into findings. The resource is the image by
// digest: the same image under two names gives the same fingerprints.
func (s *Scanner) Findings(a *Analysis, name, tenant string) []*vigilv1.Finding {
	res := &vigilv1.Resource{Tenant: tenant, Provider: "oci", Kind: "Image", Name: repository(name), Uri: a.Digest}
	id := &vigilv1.Resource{Tenant: tenant, Provider: "oci", Kind: "Image", Uri: a.Digest}
	var out []*vigilv1.Finding
	add := func(c *checks.Check, msg, file string, line int, snippet, key string) *vigilv1.Finding {
		f := c.NewFinding(msg, finding.Site{
			Scanner:  s.Name(),
			Resource: res,
			Location: &vigilv1.Location{Path: name + "!" + file, StartLine: int32(line), EndLine: int32(line), Snippet: snippet},
			Identity: id,
			Path:     file,
			Key:      key,
		})
		out = append(out, f)
		return f
	}
	for _, el := range configElements(a.Config) {
		for _, c := range s.config {
			if c.Each != el.each {
				continue
			}
			fails, err := c.Fails(el.vars)
			if err != nil || !fails {
				continue
			}
			add(c, c.Message(el.vars), "config", 0, el.snippet, el.key)
		}
	}
	for _, fi := range a.Files {
		if c, ok := s.analyzer[fi.Check]; ok {
			add(c, fi.Message, fi.Path, fi.Line, fi.Snippet, fi.Key).SecretHash = fi.SecretHash
		}
	}
	for _, v := range a.Vulns {
		id := CheckVulnApp
		if v.Package.OSPackage() {
			id = CheckVulnOS
		}
		c, ok := s.analyzer[id]
		if !ok {
			continue
		}
		p, m := v.Package, v.Match
		ids := append([]string{m.ID}, m.Aliases...)
		f := add(c, m.Describe(p.Name, p.Version, ""), p.Path, 0, p.Name+" "+p.Version, p.Name+"@"+p.Version+"/"+m.ID)
		f.Package = &vigilv1.Package{Name: p.Name, Version: p.Version, FixedVersion: m.Fixed, Ecosystem: p.Ecosystem}
		vuln.Rate(f, m.Rating)
		f.References = append(f.References, ids...)
	}
	return out
}

// signature verifies a registry image's signatures; nil when they verify
// or are not checked (no trusted keys, or not a registry image).
func (s *Scanner) signature(ctx context.Context, src Source, a *Analysis, tenant string) (*vigilv1.Finding, error) {
	if s.Verifier == nil || src.Ref == nil {
		return nil, nil
	}
	digest, err := v1.NewHash(a.Digest)
	if err != nil {
		return nil, err
	}
	res, err := s.Verifier.Verify(ctx, src.Ref, digest, src.Options...)
	if err != nil {
		return nil, err
	}
	id := map[signature.Status]string{signature.Unsigned: CheckUnsigned, signature.Invalid: CheckSigInvalid, signature.Untrusted: CheckSigUntrusted}[res.Status]
	c, ok := s.analyzer[id]
	if !ok {
		return nil, nil
	}
	return c.NewFinding(res.Detail, finding.Site{
		Scanner:  s.Name(),
		Resource: &vigilv1.Resource{Tenant: tenant, Provider: "oci", Kind: "Image", Name: repository(src.Name), Uri: a.Digest},
		Location: &vigilv1.Location{Path: src.Name + "!signature"},
		Identity: &vigilv1.Resource{Tenant: tenant, Provider: "oci", Kind: "Image", Uri: a.Digest},
		Path:     "signature",
	}), nil
}

// repository drops the tag or digest from an image name.
func repository(name string) string {
	if i := strings.LastIndex(name, "@"); i > 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	return name
}

type configElement struct {
	each    string
	vars    map[string]any
	key     string
	snippet string
}

// configElements builds the CEL variables of an image configuration.
func configElements(cfg *v1.ConfigFile) []configElement {
	if cfg == nil {
		cfg = &v1.ConfigFile{}
	}
	c := cfg.Config
	env := make([]any, 0, len(c.Env))
	var envEls []configElement
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		m := map[string]any{"name": k, "value": v}
		env = append(env, m)
		envEls = append(envEls, configElement{each: "env", vars: map[string]any{"env": m}, key: "env/" + k, snippet: "ENV " + finding.Redact(kv)})
	}
	var ports []any
	var portEls []configElement
	for p := range c.ExposedPorts {
		num, proto, _ := strings.Cut(p, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		m := map[string]any{"number": int64(n), "protocol": proto}
		ports = append(ports, p)
		portEls = append(portEls, configElement{each: "port", vars: map[string]any{"port": m}, key: "port/" + p, snippet: "EXPOSE " + p})
	}
	health := ""
	if c.Healthcheck != nil && len(c.Healthcheck.Test) > 0 {
		health = strings.Join(c.Healthcheck.Test, " ")
		if c.Healthcheck.Test[0] == "NONE" {
			health = "NONE"
		}
	}
	var history []any
	for _, h := range cfg.History {
		history = append(history, h.CreatedBy)
	}
	labels := map[string]any{}
	for k, v := range c.Labels {
		labels[k] = v
	}
	image := map[string]any{
		"user": c.User, "exposed_ports": ports, "env": env, "healthcheck": health, "labels": labels,
		"entrypoint": strs(c.Entrypoint), "cmd": strs(c.Cmd), "os": cfg.OS, "architecture": cfg.Architecture,
		"history": history, "workdir": c.WorkingDir,
	}
	out := []configElement{{each: "", vars: map[string]any{"image": image}, key: "image", snippet: "USER " + c.User}}
	for _, list := range [][]configElement{envEls, portEls} {
		for _, el := range list {
			el.vars["image"] = image
			out = append(out, el)
		}
	}
	return out
}

func strs(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Report is the outcome of scanning every image behind one reference.
type Report struct {
	Findings []*vigilv1.Finding
	// Analyses of the images that were read, in the order of the sources.
	Images []Scanned
	// Errors name the images (or the reference) that could not be read, and
	// why; other images of the reference are still scanned.
	Errors []*vigilv1.ScanError
}

// Scanned is one image read under a name.
type Scanned struct {
	Source   Source
	Analysis *Analysis
	// Errors are the problems of reading it that left it assessed: files
	// that could not be read, checks that could not run (as
	// *pipeline.CheckError), a signature that could not be checked.
	Errors []error
}

// ScanRef opens a reference and scans each of its images.
func (s *Scanner) ScanRef(ctx context.Context, ref, tenant string, opts OpenOptions) (*Report, error) {
	srcs, err := Open(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	for _, src := range srcs {
		fs, a, err := s.Scan(ctx, src, tenant)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rep.Errors = append(rep.Errors, &vigilv1.ScanError{Path: src.Name, Error: err.Error()})
			continue
		}
		// The analysis is shared by every name of the image: copy its errors.
		errs := append([]error(nil), a.Errors...)
		if f, err := s.signature(ctx, src, a, tenant); err != nil {
			errs = append(errs, err)
		} else if f != nil {
			fs = append(fs, f)
		}
		rep.Findings = append(rep.Findings, fs...)
		rep.Images = append(rep.Images, Scanned{Source: src, Analysis: a, Errors: errs})
	}
	if len(rep.Images) == 0 {
		// Nothing was read: say so as a whole, so that callers keep what
		// they knew of the reference rather than resolve it.
		var errs []error
		for _, e := range rep.Errors {
			errs = append(errs, errors.New(e.Error))
		}
		return nil, fmt.Errorf("%s: no image could be read: %w", ref, errors.Join(errs...))
	}
	return rep, nil
}
