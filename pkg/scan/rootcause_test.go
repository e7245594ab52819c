package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// One credential is one finding: a value a check declares a secret (an ENV
// of a Dockerfile, a ConfigMap key) and the secret rules match again in the
// same file is reported by the check alone, naming the rule; a secret no
// check declares is still the secret rules' finding.
func TestOneSecretOneFinding(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile": "FROM alpine:3.19\nENV SERVICE_TOKEN=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\n" +
			"ENV DATABASE_URL=postgres://app:Qv81mZrT4xLp@db:5432/app\nUSER app\n",
		"settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata:\n  upstream_api_token: \"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\"\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := scanner(t).Target(context.Background(), dir, "acme")
	if err != nil {
		t.Fatal(err)
	}
	per := map[string][]*vigilv1.Finding{} // file → findings about credentials
	for _, fs := range res.Findings {
		for _, f := range fs {
			switch f.CheckId {
			case "VGL-CODE-010", "VGL-CONTAINER-005", "VGL-CLUSTER-116":
				base := filepath.Base(f.Location.Path)
				per[base] = append(per[base], f)
			}
		}
	}
	want := map[string][]string{
		// The token is the ENV check's finding; the database URL, which no
		// check declares, stays a secret-rule finding.
		"Dockerfile":    {"VGL-CONTAINER-005", "VGL-CODE-010"},
		"settings.yaml": {"VGL-CLUSTER-116"},
	}
	for file, ids := range want {
		var got []string
		for _, f := range per[file] {
			got = append(got, f.CheckId)
		}
		if !sameSet(got, ids) {
			t.Errorf("%s: findings %v, want %v", file, got, ids)
		}
		for _, f := range per[file] {
			if f.CheckId == "VGL-CODE-010" {
				if !strings.Contains(f.Message, "database-url-password") {
					t.Errorf("%s: secret-rule finding %q is not the database URL", file, f.Message)
				}
				continue
			}
			if !strings.Contains(f.Message, "secret rule github-token") || f.SecretHash == "" {
				t.Errorf("%s: %s does not carry the rule and hash of the secret: %q hash %q", file, f.CheckId, f.Message, f.SecretHash)
			}
			if f.Severity < vigilv1.Severity_SEVERITY_HIGH {
				t.Errorf("%s: %s is %v, below the secret rule's severity", file, f.CheckId, f.Severity)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
