package scan

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/pipeline"
	awscollect "github.com/vigilsec/vigil/pkg/scan/cloud/aws"
	"github.com/vigilsec/vigil/pkg/scan/cloud/aws/awstest"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// scanner returns a scanner over the built-in catalog, configured by the
// options given (at most one).
func scanner(t *testing.T, opts ...Options) *Scanner {
	t.Helper()
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return NewWith(cat, append(opts, Options{})[0])
}

const rendered = `---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: true
      containers: [{name: web, image: "web:1.0"}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
`

// helm template ... | vigil scan - : rendered manifests on stdin, with the
// checks across objects too.
func TestStdin(t *testing.T) {
	s := scanner(t, Options{Stdin: strings.NewReader(rendered)})
	rep, err := s.Run(context.Background(), []string{"-"}, "")
	if err != nil || len(rep.Errors) != 0 {
		t.Fatalf("run: %v %v", err, rep.GetErrors())
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.CheckId] = true
		if f.Location.Path != "-" {
			t.Errorf("path %q, want -", f.Location.Path)
		}
	}
	if !got["VGL-CLUSTER-005"] || got["VGL-CLUSTER-131"] {
		t.Fatalf("findings = %v (want hostNetwork, and no isolation finding: a policy selects the pods)", got)
	}
}

func TestUnreadableFilesAreReportedAndTheScanGoesOn(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(rendered), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("kind: [\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("RUN no from\n"), 0o644)
	rep, err := scanner(t).Run(context.Background(), []string{dir, filepath.Join(dir, "missing")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.FailedTargets) != 1 || !strings.Contains(rep.FailedTargets[0].Path, "missing") {
		t.Fatalf("failed targets = %v, want the missing one", rep.FailedTargets)
	}
	// bad.yaml is read by the kubernetes, secrets and certificate scanners
	// (and the CloudFormation one): it is one unit, listed once.
	cov := rep.Coverage
	want := map[string]pipeline.Reason{filepath.ToSlash(filepath.Join(dir, "bad.yaml")): pipeline.ParseError,
		filepath.ToSlash(filepath.Join(dir, "Dockerfile")): pipeline.ParseError}
	if len(cov.NotAssessed) != len(want) || cov.UnitsNotAssessed != 2 || cov.UnitsAttempted != 3 || cov.UnitsAssessed != 1 {
		t.Fatalf("coverage = %v", cov)
	}
	for _, e := range cov.NotAssessed {
		if r, ok := want[e.Path]; !ok || r != e.Reason || len(e.Analyzers) != 1 {
			t.Errorf("not assessed: %v", e)
		}
	}
	if cov.UnitKind != "file" {
		t.Errorf("unit kind %q", cov.UnitKind)
	}
	if len(rep.Findings) == 0 {
		t.Fatal("the good file's findings were lost")
	}
}

// A stray byte that is not UTF-8, or a control character, in a comment
// does not hide the findings of the file: it is read leniently.
func TestInvalidBytesInACommentKeepTheFindings(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.yaml")
	os.WriteFile(clean, []byte(rendered), 0o644)
	want, err := scanner(t).Run(context.Background(), []string{clean}, "")
	if err != nil || len(want.Findings) == 0 {
		t.Fatal(err, want.Findings)
	}
	for name, junk := range map[string]string{"invalid": "# caf\xe9 \xff\xfe\n", "control": "# bell \x07 nul \x00\n"} {
		p := filepath.Join(dir, name+".yaml")
		os.WriteFile(p, []byte(junk+rendered), 0o644)
		got, err := scanner(t).Run(context.Background(), []string{p}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Coverage.UnitsNotAssessed != 0 {
			t.Errorf("%s: not assessed: %v", name, got.Coverage.NotAssessed)
		}
		checks := func(r *vigilv1.ScanReport) map[string]int {
			m := map[string]int{}
			for _, f := range r.Findings {
				if f.Scanner == "kubernetes" {
					m[f.CheckId]++
				}
			}
			return m
		}
		if g, w := checks(got), checks(want); len(g) == 0 || fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s: findings %v, want %v", name, g, w)
		}
	}
}

// Each failure of a whole target is its own entry: the CLI exits 2 on them.
func TestTargetsThatCannotBeScanned(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "us-east-1")
	// A kubeconfig whose API server does not answer.
	unreachable := filepath.Join(dir, "kubeconfig")
	os.WriteFile(unreachable, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n"+
		"contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n"), 0o600)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	t.Setenv("HOME", dir)
	targets := []string{filepath.Join(dir, "missing"), GitTarget + dir, "oci:" + filepath.Join(dir, "no-image"), AWSTarget,
		KubernetesTarget + filepath.Join(dir, "no-such-kubeconfig"), KubernetesTarget, KubernetesTarget + unreachable}
	rep, err := scanner(t).Run(context.Background(), targets, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.FailedTargets) != len(targets) {
		t.Fatalf("failed targets = %v, want all %d", rep.FailedTargets, len(targets))
	}
	for i, want := range map[int]pipeline.Reason{3: pipeline.NoCredentials, 4: pipeline.Unreadable, 5: pipeline.NoCredentials} {
		if r := rep.FailedTargets[i].Reason; r != want {
			t.Errorf("%s: reason %v, want %v (%v)", targets[i], r, want, rep.FailedTargets[i])
		}
	}
	if e := rep.FailedTargets[6].Error; !strings.Contains(e, "kube-system") {
		t.Errorf("unreachable API: %q does not say what failed", e)
	}
}

// A lockfile scanned without vulnerability data is not assessed, with the
// ecosystem named; it is never a clean result.
func TestLockfilesWithoutDataAreNotAssessed(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.0\n"), 0o644)
	rep, err := scanner(t).Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Coverage
	if c.UnitsNotAssessed != 1 || c.NotAssessed[0].Reason != pipeline.NoVulnerabilityData || !strings.Contains(c.NotAssessed[0].Error, "no vulnerability data for Go") {
		t.Fatalf("coverage %v", c)
	}
}

// A file larger than source.MaxFileSize is still searched for secrets, as a
// stream; the scanners that need it whole report it as skipped.
func TestLargeFilesAreStreamedToTheSecretScanner(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dump.yaml")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("filler: ordinary configuration text\n", 1000)
	for n := 0; n <= source.MaxFileSize; n += len(line) {
		f.WriteString(line)
	}
	f.WriteString("aws_access_key_id: AKIAQYLPMN5HHHFPZAM2\n")
	f.Close()
	rep, err := scanner(t).Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, fd := range rep.Findings {
		if fd.CheckId == "VGL-CODE-010" && fd.Location.StartLine > 400000 {
			found = true
			if strings.Contains(fd.Location.Snippet, "AKIAQYLPMN5HHHFPZAM2") {
				t.Fatalf("snippet holds the key: %q", fd.Location.Snippet)
			}
		}
	}
	if !found {
		t.Fatalf("the key at the end of a %d-byte file was not found (coverage %v)", source.MaxFileSize, rep.Coverage)
	}
	c := rep.Coverage
	if c.UnitsNotAssessed != 1 || c.NotAssessed[0].Reason != pipeline.TooLarge || slices.Contains(c.NotAssessed[0].Analyzers, "secrets") {
		t.Fatalf("the scanners that need the file whole did not report it as too large: %v", c)
	}
}

// An aws: target collects the account of the default credential chain,
// here pointed at a local endpoint with AWS's own environment variables.
func TestAWSTarget(t *testing.T) {
	srv := awstest.New(t, "cloud/aws/testdata")
	srv.Fail("guardduty:ListDetectors", "AccessDeniedException", 403, 0)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_CA_BUNDLE": ca, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		t.Setenv(k, v)
	}
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := NewWith(cat, Options{AWS: awscollect.Options{Regions: []string{"us-east-1"}}})
	rep, err := s.Run(context.Background(), []string{AWSTarget}, "acme")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.CheckId] = true
		if f.Scanner != AWSScanner || f.Resource.Tenant != "acme" {
			t.Errorf("finding %s: scanner %q tenant %q", f.CheckId, f.Scanner, f.Resource.Tenant)
		}
	}
	if !got["VGL-CLOUD-020"] || !got["VGL-CLOUD-041"] {
		t.Fatalf("findings %v", got)
	}
	notAssessed := false
	for _, c := range rep.Coverage.ChecksNotRun {
		notAssessed = notAssessed || c.CheckId == "VGL-CLOUD-085" && c.Reason == pipeline.PermissionDenied
	}
	if !notAssessed {
		t.Errorf("GuardDuty's denial not reported: %v", rep.Coverage)
	}
	if c := rep.Coverage; c.UnitsAttempted == 0 || c.UnitKind != "cloud resource" {
		t.Errorf("resources are not units: %v", c)
	}
	rep, err = s.Run(context.Background(), []string{"aws:nonsense"}, "")
	if err != nil || len(rep.FailedTargets) != 1 || !strings.Contains(rep.FailedTargets[0].Error, "aws:org/ROLE") {
		t.Errorf("a malformed aws: target: %v %v", err, rep.GetFailedTargets())
	}
}

func TestAnalyzersDeclareThemselves(t *testing.T) {
	s := scanner(t)
	as := s.Analyzers()
	if len(as) != len(s.Names()) {
		t.Fatalf("%d analyzers declared for %d scanner names", len(as), len(s.Names()))
	}
	for i, a := range as {
		if a.Name != s.Names()[i] || a.Version < 1 || len(a.Reads) == 0 {
			t.Errorf("analyzer %d: %+v (name %q)", i, a, s.Names()[i])
		}
	}
	rep, err := s.Run(context.Background(), []string{t.TempDir()}, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.Analyzers, "kubernetes/v1") || len(rep.Analyzers) != len(as) {
		t.Fatalf("report lists analyzers %v", rep.Analyzers)
	}
	if New(&checks.Catalog{}).AnalyzerVersion() == s.AnalyzerVersion() {
		t.Fatal("the analyzer digest does not depend on the checks")
	}
	if scanner(t).AnalyzerVersion() != s.AnalyzerVersion() {
		t.Fatal("the analyzer digest differs between two identical scanners")
	}
}
