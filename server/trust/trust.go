// Package trust creates and keeps an installation's credentials: the CA and
// the server's certificate, the NATS operator, account and users (JWTs
// signed with NKeys, so the server need not know each agent in advance),
// and the hashed bearer tokens of gRPC callers.
//
// Everything lives in <data-dir>/trust; the *-key.pem and *.nk files are
// secrets (mode 0600). Issuing a credential never changes a running server:
// user JWTs are verified against the account key, certificates against the
// CA, and the token file is re-read when it changes.
package trust

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pki"
)

// File names inside the trust directory.
const (
	CAFile         = "ca.pem"
	CAKeyFile      = "ca-key.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
	OperatorJWT    = "operator.jwt"
	OperatorSeed   = "operator.nk"
	AccountJWT     = "account.jwt"
	AccountSeed    = "account.nk"
	SystemJWT      = "system.jwt"
	SystemSeed     = "system.nk"
	ServerCreds    = "server.creds"
	NATSConf       = "nats-server.conf"
	NATSAuth       = "nats-auth.conf"
	TokensFile     = "tokens.json"
)

// Names of the files an issued credential directory holds.
const (
	IssuedCA    = pki.DirCA
	IssuedCert  = pki.DirCert
	IssuedKey   = pki.DirKey
	IssuedCreds = pki.DirCreds
)

// AnyID as an agent id issues a tenant-wide agent credential.
const AnyID = "*"

// Validity of issued credentials.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	CertValidity = 365 * 24 * time.Hour
)

// Trust is a loaded trust directory.
type Trust struct {
	Dir         string
	CA          *pki.CA
	account     nkeys.KeyPair
	OperatorJWT string
	AccountJWT  string
	SystemJWT   string
	// AccountKey and SystemKey are the public keys of the accounts.
	AccountKey, SystemKey string
}

// Path joins a file name to the trust directory.
func (t *Trust) Path(name string) string { return filepath.Join(t.Dir, name) }

// DirOf is the trust directory of a data directory.
func DirOf(dataDir string) string { return filepath.Join(dataDir, "trust") }

// Init creates a trust directory under dataDir: a CA, a server
// certificate for hosts, a NATS operator with the Vigil and system
// accounts, the server's NATS credentials, a nats-server.conf for an
// external NATS server and an empty token file. It refuses to overwrite an
// existing one.
func Init(dataDir string, hosts []string) (*Trust, error) { return InitSharded(dataDir, hosts, 1) }

// InitSharded is Init for a write scale-out of shards: the Vigil account
// maps findings subjects onto the shards (bus.ShardMapping).
func InitSharded(dataDir string, hosts []string, shards int) (*Trust, error) {
	dir := DirOf(dataDir)
	if _, err := os.Stat(filepath.Join(dir, CAFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a CA; remove it to start over (every issued credential becomes invalid)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("trust dir: %w", err)
	}
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	ca, caKey, err := pki.NewCA("Vigil CA", CAValidity)
	if err != nil {
		return nil, err
	}
	srvCert, srvKey, err := ca.Issue(pki.Request{Name: "vigil-server", Role: pki.RoleServer, Tenants: []string{pki.AllTenants}, Hosts: hosts, Server: true, Validity: CertValidity})
	if err != nil {
		return nil, err
	}
	files := []file{
		{CAFile, ca.CertPEM, 0o644}, {CAKeyFile, caKey, 0o600},
		{ServerCertFile, srvCert, 0o644}, {ServerKeyFile, srvKey, 0o600},
	}

	operator, err := nkeys.CreateOperator()
	if err != nil {
		return nil, fmt.Errorf("operator key: %w", err)
	}
	opPub, _ := operator.PublicKey()
	account, accPub, accJWT, err := newAccount("VIGIL", operator, true, shards)
	if err != nil {
		return nil, err
	}
	system, sysPub, sysJWT, err := newAccount("SYS", operator, false, 1)
	if err != nil {
		return nil, err
	}
	oc := jwt.NewOperatorClaims(opPub)
	oc.Name = "vigil"
	oc.SystemAccount = sysPub
	opJWT, err := oc.Encode(operator)
	if err != nil {
		return nil, fmt.Errorf("operator JWT: %w", err)
	}
	for _, k := range []struct {
		name string
		kp   nkeys.KeyPair
	}{{OperatorSeed, operator}, {AccountSeed, account}, {SystemSeed, system}} {
		seed, err := k.kp.Seed()
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		files = append(files, file{k.name, seed, 0o600})
	}
	t := &Trust{Dir: dir, CA: ca, account: account, OperatorJWT: opJWT, AccountJWT: accJWT, SystemJWT: sysJWT, AccountKey: accPub, SystemKey: sysPub}
	serverCreds, err := t.userCreds("vigil-server", nil)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data string
	}{{OperatorJWT, opJWT}, {AccountJWT, accJWT}, {SystemJWT, sysJWT}} {
		files = append(files, file{f.name, []byte(f.data), 0o644})
	}
	files = append(files, file{ServerCreds, serverCreds, 0o600}, file{NATSConf, t.natsConf(), 0o644}, file{NATSAuth, t.natsAuth(), 0o644}, file{TokensFile, []byte("[]\n"), 0o600})
	// The CA goes last, so an interrupted init can be run again.
	slices.SortStableFunc(files, func(a, b file) int {
		return boolInt(a.name == CAFile) - boolInt(b.name == CAFile)
	})
	for _, f := range files {
		if err := pki.WriteFile(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return nil, err
		}
	}
	return t, nil
}

type file struct {
	name string
	data []byte
	perm os.FileMode
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
		src, dst := bus.ShardMapping(shards)
		ac.AddMapping(jwt.Subject(src), jwt.WeightedMapping{Subject: jwt.Subject(dst), Weight: 100})
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

// Load reads the trust directory of dataDir.
func Load(dataDir string) (*Trust, error) {
	dir := DirOf(dataDir)
	if _, err := os.Stat(filepath.Join(dir, CAFile)); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s has no CA: run vigil-server init --data-dir %s first", dir, dataDir)
	}
	ca, err := pki.LoadCA(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
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
	// The account seed signs user JWTs; a running server does not need it
	// and a deployment may keep it elsewhere, with the CA key.
	if seed, err := os.ReadFile(filepath.Join(dir, AccountSeed)); err == nil {
		if t.account, err = nkeys.FromSeed(seed); err != nil {
			return nil, fmt.Errorf("trust: %s: %w", AccountSeed, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("trust: %w", err)
	}
	ac, err := jwt.DecodeAccountClaims(t.AccountJWT)
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

// userCreds issues a NATS user of the Vigil account; nil permissions mean
// no restriction (the server's own user).
func (t *Trust) userCreds(name string, perm *bus.Permissions) ([]byte, error) {
	if t.account == nil {
		return nil, fmt.Errorf("the account seed %s is not here: issue credentials where vigil-server init left it", AccountSeed)
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("user key: %w", err)
	}
	pub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(pub)
	uc.Name = name
	uc.Expires = time.Now().Add(CertValidity).Unix()
	if perm != nil {
		uc.Pub.Allow.Add(perm.Publish...)
		uc.Sub.Allow.Add(perm.Subscribe...)
	}
	token, err := uc.Encode(t.account)
	if err != nil {
		return nil, fmt.Errorf("user %s JWT: %w", name, err)
	}
	seed, err := user.Seed()
	if err != nil {
		return nil, fmt.Errorf("user seed: %w", err)
	}
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		return nil, fmt.Errorf("user %s creds: %w", name, err)
	}
	return creds, nil
}

// AgentCredentials writes an agent's credentials to outDir: the CA, a
// client certificate naming the agent and its tenant, and NATS credentials
// that may publish only on the agent's own subjects.
//
// An id of AnyID issues a tenant-wide credential that may speak for every
// agent id of the tenant (never of another): for DaemonSets, whose agents
// share one Secret but each need an id of their own.
func (t *Trust) AgentCredentials(tenant, id, outDir string) error {
	if err := bus.ValidateID("tenant", tenant); err != nil {
		return err
	}
	if id != AnyID {
		if err := bus.ValidateID("agent id", id); err != nil {
			return err
		}
	}
	perm := bus.AgentPermissions(tenant, id)
	return t.issue(outDir, pki.Request{Name: id, Role: pki.RoleAgent, Tenants: []string{tenant}}, &perm)
}

// SIEMCredentials writes the credentials of a SIEM that may read the events
// of tenants.
func (t *Trust) SIEMCredentials(name string, tenants []string, outDir string) error {
	if err := bus.ValidateID("name", name); err != nil {
		return err
	}
	if err := validTenants(tenants); err != nil {
		return err
	}
	perm := bus.SIEMPermissions(name, tenants)
	return t.issue(outDir, pki.Request{Name: name, Role: pki.RoleSIEM, Tenants: tenants}, &perm)
}

// ClientCertificate writes a gRPC client certificate (no NATS credentials)
// for an operator or tool with role over tenants.
func (t *Trust) ClientCertificate(name, role string, tenants []string, outDir string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	if role != pki.RoleAdmin && role != pki.RoleViewer {
		return fmt.Errorf("role %q: use admin or viewer", role)
	}
	if err := validTenants(tenants); err != nil {
		return err
	}
	return t.issue(outDir, pki.Request{Name: name, Role: role, Tenants: tenants}, nil)
}

func validTenants(tenants []string) error {
	if len(tenants) == 0 {
		return errors.New("at least one tenant (or * for all) is required")
	}
	for _, tn := range tenants {
		if tn == pki.AllTenants {
			continue
		}
		if err := bus.ValidateID("tenant", tn); err != nil {
			return err
		}
	}
	return nil
}

func (t *Trust) issue(outDir string, req pki.Request, perm *bus.Permissions) error {
	req.Validity = CertValidity
	cert, key, err := t.CA.Issue(req)
	if err != nil {
		return err
	}
	if err := pki.WriteFile(filepath.Join(outDir, IssuedCA), t.CA.CertPEM, 0o644); err != nil {
		return err
	}
	if err := pki.WriteFile(filepath.Join(outDir, IssuedCert), cert, 0o644); err != nil {
		return err
	}
	if err := pki.WriteFile(filepath.Join(outDir, IssuedKey), key, 0o600); err != nil {
		return err
	}
	if perm == nil {
		return nil
	}
	creds, err := t.userCreds(req.Name, perm)
	if err != nil {
		return err
	}
	return pki.WriteFile(filepath.Join(outDir, IssuedCreds), creds, 0o600)
}

// RenewServerCertificate issues a new server certificate in place; a
// running server picks it up at its next handshake.
func (t *Trust) RenewServerCertificate(hosts []string) error {
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	cert, key, err := t.CA.Issue(pki.Request{Name: "vigil-server", Role: pki.RoleServer, Tenants: []string{pki.AllTenants}, Hosts: hosts, Server: true, Validity: CertValidity})
	if err != nil {
		return err
	}
	// Key first: a reload between the two renames fails to pair and keeps
	// the old material, then succeeds at the next check.
	if err := pki.WriteFile(t.Path(ServerKeyFile), key, 0o600); err != nil {
		return err
	}
	return pki.WriteFile(t.Path(ServerCertFile), cert, 0o644)
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
