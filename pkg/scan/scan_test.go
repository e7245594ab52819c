package scan

import (
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
	awscollect "github.com/vigilsec/vigil/pkg/scan/cloud/aws"
	"github.com/vigilsec/vigil/pkg/scan/cloud/aws/awstest"
)

func scanner(t *testing.T) *Scanner {
	t.Helper()
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return New(cat)
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
	s := scanner(t)
	s.Stdin = strings.NewReader(rendered)
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
	if len(rep.Errors) != 3 {
		t.Fatalf("errors = %v, want bad.yaml, Dockerfile and the missing target", rep.Errors)
	}
	if len(rep.Findings) == 0 {
		t.Fatal("the good file's findings were lost")
	}
}

// A file larger than MaxFileSize is still searched for secrets, as a
// stream; the scanners that need it whole report it as skipped.
func TestLargeFilesAreStreamedToTheSecretScanner(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dump.yaml")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("filler: ordinary configuration text\n", 1000)
	for n := 0; n <= MaxFileSize; n += len(line) {
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
		t.Fatalf("the key at the end of a %d-byte file was not found (errors %v)", MaxFileSize, rep.Errors)
	}
	if len(rep.Errors) == 0 {
		t.Fatal("the kubernetes scanner did not report the file it skipped")
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
	for _, e := range rep.Errors {
		notAssessed = notAssessed || strings.Contains(e.Error, "VGL-CLOUD-085 not assessed")
	}
	if !notAssessed {
		t.Errorf("GuardDuty's denial not reported: %v", rep.Errors)
	}
	rep, err = s.Run(context.Background(), []string{"aws:nonsense"}, "")
	if err != nil || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error, "aws:org/ROLE") {
		t.Errorf("a malformed aws: target: %v %v", err, rep.GetErrors())
	}
}
