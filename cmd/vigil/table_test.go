package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/report"
	"github.com/vigilsec/vigil/server/store"
)

// ansi matches the colour sequences a table may hold.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// onTerminal runs vigil with its standard output on a pseudo-terminal of
// the given width and returns what the terminal received.
func onTerminal(t *testing.T, cols int, args ...string) string {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer master.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Cols: uint16(cols), Rows: 40}); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(master) // ends when the terminal closes
		got <- b
	}()
	root := newRoot()
	root.SetOut(tty)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	runErr := root.Execute()
	tty.Close()
	out := strings.ReplaceAll(string(<-got), "\r", "")
	if runErr != nil {
		t.Fatalf("vigil %s: %v\n%s", strings.Join(args, " "), runErr, out)
	}
	return out
}

// A table on a terminal of 100 columns fits it, is sorted most severe
// first, names each finding by its title, and gives a vulnerable
// package's advisory, installed and fixed versions; colour goes with
// NO_COLOR.
func TestTableOnATerminal(t *testing.T) {
	dir := t.TempDir()
	osv := filepath.Join(dir, "osv")
	src := filepath.Join(dir, "src")
	files := map[string]string{
		"osv/Go/GO-2099-0001.json": `{"id":"GO-2099-0001","aliases":["CVE-2099-1111"],"summary":"Panic on a long header",
			"affected":[{"package":{"ecosystem":"Go","name":"example.org/hdr"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.4.2"}]}]}]}`,
		"src/go.mod": "module example.org/app\n\ngo 1.22\n\nrequire example.org/hdr v1.4.0\n",
		"src/deploy/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-frontend-with-a-rather-long-name-for-wrapping
  namespace: storefront
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostPID: true
      containers:
        - name: web
          image: nginx
          securityContext:
            privileged: true
            allowPrivilegeEscalation: true
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("COLUMNS", "")
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "")
	out := onTerminal(t, 100, "scan", "--vuln-db", osv, src)
	if !ansi.MatchString(out) {
		t.Errorf("no colour on a terminal:\n%s", out)
	}
	plain := ansi.ReplaceAllString(out, "")
	lines := strings.Split(plain, "\n")
	rank := map[string]int{"CRITICAL": 5, "HIGH": 4, "MEDIUM": 3, "LOW": 2, "INFO": 1}
	last, rows := 6, 0
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 100 {
			t.Errorf("line of %d columns on a terminal of 100: %q", n, l)
		}
		sev, _, _ := strings.Cut(l, " ")
		if r, ok := rank[sev]; ok {
			rows++
			if r > last {
				t.Errorf("%s after a less severe row:\n%s", sev, plain)
			}
			last = r
		}
	}
	if !strings.HasPrefix(lines[0], "SEVERITY") || !strings.Contains(lines[0], "TITLE") || rows < 3 {
		t.Fatalf("%d rows under %q:\n%s", rows, lines[0], plain)
	}
	for _, want := range []string{"Privileged container", "CVE-2099-1111", "1.4.2", "example.org/hdr@v1.4.0"} {
		if !strings.Contains(strings.Join(strings.Fields(plain), " "), want) && !strings.Contains(plain, want) {
			t.Errorf("%q is not in the table:\n%s", want, plain)
		}
	}
	if strings.Contains(plain, "Deployment") && !strings.Contains(plain, "storefront") {
		t.Errorf("resource without its namespace:\n%s", plain)
	}

	t.Setenv("NO_COLOR", "1")
	if out := onTerminal(t, 100, "scan", "--vuln-db", osv, src); ansi.MatchString(out) || !bytes.Contains([]byte(out), []byte("CVE-2099-1111")) {
		t.Errorf("NO_COLOR: colour printed, or the table is missing:\n%s", out)
	}
	// --wide: the whole message, on lines as long as they are.
	out = ansi.ReplaceAllString(onTerminal(t, 100, "scan", "--wide", "--vuln-db", osv, src), "")
	if !strings.Contains(out, "MESSAGE") || !strings.Contains(out, "Panic on a long header") {
		t.Errorf("--wide left the message out:\n%s", out)
	}
}

// findings list prints short ids that findings get accepts, and get shows
// the finding in full: description, remediation, references, package,
// history and the scopes that hold it; a prefix two shards resolve to two
// fingerprints is refused as ambiguous.
func TestFindingsListShortIDsAndGet(t *testing.T) {
	res := &vigilv1.Resource{Tenant: "acme", Provider: "go", Kind: "Package", Name: "example.org/hdr", Uri: "go.mod"}
	dep := &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CODE-001", res, "go.mod", "v1.4.0/GO-2099-0001"), CheckId: "VGL-CODE-001",
		Pillar: vigilv1.Pillar_PILLAR_CODE, Severity: vigilv1.Severity_SEVERITY_CRITICAL, Title: "Vulnerable dependency", Resource: res,
		Message:     "example.org/hdr v1.4.0 is affected by GO-2099-0001, CVE-2099-1111; fixed in 1.4.2: Panic on a long header",
		Remediation: "Upgrade example.org/hdr to 1.4.2 or later.", References: []string{"GO-2099-0001", "CVE-2099-1111"},
		Location: &vigilv1.Location{Path: "go.mod", StartLine: 5},
		Package:  &vigilv1.Package{Name: "example.org/hdr", Version: "v1.4.0", FixedVersion: "1.4.2", Ecosystem: "Go"}}
	low := mkFindingFor("VGL-CLUSTER-020", vigilv1.Severity_SEVERITY_LOW, "web")
	// Two fingerprints that share their first 8 digits, one per shard.
	twinA, twinB := mkFindingFor("VGL-CLUSTER-005", vigilv1.Severity_SEVERITY_HIGH, "a"), mkFindingFor("VGL-CLUSTER-005", vigilv1.Severity_SEVERITY_HIGH, "b")
	twinA.Fingerprint = "0badcafe" + strings.Repeat("1", 56)
	twinB.Fingerprint = "0badcafe" + strings.Repeat("2", 56)
	_, both := serveShards(t, 2, func(i int, w *store.Writer) error {
		scope := &vigilv1.Scope{Tenant: "acme", Agent: fmt.Sprintf("a%d", i), Scanner: "mixed", Target: "/repo"}
		if i == 0 {
			return seedScan(w, scope, time.Now(), low, dep, twinA)
		}
		return seedScan(w, scope, time.Now(), dep, twinB)
	})
	out, err := run(t, "--server", both, "findings", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "CRITICAL") || !strings.Contains(lines[len(lines)-1], "LOW") {
		t.Fatalf("not most severe first:\n%s", out)
	}
	short := strings.Fields(lines[1])[0]
	if len(short) != report.ShortID || !strings.HasPrefix(dep.Fingerprint, short) || !strings.Contains(lines[1], "CVE-2099-1111, fixed in 1.4.2") ||
		!strings.Contains(lines[1], "example.org/hdr@v1.4.0") {
		t.Fatalf("dependency row %q", lines[1])
	}
	out, err = run(t, "--server", both, "findings", "get", short)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Description:", "Panic on a long header", "Remediation:", "Upgrade example.org/hdr", "References:", "GO-2099-0001",
		"Package", "fixed in 1.4.2", "History:", "opened", "Seen by 2 scopes", "a0", "a1"} {
		if !strings.Contains(out, want) {
			t.Errorf("get %s: %q missing:\n%s", short, want, out)
		}
	}
	if _, err := run(t, "--server", both, "findings", "get", "0badcafe"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("a prefix of two fingerprints on two shards: %v", err)
	}
	if out, err := run(t, "--server", both, "findings", "get", "0badcafe1"); err != nil || !strings.Contains(out, twinA.Fingerprint) {
		t.Errorf("one more digit: %v\n%s", err, out)
	}
}

func mkFindingFor(check string, sev vigilv1.Severity, name string) *vigilv1.Finding {
	res := &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Kind: "Deployment", Namespace: "shop", Name: name}
	return &vigilv1.Finding{Fingerprint: finding.Fingerprint(check, res, "deploy.yaml", "x"), CheckId: check, Pillar: vigilv1.Pillar_PILLAR_CLUSTER,
		Severity: sev, Title: "Check " + check, Resource: res, Location: &vigilv1.Location{Path: "deploy.yaml", StartLine: 3}}
}

// vigil db import makes a bundle that --vuln-db reads, and db status says
// what it holds, and fails on stale data.
func TestDBImportAndStatus(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().AddDate(0, -2, 0).UTC().Format(time.RFC3339)
	for name, body := range map[string]string{
		"Go/GO-2099-0001.json": `{"id":"GO-2099-0001","modified":"` + old + `","aliases":["CVE-2099-1111"],"affected":[{"package":{"ecosystem":"Go","name":"example.org/hdr"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.4.2"}]}]}]}`,
		"npm/N-1.json":         `{"id":"N-1","modified":"` + old + `","affected":[{"package":{"ecosystem":"npm","name":"left"}}]}`,
	} {
		p := filepath.Join(dir, "osv", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bundle := filepath.Join(dir, "osv.zip")
	out, err := run(t, "db", "import", "-o", bundle, filepath.Join(dir, "osv"))
	if err != nil || !strings.Contains(out, "2 records") {
		t.Fatalf("db import: %v\n%s", err, out)
	}
	out, err = run(t, "db", "status", "--max-age", "2400h", bundle)
	if err != nil {
		t.Fatalf("db status: %v\n%s", err, out)
	}
	for _, want := range []string{"bundle made", "source", "age", "records  2", "Go", "npm"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("db status: %q missing:\n%s", want, out)
		}
	}
	out, err = run(t, "db", "status", bundle) // a week's limit: two months is stale
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "STALE") {
		t.Errorf("stale data: %v\n%s", err, out)
	}
	// The bundle scans like any data: the finding, and the go.mod not
	// assessed for stale data under the default limit.
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.org/app\n\ngo 1.22\n\nrequire example.org/hdr v1.4.0\n"), 0o644)
	out, _ = run(t, "scan", "--format", "json", "--vuln-db", bundle, src)
	if !strings.Contains(out, "CVE-2099-1111") || !strings.Contains(out, "NOT_ASSESSED_REASON_STALE_VULNERABILITY_DATA") {
		t.Errorf("scan with stale bundle:\n%s", out)
	}
	out, _ = run(t, "scan", "--format", "json", "--vuln-db", bundle, "--vuln-db-max-age", "0", src)
	if !strings.Contains(out, "CVE-2099-1111") || strings.Contains(out, "STALE") {
		t.Errorf("scan without a limit:\n%s", out)
	}
}
