// Package dast probes running HTTP services for what a scanner can see
// from outside: TLS versions and certificates, security headers, reflected
// input, SQL error leakage, directory listings, exposed .git and .env,
// permissive CORS and login forms over plain HTTP. Only allowed hosts are
// probed, at a bounded rate and within a request budget.
package dast

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Check ids.
const (
	CheckOldTLS       = "VGL-CODE-301"
	CheckCertificate  = "VGL-CODE-302"
	CheckHeaders      = "VGL-CODE-303"
	CheckReflectedXSS = "VGL-CODE-304"
	CheckSQLError     = "VGL-CODE-305"
	CheckDirListing   = "VGL-CODE-306"
	CheckExposedFiles = "VGL-CODE-307"
	CheckCORS         = "VGL-CODE-308"
	CheckPlainLogin   = "VGL-CODE-309"
)

// ErrNotAllowed is returned for a URL whose host is not on the allow-list.
var ErrNotAllowed = errors.New("host is not in the list of hosts allowed for probing")

// ErrBudget is returned when a probe would exceed its request budget.
var ErrBudget = errors.New("request budget exhausted")

// Options bound a probe.
type Options struct {
	// AllowedHosts are the hosts (name or name:port) that may be probed.
	AllowedHosts []string
	// RatePerSecond caps requests per second (default 5).
	RatePerSecond float64
	// Budget caps the requests of one probe (default 60).
	Budget int
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// RootCAs verify certificates (the system pool when nil).
	RootCAs *x509.CertPool
}

// Result is one weakness found, at one URL.
type Result struct {
	Check string
	// Weakness tells apart the weaknesses one check finds on a service
	// (".env" and ".git" for exposed files); "" when the check finds one.
	// The same weakness seen at several URLs is one finding.
	Weakness string
	URL      string
	Message  string
}

// Prober probes URLs.
type Prober struct {
	opts    Options
	limiter *rate.Limiter
	client  *http.Client
	mu      sync.Mutex
	used    int
}

// New returns a prober.
func New(opts Options) *Prober {
	if opts.RatePerSecond <= 0 {
		opts.RatePerSecond = 5
	}
	if opts.Budget <= 0 {
		opts.Budget = 60
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	p := &Prober{opts: opts, limiter: rate.NewLimiter(rate.Limit(opts.RatePerSecond), 1)}
	p.client = &http.Client{
		Timeout: opts.Timeout,
		// Certificates are judged by the TLS check; the other checks
		// still need to talk to a server with a bad one.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Proxy: nil}, // #nosec G402 -- judged separately
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 || !p.allowed(req.URL) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	return p
}

func (p *Prober) allowed(u *url.URL) bool {
	for _, h := range p.opts.AllowedHosts {
		if strings.EqualFold(h, u.Host) || strings.EqualFold(h, u.Hostname()) {
			return true
		}
	}
	return false
}

// Used is how many requests the prober has sent.
func (p *Prober) Used() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// do sends one request within the rate and the budget and reads at most
// 1 MiB of the body.
func (p *Prober) do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	p.mu.Lock()
	if p.used >= p.opts.Budget {
		p.mu.Unlock()
		return nil, nil, ErrBudget
	}
	p.used++
	p.mu.Unlock()
	if err := p.limiter.Wait(ctx); err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "vigil-probe/1")
	resp, err := p.client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, body, err
}

func (p *Prober) get(ctx context.Context, u string, header map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return p.do(ctx, req)
}

// Probe runs every check against one URL. It fails when the host is not
// allowed or the service cannot be reached; a check that runs out of
// budget ends the probe with the results so far and ErrBudget.
func (p *Prober) Probe(ctx context.Context, raw string) ([]Result, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: not an http(s) URL", raw)
	}
	if !p.allowed(u) {
		return nil, fmt.Errorf("%s: %w (allowed: %s)", raw, ErrNotAllowed, strings.Join(p.opts.AllowedHosts, ", "))
	}
	resp, body, err := p.get(ctx, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", raw, err)
	}
	var out []Result
	// check may name a weakness after a space: "VGL-CODE-307 /.env".
	add := func(check, at, format string, args ...any) {
		check, weakness, _ := strings.Cut(check, " ")
		out = append(out, Result{Check: check, Weakness: weakness, URL: at, Message: fmt.Sprintf(format, args...)})
	}
	if u.Scheme == "https" {
		p.checkTLS(ctx, u, add)
	}
	checkHeaders(u, resp, add)
	checkLoginForm(u, body, add)
	steps := []func(context.Context, *url.URL, func(string, string, string, ...any)) error{
		p.checkReflection, p.checkSQLErrors, p.checkListing, p.checkExposedFiles, p.checkCORS,
	}
	for _, step := range steps {
		if err := step(ctx, u, add); err != nil {
			if errors.Is(err, ErrBudget) || ctx.Err() != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func (p *Prober) checkTLS(ctx context.Context, u *url.URL, add func(string, string, string, ...any)) {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: p.opts.Timeout}}
	// A server that completes a TLS 1.0 or 1.1 handshake still offers them.
	dialer.Config = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true, ServerName: u.Hostname()} // #nosec G402 -- probing for old versions
	if conn, err := dialer.DialContext(ctx, "tcp", addr); err == nil {
		v := conn.(*tls.Conn).ConnectionState().Version
		conn.Close()
		add(CheckOldTLS, u.String(), "the server accepts %s, below TLS 1.2", tls.VersionName(v))
	}
	dialer.Config = &tls.Config{InsecureSkipVerify: true, ServerName: u.Hostname()} // #nosec G402 -- verified below with the chain
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return
	}
	state := conn.(*tls.Conn).ConnectionState()
	conn.Close()
	if len(state.PeerCertificates) == 0 {
		return
	}
	leaf := state.PeerCertificates[0]
	now := time.Now()
	switch {
	case now.After(leaf.NotAfter):
		add(CheckCertificate, u.String(), "the certificate expired on %s", leaf.NotAfter.Format(time.DateOnly))
		return
	case now.Before(leaf.NotBefore):
		add(CheckCertificate, u.String(), "the certificate is not valid before %s", leaf.NotBefore.Format(time.DateOnly))
		return
	}
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: u.Hostname(), Roots: p.opts.RootCAs, Intermediates: inter})
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case err == nil:
	case errors.As(err, &unknown) && leaf.Issuer.String() == leaf.Subject.String():
		add(CheckCertificate, u.String(), "the certificate is self-signed (%s)", leaf.Subject)
	case errors.As(err, &unknown):
		add(CheckCertificate, u.String(), "the certificate is issued by an unknown authority (%s)", leaf.Issuer)
	case errors.As(err, &host):
		add(CheckCertificate, u.String(), "the certificate is not valid for %s", u.Hostname())
	default:
		add(CheckCertificate, u.String(), "the certificate does not verify: %v", err)
	}
}

func checkHeaders(u *url.URL, resp *http.Response, add func(string, string, string, ...any)) {
	h := resp.Header
	var missing []string
	if u.Scheme == "https" && h.Get("Strict-Transport-Security") == "" {
		missing = append(missing, "Strict-Transport-Security")
	}
	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		missing = append(missing, "Content-Security-Policy")
	}
	if !strings.EqualFold(h.Get("X-Content-Type-Options"), "nosniff") {
		missing = append(missing, "X-Content-Type-Options: nosniff")
	}
	if h.Get("X-Frame-Options") == "" && !strings.Contains(csp, "frame-ancestors") {
		missing = append(missing, "X-Frame-Options or CSP frame-ancestors")
	}
	if len(missing) > 0 {
		add(CheckHeaders, u.String(), "the response lacks %s", strings.Join(missing, ", "))
	}
}

var passwordInput = regexp.MustCompile(`(?i)<input[^>]+type\s*=\s*["']?password`)
var formAction = regexp.MustCompile(`(?i)<form[^>]+action\s*=\s*["']http://`)

func checkLoginForm(u *url.URL, body []byte, add func(string, string, string, ...any)) {
	if !passwordInput.Match(body) {
		return
	}
	switch {
	case u.Scheme == "http":
		add(CheckPlainLogin, u.String(), "a password form is served over plain HTTP")
	case formAction.Match(body):
		add(CheckPlainLogin, u.String(), "a password form posts to a plain HTTP address")
	}
}

func marker() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "vgl" + hex.EncodeToString(b)
}

// params are the query parameters probed: those of the URL, or q.
func params(u *url.URL) []string {
	var ps []string
	for k := range u.Query() {
		ps = append(ps, k)
	}
	if len(ps) == 0 {
		ps = []string{"q"}
	}
	if len(ps) > 5 {
		ps = ps[:5]
	}
	return ps
}

func withParam(u *url.URL, name, value string) string {
	c := *u
	q := c.Query()
	q.Set(name, value)
	c.RawQuery = q.Encode()
	return c.String()
}

func (p *Prober) checkReflection(ctx context.Context, u *url.URL, add func(string, string, string, ...any)) error {
	for _, name := range params(u) {
		m := marker()
		payload := `"><svg onload=` + m + `>`
		target := withParam(u, name, payload)
		resp, body, err := p.get(ctx, target, nil)
		if err != nil {
			return err
		}
		if strings.Contains(resp.Header.Get("Content-Type"), "html") && strings.Contains(string(body), payload) {
			add(CheckReflectedXSS, target, "parameter %q is reflected into the HTML unescaped", name)
		}
	}
	return nil
}

var sqlErrors = regexp.MustCompile(`(?i)you have an error in your sql syntax|warning: mysql|unclosed quotation mark|quoted string not properly terminated|ORA-\d{5}|pg_query\(\)|PSQLException|syntax error at or near|unterminated quoted string|SQLSTATE\[|sqlite3?\.OperationalError|SQLITE_ERROR|near ".*": syntax error|ODBC (?:SQL Server )?Driver`)

func (p *Prober) checkSQLErrors(ctx context.Context, u *url.URL, add func(string, string, string, ...any)) error {
	_, base, err := p.get(ctx, u.String(), nil)
	if err != nil {
		return err
	}
	if sqlErrors.Match(base) {
		return nil // the page shows such text anyway
	}
	for _, name := range params(u) {
		target := withParam(u, name, `1'"`)
		_, body, err := p.get(ctx, target, nil)
		if err != nil {
			return err
		}
		if m := sqlErrors.Find(body); m != nil {
			add(CheckSQLError, target, "a quote in parameter %q produces a database error (%q): input reaches SQL unescaped", name, string(m))
		}
	}
	return nil
}

var listing = regexp.MustCompile(`(?i)<title>\s*(?:index of /|directory listing for)|<h1>\s*index of /`)

func (p *Prober) checkListing(ctx context.Context, u *url.URL, add func(string, string, string, ...any)) error {
	dir := *u
	dir.RawQuery = ""
	if !strings.HasSuffix(dir.Path, "/") {
		dir.Path = dir.Path[:strings.LastIndex(dir.Path, "/")+1]
	}
	if dir.Path == "" {
		dir.Path = "/"
	}
	_, body, err := p.get(ctx, dir.String(), nil)
	if err != nil {
		return err
	}
	if listing.Match(body) {
		add(CheckDirListing, dir.String(), "the server lists the folder's files")
	}
	return nil
}

// envAssignment is one line of a dotenv file: NAME=value, perhaps after
// "export ".
var envAssignment = regexp.MustCompile(`^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.]*\s*=`)

// dotenv reports whether b reads as a dotenv file: every line blank, a
// comment or an assignment, and at least one assignment. A page served
// for any path (an HTML shell, a soft 404) is not one.
func dotenv(b []byte) bool {
	assignments := 0
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case envAssignment.MatchString(line):
			assignments++
		default:
			return false
		}
	}
	return assignments > 0
}

func (p *Prober) checkExposedFiles(ctx context.Context, u *url.URL, add func(string, string, string, ...any)) error {
	root := url.URL{Scheme: u.Scheme, Host: u.Host}
	for _, c := range []struct {
		path string
		ok   func([]byte) bool
		what string
	}{
		{"/.git/HEAD", func(b []byte) bool {
			return strings.HasPrefix(string(b), "ref: refs/") || regexp.MustCompile(`^[0-9a-f]{40}\s*$`).Match(b)
		}, "the git repository (.git/) is downloadable"},
		{"/.env", dotenv, "the .env file with the application's settings is downloadable"},
	} {
		target := root.String() + c.path
		resp, body, err := p.get(ctx, target, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusOK && c.ok(body) {
			add(CheckExposedFiles+" "+c.path, target, "%s", c.what)
		}
	}
	return nil
}

func (p *Prober) checkCORS(ctx context.Context, u *url.URL, add func(string, string, string, ...any)) error {
	origin := "https://" + marker() + ".example"
	resp, _, err := p.get(ctx, u.String(), map[string]string{"Origin": origin})
	if err != nil {
		return err
	}
	acao := resp.Header.Get("Access-Control-Allow-Origin")
	creds := strings.EqualFold(resp.Header.Get("Access-Control-Allow-Credentials"), "true")
	switch {
	case acao == origin && creds:
		add(CheckCORS, u.String(), "any origin is reflected in Access-Control-Allow-Origin with credentials allowed: other sites can read authenticated responses")
	case acao == "null" && creds:
		add(CheckCORS, u.String(), "the null origin is allowed with credentials")
	}
	return nil
}
