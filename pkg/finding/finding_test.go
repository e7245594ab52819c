package finding

import (
	"encoding/hex"
	"strings"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// Golden values: changing any of these changes every stored finding's
// identity, which needs a store migration.
func TestFingerprintGolden(t *testing.T) {
	r := &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Namespace: "prod", Kind: "Deployment", Name: "web"}
	got := Fingerprint("VGL-CLUSTER-001", r, "manifests/web.yaml", "spec.template.spec.containers[web].securityContext.privileged")
	const want = "40b3ab226cfaa28d5b79d3981f0b160fffcc61d97648101a362dcc79c350ca88"
	if got != want {
		t.Fatalf("fingerprint changed: got %s want %s", got, want)
	}
	if got2 := Fingerprint("VGL-CLUSTER-001", nil, "", ""); got2 != "6bace84e78d3a92d0b098ba5f21984822f444bcf15ac8b299eb977fd8f759281" {
		t.Fatalf("fingerprint of empty finding changed: %s", got2)
	}
	id := ScopeID(&vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./manifests"})
	if h := hex.EncodeToString(id[:]); h != "609a027ec895aa96" {
		t.Fatalf("scope id changed: %s", h)
	}
}

func TestFingerprintSensitivity(t *testing.T) {
	base := &vigilv1.Resource{Tenant: "acme", Kind: "Deployment", Name: "web"}
	a := Fingerprint("C1", base, "p.yaml", "k")
	for name, other := range map[string]string{
		"check":  Fingerprint("C2", base, "p.yaml", "k"),
		"tenant": Fingerprint("C1", &vigilv1.Resource{Tenant: "other", Kind: "Deployment", Name: "web"}, "p.yaml", "k"),
		"path":   Fingerprint("C1", base, "q.yaml", "k"),
		"match":  Fingerprint("C1", base, "p.yaml", "k2"),
		// Length prefixes keep field boundaries: "ab"+"c" differs from "a"+"bc".
		"boundary": Fingerprint("C1", &vigilv1.Resource{Tenant: "acmeD", Kind: "eployment", Name: "web"}, "p.yaml", "k"),
	} {
		if other == a {
			t.Errorf("fingerprint ignores %s", name)
		}
	}
}

func TestDigestOrderIndependentAndReversible(t *testing.T) {
	d1 := DigestOf([]string{"a", "b", "c"})
	d2 := DigestOf([]string{"c", "a", "b"})
	if d1 != d2 {
		t.Fatal("digest depends on order")
	}
	d2.Toggle("d")
	if d1 == d2 {
		t.Fatal("adding a member did not change the digest")
	}
	d2.Toggle("d")
	if d1 != d2 {
		t.Fatal("removing a member did not restore the digest")
	}
	var empty Digest
	if DigestOf(nil) != empty {
		t.Fatal("empty set must have the zero digest")
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]vigilv1.Severity{"high": vigilv1.Severity_SEVERITY_HIGH, "CRITICAL": vigilv1.Severity_SEVERITY_CRITICAL, "SEVERITY_LOW": vigilv1.Severity_SEVERITY_LOW, "": vigilv1.Severity_SEVERITY_UNSPECIFIED} {
		got, err := ParseSeverity(in)
		if err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSeverity("urgent"); err == nil {
		t.Error("ParseSeverity accepted an unknown name")
	}
	if p, err := ParsePillar("cloud"); err != nil || p != vigilv1.Pillar_PILLAR_CLOUD {
		t.Errorf("ParsePillar(cloud) = %v, %v", p, err)
	}
	if s, err := ParseStatus("reopened"); err != nil || s != vigilv1.Status_STATUS_REOPENED {
		t.Errorf("ParseStatus(reopened) = %v, %v", s, err)
	}
	if _, err := ParseStatus("unspecified"); err == nil {
		t.Error("ParseStatus accepted unspecified")
	}
}

func TestRedact(t *testing.T) {
	for in, secret := range map[string]string{
		"ENV API_TOKEN=tok_live_0000000000000000 NODE_ENV=production": "tok_live_0000000000000000",
		`password: "hunter2hunter2"`:                                  "hunter2hunter2",
		"DB_PASSWORD='s3cr3t-value'":                                  "s3cr3t-value",
	} {
		out := Redact(in)
		if strings.Contains(out, secret) || !strings.Contains(out, "****") {
			t.Errorf("Redact(%q) = %q", in, out)
		}
	}
	if got := Redact("NODE_ENV=production"); got != "NODE_ENV=production" {
		t.Errorf("non-secret changed: %q", got)
	}
}

func BenchmarkFingerprint(b *testing.B) {
	r := &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Namespace: "prod", Kind: "Deployment", Name: "web"}
	for i := 0; i < b.N; i++ {
		Fingerprint("VGL-CLUSTER-001", r, "manifests/web.yaml", "spec.template.spec.containers[\"web\"].securityContext.privileged")
	}
}

func TestLooksLikeSecret(t *testing.T) {
	for _, v := range []string{
		"AKIAIOSFODNN7EXAMPLE",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE",
		"bearer abcdefghijklmnopqrstuvwxyz012345",
		"REDIS_PASSWORD=abcd1234",
		"postgres://app:s3cr3tpw@db:5432/app",
		"ghp_" + strings.Repeat("a", 36),
	} {
		if !LooksLikeSecret(v) {
			t.Errorf("missed %q", v)
		}
	}
	for _, v := range []string{"info", "8080", "/var/run/secrets/token", "password=$DB_PASSWORD", "https://example.com/a:b", "Hello from the environment"} {
		if LooksLikeSecret(v) {
			t.Errorf("flagged %q", v)
		}
	}
}
