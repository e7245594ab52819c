package cluster

import (
	"context"
	"slices"
	"strings"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// A rule that grants everything is one finding that names what it grants,
// not one finding per narrower check; a narrower rule beside it in the
// same role is still reported on its own.
func TestWildcardRuleIsOneFinding(t *testing.T) {
	const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ops-everything}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [create]
`
	m := NewManifests(catalog(t))
	fs, err := m.ScanFile(context.Background(), "role.yaml", []byte(role), "")
	if err != nil {
		t.Fatal(err)
	}
	var wildcard []*vigilv1.Finding
	perCheck := map[string]int{}
	for _, f := range fs {
		perCheck[f.CheckId]++
		if f.CheckId == "VGL-CLUSTER-104" {
			wildcard = append(wildcard, f)
		}
	}
	if len(wildcard) != 1 {
		t.Fatalf("wildcard findings %d, want 1: %v", len(wildcard), perCheck)
	}
	w := wildcard[0]
	for _, want := range []string{"every verb on every resource", "read access to secrets", "impersonation", "exec into pods"} {
		if !strings.Contains(w.Message, want) {
			t.Errorf("wildcard finding does not say %q: %s", want, w.Message)
		}
	}
	if !slices.Contains(w.Tags, "rbac-secrets-access") {
		t.Errorf("wildcard finding lacks the tags of the checks it includes: %v", w.Tags)
	}
	// The second rule's exec grant is its own finding; the first rule's
	// is inside the wildcard finding.
	if perCheck["VGL-CLUSTER-108"] != 1 {
		t.Errorf("exec findings %d, want 1 (the narrow rule's): %v", perCheck["VGL-CLUSTER-108"], perCheck)
	}
	if perCheck["VGL-CLUSTER-107"] != 0 || perCheck["VGL-CLUSTER-106"] != 0 {
		t.Errorf("checks the wildcard includes reported apart: %v", perCheck)
	}
}
