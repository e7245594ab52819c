package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigilsec/vigil/pkg/pki"
)

// Revocation: a revoked certificate's serial goes to revoked.json, which
// the gRPC server re-reads within a second and refuses; a revoked NATS
// user goes into the account JWT's revocation list, re-signed with the
// operator key, which the server pushes to NATS (the embedded server and an
// external one alike), where the user's connections are closed and new ones
// refused. Entries leave both lists once the credential has expired, so
// they stay as short as the set of live revoked credentials.

// RevokedCert is one entry of revoked.json.
type RevokedCert struct {
	Serial  string    `json:"serial"`
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	Revoked time.Time `json:"revoked"`
	Expires time.Time `json:"expires"`
}

// ParseRevoked reads revoked.json; empty input is an empty list.
func ParseRevoked(data []byte) ([]RevokedCert, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var list []RevokedCert
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	for i, r := range list {
		if r.Serial == "" {
			return nil, fmt.Errorf("revocation list: entry %d has no serial", i+1)
		}
	}
	return list, nil
}

// Match selects register entries: a kind, a name and, when not empty, a tenant.
type Match struct {
	Kind, Name, Tenant string
}

func (m Match) selects(e Issued) bool {
	return e.Kind == m.Kind && e.Name == m.Name && (m.Tenant == "" || slices.Contains(e.Tenants, m.Tenant))
}

// Revoke revokes every live credential the match selects and returns them.
func (t *Trust) Revoke(m Match) ([]Issued, error) {
	if m.Kind == KindAgent && m.Tenant == "" {
		return nil, errors.New("revoking an agent needs its tenant")
	}
	if m.Kind == KindServer {
		return nil, errors.New("the server certificate is replaced with renew-server-cert, not revoked")
	}
	return t.revoke(func(e Issued) bool { return m.selects(e) })
}

// revoke revokes the live register entries pick selects.
func (t *Trust) revoke(pick func(Issued) bool) ([]Issued, error) {
	if t.operator == nil {
		return nil, errors.New("revoking needs the signing directory vigil-server init wrote")
	}
	list, err := t.Register()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	var revoked []Issued
	for i, e := range list {
		if e.Live(now) && pick(e) {
			list[i].Revoked = now
			revoked = append(revoked, list[i])
		}
	}
	if len(revoked) == 0 {
		return nil, errors.New("no live credential matches")
	}
	// The register first: should a later step fail, running revoke again
	// finds nothing live and the lists are rebuilt from it by Republish.
	if err := t.writeRegister(list); err != nil {
		return nil, err
	}
	return revoked, t.Republish()
}

// Republish rewrites revoked.json and the account JWT from the register:
// every live-but-revoked credential is listed, expired ones are dropped.
func (t *Trust) Republish() error {
	list, err := t.Register()
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	certs := []RevokedCert{}
	ac, err := t.VerifyAccount(t.AccountJWT)
	if err != nil {
		return err
	}
	ac.Revocations = nil
	for _, e := range list {
		if e.Revoked.IsZero() || !now.Before(e.Expires) {
			continue
		}
		certs = append(certs, RevokedCert{Serial: e.Serial, Kind: e.Kind, Name: e.Name, Revoked: e.Revoked, Expires: e.Expires})
		if e.NATSUser != "" {
			// Users issued up to the revocation are refused; the second
			// added covers a user issued within the same second.
			ac.RevokeAt(e.NATSUser, e.Revoked.Add(time.Second))
		}
	}
	token, err := ac.Encode(t.operator)
	if err != nil {
		return fmt.Errorf("account JWT: %w", err)
	}
	data, err := json.MarshalIndent(certs, "", "  ")
	if err != nil {
		return err
	}
	if err := pki.WriteFile(t.Path(RevokedFile), append(data, '\n'), 0o644); err != nil {
		return err
	}
	t.AccountJWT = token
	if err := pki.WriteFile(t.Path(AccountJWT), []byte(token), 0o644); err != nil {
		return err
	}
	return pki.WriteFile(t.Path(NATSAuth), t.natsAuth(), 0o644)
}

// Rotate issues a replacement for the newest live credential the match
// selects, with the same name, tenants and role, into outDir; with
// revokeOld the credentials it replaces are revoked at once, otherwise
// they stay valid until they expire.
func (t *Trust) Rotate(m Match, outDir string, lifetime time.Duration, revokeOld bool) (Issued, []Issued, error) {
	list, err := t.Register()
	if err != nil {
		return Issued{}, nil, err
	}
	now := time.Now()
	var old *Issued
	for i := range list {
		if list[i].Live(now) && m.selects(list[i]) {
			old = &list[i]
		}
	}
	if old == nil {
		return Issued{}, nil, fmt.Errorf("no live %s credential named %q to rotate", m.Kind, m.Name)
	}
	var fresh Issued
	switch old.Kind {
	case KindAgent:
		fresh, err = t.AgentCredentials(old.Tenants[0], old.Name, outDir, lifetime)
	case KindSIEM:
		fresh, err = t.SIEMCredentials(old.Name, old.Tenants, outDir, lifetime)
	case KindClient:
		fresh, err = t.ClientCertificate(old.Name, old.Role, old.Tenants, outDir, lifetime)
	default:
		return Issued{}, nil, fmt.Errorf("a %s credential is not rotated this way", old.Kind)
	}
	if err != nil || !revokeOld {
		return fresh, nil, err
	}
	revoked, err := t.revoke(func(e Issued) bool { return m.selects(e) && e.Serial != fresh.Serial })
	return fresh, revoked, err
}

// WatchRevoked follows a revocation list for a running server: the
// serials it must refuse, re-read within a second of a change.
func WatchRevoked(path string) (*Watched[map[string]RevokedCert], error) {
	return Watch(path, func(path string, data []byte) (map[string]RevokedCert, error) {
		list, err := ParseRevoked(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		m := make(map[string]RevokedCert, len(list))
		for _, r := range list {
			m[r.Serial] = r
		}
		return m, nil
	})
}
