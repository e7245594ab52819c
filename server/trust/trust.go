// Package trust creates and keeps an installation's credentials: the CA and
// the server's certificate, the NATS operator, account and users (JWTs
// signed with NKeys, so the server need not know each agent in advance),
// the hashed bearer tokens of gRPC callers, and the revocations of all of
// them.
//
// The material is split in two directories. <data-dir>/trust holds what a
// running server needs (certificates, JWTs, the server's own credentials,
// token hashes, revocations). The signing directory, outside the data
// directory, holds what mints credentials: the CA key, the operator,
// account and system seeds and the register of issued credentials. A copy
// of the data directory therefore cannot issue anything. Secrets are mode
// 0600 and every file is replaced atomically, so a running server that
// re-reads one never sees half of it.
package trust

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pki"
)

// File names inside the trust directory (public material and the
// server's own credentials).
const (
	CAFile         = "ca.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
	OperatorJWT    = "operator.jwt"
	AccountJWT     = "account.jwt"
	SystemJWT      = "system.jwt"
	ServerCreds    = "server.creds"
	// SystemCreds is a user of the system account allowed only to push
	// account claims (revocations) to NATS.
	SystemCreds = "system.creds"
	NATSConf    = "nats-server.conf"
	NATSAuth    = "nats-auth.conf"
	TokensFile  = "tokens.json"
	// RevokedFile lists revoked certificate serials.
	RevokedFile = "revoked.json"
)

// File names inside the signing directory.
const (
	CAKeyFile    = "ca-key.pem"
	OperatorSeed = "operator.nk"
	AccountSeed  = "account.nk"
	SystemSeed   = "system.nk"
	// IssuedFile is the register of issued credentials.
	IssuedFile = "issued.json"
)

// signingFiles are the secrets that mint credentials.
var signingFiles = []string{CAKeyFile, OperatorSeed, AccountSeed, SystemSeed}

// Names of the files an issued credential directory holds.
const (
	IssuedCA    = pki.DirCA
	IssuedCert  = pki.DirCert
	IssuedKey   = pki.DirKey
	IssuedCreds = pki.DirCreds
)

// Validity of issued credentials.
const (
	CAValidity = 10 * 365 * 24 * time.Hour
	// DefaultValidity is the lifetime of an agent, SIEM, client or server
	// credential and of a token unless the issuer asks for another.
	DefaultValidity = 90 * 24 * time.Hour
	// MaxValidity bounds what an issuer may ask for.
	MaxValidity = 2 * 365 * 24 * time.Hour
)

// Trust is a loaded trust directory, with the signing material when it
// was loaded by LoadSigning.
type Trust struct {
	Dir string
	// SigningDir is where the signing material was found ("" when loaded
	// for serving).
	SigningDir  string
	CA          *pki.CA
	operator    nkeys.KeyPair
	account     nkeys.KeyPair
	system      nkeys.KeyPair
	OperatorJWT string
	AccountJWT  string
	SystemJWT   string
	// AccountKey, SystemKey and OperatorKey are the public keys.
	AccountKey, SystemKey, OperatorKey string
}

// Path joins a file name to the trust directory.
func (t *Trust) Path(name string) string { return filepath.Join(t.Dir, name) }

// signingPath joins a file name to the signing directory.
func (t *Trust) signingPath(name string) string { return filepath.Join(t.SigningDir, name) }

// DirOf is the trust directory of a data directory.
func DirOf(dataDir string) string { return filepath.Join(dataDir, "trust") }

// SigningDirOf is the default signing directory of a data directory: its
// sibling <data-dir>-signing.
func SigningDirOf(dataDir string) string { return filepath.Clean(dataDir) + "-signing" }

// Init creates the trust of a data directory: a CA, a server certificate
// for hosts, a NATS operator with the Vigil and system accounts (the Vigil
// account mapping findings subjects onto shards when shards > 1), the
// server's NATS credentials, a nats-server.conf for an external NATS
// server and an empty token file in <data-dir>/trust; the CA key, the
// seeds and the register in signingDir ("" for SigningDirOf), which must
// lie outside the data directory. It refuses to overwrite either.
func Init(dataDir, signingDir string, hosts []string, shards int) (*Trust, error) {
	dir := DirOf(dataDir)
	if signingDir == "" {
		signingDir = SigningDirOf(dataDir)
	}
	if inside(signingDir, dataDir) {
		return nil, fmt.Errorf("signing dir %s is inside the data dir %s: a copy of the data dir could then mint credentials", signingDir, dataDir)
	}
	if _, err := os.Stat(filepath.Join(dir, CAFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a CA; remove it to start over (every issued credential becomes invalid)", dir)
	}
	if _, err := os.Stat(filepath.Join(signingDir, CAKeyFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a CA key (of another installation?); give another --signing-dir or remove it to start over", signingDir)
	}
	for _, d := range []string{dir, signingDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("trust dir: %w", err)
		}
	}
	if len(hosts) == 0 {
		hosts = defaultHosts
	}
	ca, caKey, err := pki.NewCA("Vigil CA", CAValidity)
	if err != nil {
		return nil, err
	}
	t := &Trust{Dir: dir, SigningDir: signingDir, CA: ca}
	srvReq := serverRequest(hosts)
	srvCert, srvKey, err := ca.Issue(srvReq)
	if err != nil {
		return nil, err
	}
	files := []file{
		{dir, CAFile, ca.CertPEM, 0o644}, {signingDir, CAKeyFile, caKey, 0o600},
		{dir, ServerCertFile, srvCert, 0o644}, {dir, ServerKeyFile, srvKey, 0o600},
	}
	if t.operator, err = nkeys.CreateOperator(); err != nil {
		return nil, fmt.Errorf("operator key: %w", err)
	}
	t.OperatorKey, _ = t.operator.PublicKey()
	if t.account, t.AccountKey, t.AccountJWT, err = newAccount("VIGIL", t.operator, true, shards); err != nil {
		return nil, err
	}
	if t.system, t.SystemKey, t.SystemJWT, err = newAccount("SYS", t.operator, false, 1); err != nil {
		return nil, err
	}
	oc := jwt.NewOperatorClaims(t.OperatorKey)
	oc.Name = "vigil"
	oc.SystemAccount = t.SystemKey
	if t.OperatorJWT, err = oc.Encode(t.operator); err != nil {
		return nil, fmt.Errorf("operator JWT: %w", err)
	}
	for _, k := range []struct {
		name string
		kp   nkeys.KeyPair
	}{{OperatorSeed, t.operator}, {AccountSeed, t.account}, {SystemSeed, t.system}} {
		seed, err := k.kp.Seed()
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		files = append(files, file{signingDir, k.name, seed, 0o600})
	}
	serverCreds, _, err := t.userCreds(t.account, "vigil-server", nil, CAValidity)
	if err != nil {
		return nil, err
	}
	systemCreds, err := t.systemCreds()
	if err != nil {
		return nil, err
	}
	files = append(files,
		file{dir, OperatorJWT, []byte(t.OperatorJWT), 0o644}, file{dir, AccountJWT, []byte(t.AccountJWT), 0o644}, file{dir, SystemJWT, []byte(t.SystemJWT), 0o644},
		file{dir, ServerCreds, serverCreds, 0o600}, file{dir, SystemCreds, systemCreds, 0o600},
		file{dir, NATSConf, t.natsConf(), 0o644}, file{dir, NATSAuth, t.natsAuth(), 0o644},
		file{dir, TokensFile, []byte("[]\n"), 0o600}, file{dir, RevokedFile, []byte("[]\n"), 0o644})
	// The CA goes last, so an interrupted init can be run again.
	slices.SortStableFunc(files, func(a, b file) int {
		return boolInt(a.name == CAFile) - boolInt(b.name == CAFile)
	})
	for _, f := range files {
		if err := pki.WriteFile(filepath.Join(f.dir, f.name), f.data, f.perm); err != nil {
			return nil, err
		}
	}
	if err := t.record(issuedOf(KindServer, srvReq, srvCert)); err != nil {
		return nil, err
	}
	return t, nil
}

var defaultHosts = []string{"localhost", "127.0.0.1", "::1"}

func serverRequest(hosts []string) pki.Request {
	return pki.Request{Name: "vigil-server", Role: pki.RoleServer, Tenants: []string{pki.AllTenants}, Hosts: hosts, Server: true, Validity: DefaultValidity}
}

// inside reports whether path lies in dir (or is it).
func inside(path, dir string) bool {
	ap, err1 := filepath.Abs(path)
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

type file struct {
	dir, name string
	data      []byte
	perm      os.FileMode
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func newAccount(name string, operator nkeys.KeyPair, jetstream bool, shards int) (nkeys.KeyPair, string, string, error) {
	kp, err := nkeys.CreateAccount()
	if err != nil {
		return nil, "", "", fmt.Errorf("account key: %w", err)
	}
	pub, _ := kp.PublicKey()
	ac := jwt.NewAccountClaims(pub)
	ac.Name = name
	if shards > 1 {
		for src, dst := range bus.ShardMappings(shards) {
			ac.AddMapping(jwt.Subject(src), jwt.WeightedMapping{Subject: jwt.Subject(dst), Weight: 100})
		}
	}
	if jetstream {
		ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1, MaxAckPending: -1, MemoryMaxStreamBytes: -1, DiskMaxStreamBytes: -1}
	}
	token, err := ac.Encode(operator)
	if err != nil {
		return nil, "", "", fmt.Errorf("account %s JWT: %w", name, err)
	}
	return kp, pub, token, nil
}

// Load reads the trust directory of dataDir: what a server needs, none of
// the signing material.
func Load(dataDir string) (*Trust, error) {
	dir := DirOf(dataDir)
	if _, err := os.Stat(filepath.Join(dir, CAFile)); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s has no CA: run vigil-server init --data-dir %s first", dir, dataDir)
	}
	ca, err := pki.LoadCA(filepath.Join(dir, CAFile), "")
	if err != nil {
		return nil, err
	}
	t := &Trust{Dir: dir, CA: ca}
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("trust: %w", err)
		}
		return string(b), nil
	}
	if t.OperatorJWT, err = read(OperatorJWT); err != nil {
		return nil, err
	}
	if t.AccountJWT, err = read(AccountJWT); err != nil {
		return nil, err
	}
	if t.SystemJWT, err = read(SystemJWT); err != nil {
		return nil, err
	}
	oc, err := jwt.DecodeOperatorClaims(t.OperatorJWT)
	if err != nil {
		return nil, fmt.Errorf("trust: %s: %w", OperatorJWT, err)
	}
	t.OperatorKey = oc.Subject
	ac, err := t.VerifyAccount(t.AccountJWT)
	if err != nil {
		return nil, fmt.Errorf("trust: %s: %w", AccountJWT, err)
	}
	t.AccountKey = ac.Subject
	sc, err := jwt.DecodeAccountClaims(t.SystemJWT)
	if err != nil {
		return nil, fmt.Errorf("trust: %s: %w", SystemJWT, err)
	}
	t.SystemKey = sc.Subject
	return t, nil
}

// VerifyAccount decodes an account JWT and checks that the operator signed it.
func (t *Trust) VerifyAccount(token string) (*jwt.AccountClaims, error) {
	ac, err := jwt.DecodeAccountClaims(token)
	if err != nil {
		return nil, err
	}
	if ac.Issuer != t.OperatorKey {
		return nil, fmt.Errorf("account JWT issued by %s, not by the operator %s", ac.Issuer, t.OperatorKey)
	}
	if t.AccountKey != "" && ac.Subject != t.AccountKey {
		return nil, fmt.Errorf("account JWT names account %s, not %s", ac.Subject, t.AccountKey)
	}
	return ac, nil
}

// LoadSigning reads the trust of dataDir with the signing material of
// signingDir ("" for SigningDirOf), for issuing and revoking. A trust made
// before the signing directory existed keeps its keys in the trust
// directory; they are used from there and LegacyKeys reports it.
func LoadSigning(dataDir, signingDir string) (*Trust, error) {
	t, err := Load(dataDir)
	if err != nil {
		return nil, err
	}
	if signingDir == "" {
		signingDir = SigningDirOf(dataDir)
	}
	t.SigningDir = signingDir
	if _, err := os.Stat(t.signingPath(CAKeyFile)); errors.Is(err, os.ErrNotExist) && len(t.LegacyKeys()) > 0 {
		t.SigningDir = t.Dir
	}
	if t.CA, err = pki.LoadCA(t.Path(CAFile), t.signingPath(CAKeyFile)); err != nil {
		return nil, err
	}
	if !t.CA.CanIssue() {
		return nil, fmt.Errorf("no CA key at %s: give the signing directory vigil-server init wrote (--signing-dir)", t.signingPath(CAKeyFile))
	}
	for _, k := range []struct {
		name string
		kp   *nkeys.KeyPair
		pub  string
	}{{OperatorSeed, &t.operator, t.OperatorKey}, {AccountSeed, &t.account, t.AccountKey}, {SystemSeed, &t.system, t.SystemKey}} {
		seed, err := os.ReadFile(t.signingPath(k.name))
		if err != nil {
			return nil, fmt.Errorf("signing material: %w", err)
		}
		if *k.kp, err = nkeys.FromSeed(seed); err != nil {
			return nil, fmt.Errorf("signing material %s: %w", t.signingPath(k.name), err)
		}
		if pub, _ := (*k.kp).PublicKey(); pub != k.pub {
			return nil, fmt.Errorf("signing material %s belongs to another installation (key %s, the trust has %s)", t.signingPath(k.name), pub, k.pub)
		}
	}
	return t, t.completeServerFiles()
}

// completeServerFiles writes the server files a trust made by an older
// init lacks: the system user that pushes revocations and an empty
// revocation list.
func (t *Trust) completeServerFiles() error {
	if _, err := os.Stat(t.Path(SystemCreds)); errors.Is(err, os.ErrNotExist) {
		creds, err := t.systemCreds()
		if err != nil {
			return err
		}
		if err := pki.WriteFile(t.Path(SystemCreds), creds, 0o600); err != nil {
			return err
		}
	}
	if _, err := os.Stat(t.Path(RevokedFile)); errors.Is(err, os.ErrNotExist) {
		return pki.WriteFile(t.Path(RevokedFile), []byte("[]\n"), 0o644)
	}
	return nil
}

// LegacyKeys lists signing files left in the trust directory by an older
// init: whoever copies the data directory can mint credentials with them.
func (t *Trust) LegacyKeys() []string {
	var found []string
	for _, name := range signingFiles {
		if _, err := os.Stat(t.Path(name)); err == nil {
			found = append(found, t.Path(name))
		}
	}
	return found
}

// MoveSigningKeys moves signing files an older init left in the trust
// directory of dataDir to signingDir.
func MoveSigningKeys(dataDir, signingDir string) ([]string, error) {
	if signingDir == "" {
		signingDir = SigningDirOf(dataDir)
	}
	if inside(signingDir, dataDir) {
		return nil, fmt.Errorf("signing dir %s is inside the data dir %s", signingDir, dataDir)
	}
	if err := os.MkdirAll(signingDir, 0o700); err != nil {
		return nil, fmt.Errorf("signing dir: %w", err)
	}
	var moved []string
	for _, name := range signingFiles {
		src, dst := filepath.Join(DirOf(dataDir), name), filepath.Join(signingDir, name)
		data, err := os.ReadFile(src)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return moved, fmt.Errorf("move %s: %w", name, err)
		}
		if _, err := os.Stat(dst); err == nil {
			return moved, fmt.Errorf("move %s: %s exists", name, dst)
		}
		if err := pki.WriteFile(dst, data, 0o600); err != nil {
			return moved, err
		}
		if err := os.Remove(src); err != nil {
			return moved, fmt.Errorf("move %s: %w", name, err)
		}
		moved = append(moved, dst)
	}
	return moved, nil
}

// natsConf is a nats-server configuration for running an external NATS
// server with this trust: TLS with client certificates and the
// authorization of natsAuth.
func (t *Trust) natsConf() []byte {
	return fmt.Appendf(nil, `# NATS server configuration for Vigil (generated by vigil-server init).
# Copy ca.pem, server.pem, server-key.pem and %s next to it, or adjust
# the paths, and run: nats-server -c nats-server.conf
port: 4222
jetstream { store_dir: "./jetstream" }
max_payload: %d
tls {
  cert_file: "server.pem"
  key_file: "server-key.pem"
  ca_file: "ca.pem"
  verify: true
}
include %s
`, NATSAuth, bus.MaxMessageSize+16*1024, NATSAuth)
}

// natsAuth is the authorization part of a nats-server configuration: the
// operator and the accounts preloaded, so users are checked against the
// account key alone.
func (t *Trust) natsAuth() []byte {
	return fmt.Appendf(nil, `# Vigil's NATS operator and accounts (generated by vigil-server init).
operator: %q
system_account: %s
resolver: MEMORY
resolver_preload: {
  %s: %q
  %s: %q
}
`, t.OperatorJWT, t.SystemKey, t.AccountKey, t.AccountJWT, t.SystemKey, t.SystemJWT)
}
