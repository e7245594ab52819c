package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pki"
)

// Kinds of issued credentials.
const (
	KindAgent  = "agent"
	KindSIEM   = "siem"
	KindClient = "client"
	KindServer = "server"
)

// Issued is one entry of the register of issued credentials: what a
// revocation or a rotation needs to find and replace it.
type Issued struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Tenants []string `json:"tenants"`
	Role    string   `json:"role,omitempty"`
	// Serial is the certificate's serial, lower-case hex.
	Serial string `json:"serial"`
	// NATSUser is the public key of the NATS user, when one was issued.
	NATSUser string    `json:"nats_user,omitempty"`
	Issued   time.Time `json:"issued"`
	Expires  time.Time `json:"expires"`
	Revoked  time.Time `json:"revoked,omitzero"`
}

// Live reports whether the credential is neither revoked nor expired at now.
func (i Issued) Live(now time.Time) bool { return i.Revoked.IsZero() && now.Before(i.Expires) }

// Register lists the issued credentials, oldest first.
func (t *Trust) Register() ([]Issued, error) {
	if t.SigningDir == "" {
		return nil, errors.New("the register is in the signing directory, which is not loaded")
	}
	return readRegister(t.signingPath(IssuedFile))
}

func readRegister(path string) ([]Issued, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	var list []Issued
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("register %s: %w", path, err)
	}
	return list, nil
}

func (t *Trust) writeRegister(list []Issued) error {
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	return pki.WriteFile(t.signingPath(IssuedFile), append(data, '\n'), 0o600)
}

// record appends an entry to the register.
func (t *Trust) record(e Issued) error {
	list, err := t.Register()
	if err != nil {
		return err
	}
	return t.writeRegister(append(list, e))
}

// validity is the lifetime an issuer asked for, or the default.
func validity(d time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return DefaultValidity, nil
	case d < time.Minute || d > MaxValidity:
		return 0, fmt.Errorf("validity %s: give between a minute and %s", d, MaxValidity)
	}
	return d, nil
}

// userCreds issues a user of an account (signed by kp) valid for
// lifetime; nil permissions mean no restriction (the server's own user).
// It returns the creds file and the user's public key.
func (t *Trust) userCreds(kp nkeys.KeyPair, name string, perm *bus.Permissions, lifetime time.Duration) ([]byte, string, error) {
	if kp == nil {
		return nil, "", errors.New("the account seed is not loaded: issue credentials with the signing directory vigil-server init wrote")
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		return nil, "", fmt.Errorf("user key: %w", err)
	}
	pub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(pub)
	uc.Name = name
	uc.Expires = time.Now().Add(lifetime).Unix()
	if perm != nil {
		uc.Pub.Allow.Add(perm.Publish...)
		uc.Sub.Allow.Add(perm.Subscribe...)
	}
	token, err := uc.Encode(kp)
	if err != nil {
		return nil, "", fmt.Errorf("user %s JWT: %w", name, err)
	}
	seed, err := user.Seed()
	if err != nil {
		return nil, "", fmt.Errorf("user seed: %w", err)
	}
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		return nil, "", fmt.Errorf("user %s creds: %w", name, err)
	}
	return creds, pub, nil
}

// systemCreds issues the server's system-account user, which may only
// push account claims to NATS (and read the replies).
func (t *Trust) systemCreds() ([]byte, error) {
	perm := bus.Permissions{Publish: []string{fmt.Sprintf(ClaimsUpdateSubject, "*")}, Subscribe: []string{"_INBOX.>"}}
	creds, _, err := t.userCreds(t.system, "vigil-server-system", &perm, CAValidity)
	return creds, err
}

// ClaimsUpdateSubject is where NATS servers take pushed account JWTs
// (with the account's public key in place of %s).
const ClaimsUpdateSubject = "$SYS.REQ.ACCOUNT.%s.CLAIMS.UPDATE"

// AgentCredentials writes an agent's credentials to outDir: the CA, a
// client certificate naming the agent and its tenant, and NATS credentials
// that may publish only on the agent's own subjects, valid for lifetime
// (0: DefaultValidity).
//
// An id of bus.WideName(name) issues the tenant-wide credential name, which
// may speak for any agent id of the tenant (never of another): for
// DaemonSets, whose agents share one Secret but each need an id of their
// own. Its subjects carry its name, so the server keeps the scopes of its
// agents apart from those of agents with credentials of their own.
func (t *Trust) AgentCredentials(tenant, id, outDir string, lifetime time.Duration) (Issued, error) {
	if err := bus.ValidateID("tenant", tenant); err != nil {
		return Issued{}, err
	}
	var perm bus.Permissions
	if via, ok := bus.ParseWideName(id); ok {
		if err := bus.ValidateID("tenant-wide credential name", via); err != nil {
			return Issued{}, err
		}
		perm = bus.WidePermissions(tenant, via)
	} else {
		if err := bus.ValidateID("agent id", id); err != nil {
			return Issued{}, err
		}
		perm = bus.AgentPermissions(tenant, id)
	}
	return t.issue(outDir, KindAgent, pki.Request{Name: id, Role: pki.RoleAgent, Tenants: []string{tenant}, Validity: lifetime}, &perm)
}

// SIEMCredentials writes the credentials of a SIEM that may read the events
// of tenants.
func (t *Trust) SIEMCredentials(name string, tenants []string, outDir string, lifetime time.Duration) (Issued, error) {
	if err := bus.ValidateID("name", name); err != nil {
		return Issued{}, err
	}
	if err := validTenants(tenants); err != nil {
		return Issued{}, err
	}
	perm := bus.SIEMPermissions(name, tenants)
	return t.issue(outDir, KindSIEM, pki.Request{Name: name, Role: pki.RoleSIEM, Tenants: tenants, Validity: lifetime}, &perm)
}

// ClientCertificate writes a gRPC client certificate (no NATS credentials)
// for an operator or tool with role over tenants.
func (t *Trust) ClientCertificate(name, role string, tenants []string, outDir string, lifetime time.Duration) (Issued, error) {
	if name == "" {
		return Issued{}, errors.New("name is empty")
	}
	if role != pki.RoleAdmin && role != pki.RoleViewer {
		return Issued{}, fmt.Errorf("role %q: use admin or viewer", role)
	}
	if err := validTenants(tenants); err != nil {
		return Issued{}, err
	}
	return t.issue(outDir, KindClient, pki.Request{Name: name, Role: role, Tenants: tenants, Validity: lifetime}, nil)
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

// issue signs a certificate (and a NATS user when perm is given), writes
// them to outDir and records them in the register.
func (t *Trust) issue(outDir, kind string, req pki.Request, perm *bus.Permissions) (Issued, error) {
	var err error
	if req.Validity, err = validity(req.Validity); err != nil {
		return Issued{}, err
	}
	cert, key, err := t.CA.Issue(req)
	if err != nil {
		return Issued{}, err
	}
	e := issuedOf(kind, req, cert)
	files := []file{{outDir, IssuedCA, t.CA.CertPEM, 0o644}, {outDir, IssuedCert, cert, 0o644}, {outDir, IssuedKey, key, 0o600}}
	if perm != nil {
		creds, pub, err := t.userCreds(t.account, req.Name, perm, time.Until(e.Expires))
		if err != nil {
			return Issued{}, err
		}
		e.NATSUser = pub
		files = append(files, file{outDir, IssuedCreds, creds, 0o600})
	}
	// Recorded before it is handed out: a credential the register does
	// not know could not be revoked.
	if err := t.record(e); err != nil {
		return Issued{}, err
	}
	for _, f := range files {
		if err := pki.WriteFile(filepath.Join(f.dir, f.name), f.data, f.perm); err != nil {
			return Issued{}, err
		}
	}
	return e, nil
}

// RenewServerCertificate issues a new server certificate in place; a
// running server picks it up at its next handshake.
func (t *Trust) RenewServerCertificate(hosts []string) (Issued, error) {
	if len(hosts) == 0 {
		hosts = defaultHosts
	}
	req := serverRequest(hosts)
	cert, key, err := t.CA.Issue(req)
	if err != nil {
		return Issued{}, err
	}
	e := issuedOf(KindServer, req, cert)
	if err := t.record(e); err != nil {
		return Issued{}, err
	}
	// Key first: a reload between the two renames fails to pair and keeps
	// the old material, then succeeds at the next check.
	if err := pki.WriteFile(t.Path(ServerKeyFile), key, 0o600); err != nil {
		return Issued{}, err
	}
	return e, pki.WriteFile(t.Path(ServerCertFile), cert, 0o644)
}

// issuedOf is the register entry of a certificate Issue just made for req.
func issuedOf(kind string, req pki.Request, certPEM []byte) Issued {
	e := Issued{Kind: kind, Name: req.Name, Tenants: req.Tenants, Issued: time.Now().UTC()}
	if kind == KindClient {
		e.Role = req.Role
	}
	if certs, err := pki.ParseCerts(certPEM); err == nil {
		e.Serial, e.Expires = pki.SerialOf(certs[0]), certs[0].NotAfter.UTC()
	}
	return e
}

// ParseLifetime reads a credential lifetime as days ("90d") or a Go
// duration ("36h"); empty is DefaultValidity.
func ParseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return DefaultValidity, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= int(MaxValidity/(24*time.Hour)) {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil {
		return validity(d)
	}
	return 0, fmt.Errorf("lifetime %q: give days (90d) or a duration (36h), at most %d days", s, int(MaxValidity/(24*time.Hour)))
}
