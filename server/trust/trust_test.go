package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"

	"github.com/vigilsec/vigil/pkg/pki"
)

func TestInitLoadIssue(t *testing.T) {
	dir := t.TempDir()
	tr, err := Init(dir, []string{"vigil.example", "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, nil); err == nil {
		t.Fatal("init over an existing trust succeeded")
	}
	for _, name := range []string{CAKeyFile, ServerKeyFile, OperatorSeed, AccountSeed, SystemSeed, ServerCreds, TokensFile} {
		fi, err := os.Stat(tr.Path(name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v", name, err, fi.Mode())
		}
	}
	// The agent's NATS user carries its permissions.
	out := filepath.Join(t.TempDir(), "a1")
	if err := tr.AgentCredentials("acme", "a1", out); err != nil {
		t.Fatal(err)
	}
	creds, _ := os.ReadFile(filepath.Join(out, IssuedCreds))
	token, err := jwt.ParseDecoratedJWT(creds)
	if err != nil {
		t.Fatal(err)
	}
	uc, err := jwt.DecodeUserClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	if uc.Issuer != tr.AccountKey || !uc.Pub.Allow.Contains("vigil.findings.acme.a1") || uc.Pub.Allow.Contains("vigil.findings.acme.a2") {
		t.Fatalf("agent user: issuer %s, pub %v", uc.Issuer, uc.Pub.Allow)
	}
	if err := tr.AgentCredentials("acme", "a.b", out); err == nil {
		t.Fatal("an agent id with a dot was accepted")
	}
	// The external NATS configuration includes the authorization.
	conf, _ := os.ReadFile(tr.Path(NATSConf))
	auth, _ := os.ReadFile(tr.Path(NATSAuth))
	if !strings.Contains(string(conf), "include "+NATSAuth) || !strings.Contains(string(auth), tr.AccountKey) || !strings.Contains(string(auth), "operator:") {
		t.Fatalf("NATS configuration:\n%s\n%s", conf, auth)
	}

	// Without the signing keys (kept off the server host) the trust loads
	// for serving and refuses to issue.
	os.Remove(tr.Path(CAKeyFile))
	os.Remove(tr.Path(AccountSeed))
	served, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if served.AccountKey != tr.AccountKey || served.CA.Cert.Subject.CommonName == "" {
		t.Fatalf("loaded trust = %+v", served)
	}
	if err := served.ClientCertificate("x", pki.RoleViewer, []string{"acme"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "CA key") {
		t.Fatalf("issuing without the CA key: %v", err)
	}
	os.WriteFile(tr.Path(CAKeyFile), []byte("x"), 0o600)
	os.Remove(tr.Path(CAKeyFile))
	if _, err := served.AddToken("ann", pki.RoleViewer, []string{"acme"}); err != nil {
		t.Fatalf("tokens need no signing key: %v", err)
	}
}

func TestShardedAccountMapsFindings(t *testing.T) {
	tr, err := InitSharded(t.TempDir(), nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := jwt.DecodeAccountClaims(tr.AccountJWT)
	if err != nil {
		t.Fatal(err)
	}
	m := ac.Mappings["vigil.findings.*.*"]
	if len(m) != 1 || !strings.Contains(string(m[0].Subject), "partition(4,1,2)") {
		t.Fatalf("account mappings = %v", ac.Mappings)
	}
}
