package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"

	"github.com/vigilsec/vigil/pkg/pki"
)

func TestInitLoadIssue(t *testing.T) {
	dir := t.TempDir()
	tr, err := Init(dir, "", []string{"vigil.example", "10.0.0.1"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, "", nil, 1); err == nil {
		t.Fatal("init over an existing trust succeeded")
	}
	if _, err := Init(t.TempDir(), tr.SigningDir, nil, 1); err == nil || !strings.Contains(err.Error(), "CA key") {
		t.Fatalf("init over another installation's signing dir: %v", err)
	}
	other := t.TempDir()
	if _, err := Init(other, filepath.Join(other, "keys"), nil, 1); err == nil || !strings.Contains(err.Error(), "inside the data dir") {
		t.Fatalf("init with the signing dir inside the data dir: %v", err)
	}
	for _, name := range []string{ServerKeyFile, ServerCreds, SystemCreds, TokensFile} {
		fi, err := os.Stat(tr.Path(name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v", name, err, fi.Mode())
		}
	}
	// The signing material is outside the data directory, mode 0600, and
	// nothing in the data directory can sign.
	for _, name := range signingFiles {
		fi, err := os.Stat(tr.signingPath(name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v", name, err, fi.Mode())
		}
	}
	if inside(tr.SigningDir, dir) {
		t.Fatalf("signing dir %s is inside %s", tr.SigningDir, dir)
	}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if data, _ := os.ReadFile(path); strings.Contains(string(data), "SEED") && !strings.HasSuffix(path, ".creds") ||
			strings.Contains(string(data), "PRIVATE KEY") && filepath.Base(path) != ServerKeyFile && !strings.HasSuffix(path, ".creds") {
			t.Errorf("%s in the data dir holds a private key or seed", path)
		}
		return nil
	})

	// Loaded for serving, the trust cannot issue.
	served, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if served.AccountKey != tr.AccountKey || served.CA.Cert.Subject.CommonName == "" || served.CA.CanIssue() {
		t.Fatalf("loaded trust = %+v", served)
	}
	if _, err := served.ClientCertificate("x", pki.RoleViewer, []string{"acme"}, t.TempDir(), 0); err == nil || !strings.Contains(err.Error(), "CA key") {
		t.Fatalf("issuing without the CA key: %v", err)
	}
	if _, _, err := served.AddToken("ann", pki.RoleViewer, []string{"acme"}, 0); err != nil {
		t.Fatalf("tokens need no signing key: %v", err)
	}

	signer, err := LoadSigning(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	// The agent's NATS user carries its permissions and the default lifetime.
	out := filepath.Join(t.TempDir(), "a1")
	issued, err := signer.AgentCredentials("acme", "a1", out, 0)
	if err != nil {
		t.Fatal(err)
	}
	uc := userClaims(t, out)
	if uc.Issuer != tr.AccountKey || !uc.Pub.Allow.Contains("vigil.findings.acme.a1") || uc.Pub.Allow.Contains("vigil.findings.acme.a2") {
		t.Fatalf("agent user: issuer %s, pub %v", uc.Issuer, uc.Pub.Allow)
	}
	if life := time.Until(issued.Expires); life > DefaultValidity || life < DefaultValidity-time.Minute {
		t.Fatalf("agent credential lives %s, want %s", life, DefaultValidity)
	}
	if d := time.Until(time.Unix(uc.Expires, 0)); d > DefaultValidity || d < DefaultValidity-2*time.Minute {
		t.Fatalf("agent NATS user lives %s", d)
	}
	if _, err := signer.AgentCredentials("acme", "a.b", out, 0); err == nil {
		t.Fatal("an agent id with a dot was accepted")
	}
	if _, err := signer.AgentCredentials("acme", "a1", out, 5*365*24*time.Hour); err == nil {
		t.Fatal("a five-year credential was issued")
	}
	reg, err := signer.Register()
	if err != nil || len(reg) != 2 || reg[0].Kind != KindServer || reg[1].NATSUser != uc.Subject || reg[1].Serial != issued.Serial {
		t.Fatalf("register = %+v, %v", reg, err)
	}
	// The external NATS configuration includes the authorization.
	conf, _ := os.ReadFile(tr.Path(NATSConf))
	auth, _ := os.ReadFile(tr.Path(NATSAuth))
	if !strings.Contains(string(conf), "include "+NATSAuth) || !strings.Contains(string(auth), tr.AccountKey) || !strings.Contains(string(auth), "operator:") {
		t.Fatalf("NATS configuration:\n%s\n%s", conf, auth)
	}
}

func userClaims(t *testing.T, dir string) *jwt.UserClaims {
	t.Helper()
	creds, err := os.ReadFile(filepath.Join(dir, IssuedCreds))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.ParseDecoratedJWT(creds)
	if err != nil {
		t.Fatal(err)
	}
	uc, err := jwt.DecodeUserClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	return uc
}

func TestRevokeAndRotate(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, "", nil, 1); err != nil {
		t.Fatal(err)
	}
	tr, err := LoadSigning(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	a1, b1 := filepath.Join(t.TempDir(), "a1"), filepath.Join(t.TempDir(), "b1")
	first, _ := tr.AgentCredentials("acme", "a1", a1, 0)
	keep, _ := tr.AgentCredentials("acme", "b1", b1, 0)
	client, _ := tr.ClientCertificate("ci", pki.RoleAdmin, []string{"*"}, t.TempDir(), 0)

	// Rotation issues a fresh credential of the same identity; the old one
	// stays until revoked.
	fresh, revoked, err := tr.Rotate(Match{Kind: KindAgent, Name: "a1", Tenant: "acme"}, filepath.Join(t.TempDir(), "a1-new"), 0, false)
	if err != nil || revoked != nil || fresh.Serial == first.Serial || fresh.Name != "a1" || fresh.Tenants[0] != "acme" || fresh.NATSUser == first.NATSUser {
		t.Fatalf("rotate = %+v, %v, %v", fresh, revoked, err)
	}
	if _, err := tr.Revoke(Match{Kind: KindAgent, Name: "a1"}); err == nil {
		t.Fatal("revoking an agent without its tenant succeeded")
	}
	if _, err := tr.Revoke(Match{Kind: KindAgent, Name: "a1", Tenant: "globex"}); err == nil {
		t.Fatal("revoking a1 of the wrong tenant matched something")
	}
	got, err := tr.Revoke(Match{Kind: KindAgent, Name: "a1", Tenant: "acme"})
	if err != nil || len(got) != 2 {
		t.Fatalf("revoke a1 = %+v, %v", got, err)
	}
	if _, err := tr.Revoke(Match{Kind: KindClient, Name: "ci"}); err != nil {
		t.Fatal(err)
	}

	// What a server reads: the serials and the account JWT's revocations,
	// signed by the operator.
	served, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := WatchRevoked(served.Path(RevokedFile))
	if err != nil {
		t.Fatal(err)
	}
	serials := w.Get()
	for _, s := range []string{first.Serial, fresh.Serial, client.Serial} {
		if _, ok := serials[s]; !ok {
			t.Errorf("serial %s not in the revocation list %v", s, serials)
		}
	}
	if _, ok := serials[keep.Serial]; ok {
		t.Error("b1 was revoked with a1")
	}
	ac, err := served.VerifyAccount(served.AccountJWT)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{first.NATSUser, fresh.NATSUser} {
		if !ac.IsClaimRevoked(&jwt.UserClaims{ClaimsData: jwt.ClaimsData{Subject: u, IssuedAt: time.Now().Unix()}}) {
			t.Errorf("NATS user %s is not revoked in the account JWT", u)
		}
	}
	if ac.IsClaimRevoked(&jwt.UserClaims{ClaimsData: jwt.ClaimsData{Subject: keep.NATSUser, IssuedAt: time.Now().Unix()}}) {
		t.Error("b1's NATS user was revoked")
	}
	auth, _ := os.ReadFile(served.Path(NATSAuth))
	if !strings.Contains(string(auth), served.AccountJWT) {
		t.Error("nats-auth.conf does not carry the re-signed account JWT")
	}
	// Rotating with --revoke-old ends the previous one at once.
	_, old, err := tr.Rotate(Match{Kind: KindAgent, Name: "b1", Tenant: "acme"}, filepath.Join(t.TempDir(), "b1-new"), time.Hour, true)
	if err != nil || len(old) != 1 || old[0].Serial != keep.Serial {
		t.Fatalf("rotate b1 --revoke-old = %+v, %v", old, err)
	}
}

func TestTokensLifetimeAndRotation(t *testing.T) {
	dir := t.TempDir()
	tr, err := Init(dir, "", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := LoadTokens(tr.Path(TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	tokens.file.every = 0
	tok, e, err := tr.AddToken("ann", pki.RoleViewer, []string{"acme"}, 0)
	if err != nil || e.ExpiresAt().Sub(e.Created) != DefaultValidity {
		t.Fatalf("token %+v, %v", e, err)
	}
	id, ok := tokens.Lookup(tok)
	if !ok || id.Name != "ann" || !tokens.Live(id.Credential) {
		t.Fatalf("lookup = %+v, %v", id, ok)
	}
	fresh, _, err := tr.RotateToken("ann", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	waitChange(tokens)
	if _, ok := tokens.Lookup(tok); ok || tokens.Live(id.Credential) {
		t.Fatal("the rotated-out token still works")
	}
	if _, ok := tokens.Lookup(fresh); !ok {
		t.Fatal("the new token does not work")
	}
	// An entry past its expiry, or written without one and older than the
	// default lifetime, is refused.
	entries, _ := tr.TokenList()
	entries[0].Created, entries[0].Expires = time.Now().Add(-DefaultValidity-time.Hour), time.Time{}
	if err := writeTokens(tr.Path(TokensFile), entries); err != nil {
		t.Fatal(err)
	}
	waitChange(tokens)
	if _, ok := tokens.Lookup(fresh); ok {
		t.Fatal("a token older than the default lifetime was accepted")
	}
}

// waitChange makes the next Get see a rewrite within the same clock tick.
func waitChange(t *Tokens) {
	t.file.mu.Lock()
	t.file.stamp = stamp{}
	t.file.mu.Unlock()
}

func TestLegacyKeysMove(t *testing.T) {
	dir := t.TempDir()
	tr, err := Init(dir, "", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	// An older init kept the signing files in the trust directory and
	// wrote no system user nor revocation list.
	os.Remove(tr.Path(SystemCreds))
	os.Remove(tr.Path(RevokedFile))
	for _, name := range signingFiles {
		if err := os.Rename(tr.signingPath(name), tr.Path(name)); err != nil {
			t.Fatal(err)
		}
	}
	served, _ := Load(dir)
	if len(served.LegacyKeys()) != len(signingFiles) {
		t.Fatalf("legacy keys = %v", served.LegacyKeys())
	}
	legacy, err := LoadSigning(dir, "")
	if err != nil || legacy.SigningDir != legacy.Dir {
		t.Fatalf("legacy signing = %v, %v", legacy, err)
	}
	for _, name := range []string{SystemCreds, RevokedFile} {
		if _, err := os.Stat(tr.Path(name)); err != nil {
			t.Errorf("%s not completed: %v", name, err)
		}
	}
	moved, err := MoveSigningKeys(dir, "")
	if err != nil || len(moved) != len(signingFiles) || len(served.LegacyKeys()) != 0 {
		t.Fatalf("moved %v, %v; left %v", moved, err, served.LegacyKeys())
	}
	if _, err := LoadSigning(dir, ""); err != nil {
		t.Fatal(err)
	}
}

func TestShardedAccountMapsFindings(t *testing.T) {
	tr, err := Init(t.TempDir(), "", nil, 4)
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
