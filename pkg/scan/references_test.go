package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A key that names where a secret is (its Secret's name, a reference to
// it, the file holding it) is not a secret, in any spelling; the same
// ConfigMap with a password in it is reported.
func TestSecretReferencesAreNotSecrets(t *testing.T) {
	dir := t.TempDir()
	refs := `apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data:
  passwordSecretRef: orders-db-credentials
  secretName: orders-tls
  tokenSecretKeyRef: api-token
  apiKeySecret_name: vendor-key
  PASSWORD_FILE: /run/secrets/db
  credentialsPath: /etc/app/creds.json
`
	withPassword := `apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data:
  dbPassword: Kq7vR2mX9wLp4TzB
`
	if err := os.WriteFile(filepath.Join(dir, "refs.yaml"), []byte(refs), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := scanner(t).Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Errorf("reference reported as a secret: %s %s at line %d", f.CheckId, f.Title, f.GetLocation().GetStartLine())
	}
	if err := os.WriteFile(filepath.Join(dir, "refs.yaml"), []byte(withPassword), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = scanner(t).Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		found = found || f.CheckId == "VGL-CLUSTER-116"
	}
	if !found {
		t.Fatalf("a password in a ConfigMap is not reported: %v", rep.Findings)
	}
}
