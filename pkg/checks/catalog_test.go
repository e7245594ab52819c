package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinCatalog(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.ForInput("kubernetes")); n < 20 {
		t.Errorf("%d Kubernetes checks, want at least 20", n)
	}
	if n := len(c.ForInput("dockerfile")); n < 10 {
		t.Errorf("%d Dockerfile checks, want at least 10", n)
	}
	for _, chk := range c.All() {
		if len(chk.References) == 0 || len(chk.Tags) == 0 || chk.Remediation == "" || chk.Description == "" {
			t.Errorf("%s lacks references, tags, remediation or description", chk.ID)
		}
	}
}

func TestUserPacks(t *testing.T) {
	dir := t.TempDir()
	pack := `checks:
  - id: ACME-CLUSTER-001
    pillar: cluster
    severity: low
    title: Team label missing
    input: kubernetes
    expr: "!has(obj.metadata.labels) || !('team' in obj.metadata.labels)"
`
	if err := os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte(pack), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	chk, ok := c.Get("ACME-CLUSTER-001")
	if !ok {
		t.Fatal("user check not loaded")
	}
	fails, err := chk.Fails(map[string]any{"obj": map[string]any{"metadata": map[string]any{}}})
	if err != nil || !fails {
		t.Fatalf("Fails = %v, %v", fails, err)
	}
}

func TestBadPacksAreRejectedWithReasons(t *testing.T) {
	cases := map[string]string{
		"unknown field":        "checks:\n  - id: A-B-001\n    pillar: cluster\n    severity: low\n    title: t\n    input: kubernetes\n    expr: 'true'\n    typo: 1\n",
		"bad id":               "checks:\n  - id: nope\n    pillar: cluster\n    severity: low\n    title: t\n    input: kubernetes\n    expr: 'true'\n",
		"bad cel":              "checks:\n  - id: A-B-001\n    pillar: cluster\n    severity: low\n    title: t\n    input: kubernetes\n    expr: 'obj.('\n",
		"not bool":             "checks:\n  - id: A-B-001\n    pillar: cluster\n    severity: low\n    title: t\n    input: kubernetes\n    expr: '1 + 1'\n",
		"bad each":             "checks:\n  - id: A-B-001\n    pillar: cluster\n    severity: low\n    title: t\n    input: dockerfile\n    each: container\n    expr: 'true'\n",
		"subsumes unknown":     "checks:\n  - id: A-B-001\n    pillar: cluster\n    severity: low\n    title: t\n    input: kubernetes\n    each: rule\n    subsumes: [A-B-404]\n    expr: 'true'\n",
		"subsumes other input": "checks:\n  - id: A-B-001\n    pillar: cluster\n    severity: low\n    title: t\n    input: kubernetes\n    each: rule\n    subsumes: [VGL-CONTAINER-005]\n    expr: 'true'\n",
		"duplicate":            "checks:\n  - id: VGL-CLUSTER-001\n    pillar: cluster\n    severity: low\n    title: t\n    input: kubernetes\n    expr: 'true'\n",
	}
	for name, pack := range cases {
		c, err := Builtin()
		if err != nil {
			t.Fatal(err)
		}
		err = c.AddPack("user.yaml", []byte(pack))
		if err == nil || !strings.Contains(err.Error(), "user.yaml") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestImageRefs(t *testing.T) {
	for ref, want := range map[string][2]string{
		"nginx":                     {"", ""},
		"nginx:1.27":                {"1.27", ""},
		"registry:5000/team/app":    {"", ""},
		"registry:5000/team/app:v2": {"v2", ""},
		"app@sha256:abc":            {"", ""},
		"ghcr.io/o/app:1.0@sha256:" + strings.Repeat("a", 64): {"1.0", "sha256:" + strings.Repeat("a", 64)},
	} {
		if got := [2]string{ImageTag(ref), ImageDigest(ref)}; got != want {
			t.Errorf("%s: got %v want %v", ref, got, want)
		}
	}
}

func FuzzAddPack(f *testing.F) {
	f.Add([]byte("checks:\n  - id: A-B-001\n    pillar: cluster\n    severity: low\n    title: t\n    input: kubernetes\n    expr: 'true'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := empty()
		if err != nil {
			t.Fatal(err)
		}
		c.AddPack("fuzz.yaml", data)
	})
}

func TestImageDigestGrammar(t *testing.T) {
	for ref, pinned := range map[string]bool{
		"nginx@blake3:" + strings.Repeat("a", 64):  true,
		"nginx@blake3:" + strings.Repeat("a", 63):  false,
		"nginx@sha256:" + strings.Repeat("A", 64):  false,
		"nginx@custom-algorithm:aaaa":              true,
		"nginx@custom-algorithm:a":                 true,
		"nginx@Bad:aaaa":                           false,
		"nginx@sha512:" + strings.Repeat("0", 128): true,
	} {
		if got := ImageDigest(ref) != ""; got != pinned {
			t.Errorf("%s pinned = %v, want %v", ref, got, pinned)
		}
	}
}

func TestPublicIP(t *testing.T) {
	for ip, public := range map[string]bool{
		"203.0.113.10": true, "8.8.8.8": true, "2001:4860::8888": true,
		"10.0.0.1": false, "192.168.1.1": false, "172.16.0.1": false, "100.64.1.1": false, "127.0.0.1": false,
		"169.254.1.1": false, "fd00::1": false, "::ffff:10.0.0.1": false, "not-an-ip": false,
	} {
		if PublicIP(ip) != public {
			t.Errorf("PublicIP(%s) = %v", ip, !public)
		}
	}
}
