package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/nats-io/nats.go"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pki"
)

// checkCredentials reads the credentials directory and checks that its
// certificate names this agent, so a mix-up fails at start with a clear
// message instead of as permission errors later. It returns the name of a
// tenant-wide credential ("" for the agent's own).
func checkCredentials(dir, tenant, id string) (string, error) {
	who, err := credentialIdentity(dir)
	if err != nil {
		return "", err
	}
	if who.Role != pki.RoleAgent || who.Name != id && !wide(who.Name) || !slices.Contains(who.Tenants, tenant) {
		return "", fmt.Errorf("credentials in %s are for %s %v/%s, not agent %s/%s", dir, who.Role, who.Tenants, who.Name, tenant, id)
	}
	if who.Name == legacyAnyID {
		return "", fmt.Errorf("credentials in %s are an unnamed tenant-wide credential, whose agents could write into other agents' scopes: issue a new one with vigil-server agent-credentials --any-id --name NAME", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, pki.DirCreds)); err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	via, _ := bus.ParseWideName(who.Name)
	return via, nil
}

// legacyAnyID named the tenant-wide credentials of older releases, whose
// subjects did not say which credential spoke.
const legacyAnyID = "*"

// wide reports whether a certificate name is a tenant-wide credential's
// (vigil-server agent-credentials --any-id): it may speak for any agent id
// of its tenant, as the agents of a DaemonSet, one per node, must.
func wide(name string) bool {
	_, ok := bus.ParseWideName(name)
	return ok || name == legacyAnyID
}

// credentialIdentity reads the identity of a credentials directory's certificate.
func credentialIdentity(dir string) (pki.Identity, error) {
	data, err := os.ReadFile(filepath.Join(dir, pki.DirCert))
	if err != nil {
		return pki.Identity{}, fmt.Errorf("credentials: %w", err)
	}
	certs, err := pki.ParseCerts(data)
	if err != nil {
		return pki.Identity{}, fmt.Errorf("credentials %s: %w", filepath.Join(dir, pki.DirCert), err)
	}
	return pki.IdentityOf(certs[0]), nil
}

// credentialOptions are the NATS options of the credentials directory:
// TLS with the reloading certificate and CA, the user credentials (read
// at each connect), and the agent's own inbox prefix, the only reply
// subjects its permissions let it read.
func (a *Agent) credentialOptions() ([]nats.Option, error) {
	if a.cfg.Credentials == "" {
		return nil, nil
	}
	dir := a.cfg.Credentials
	r, err := pki.NewReloader(pki.DirFiles(dir))
	if err != nil {
		return nil, err
	}
	return []nats.Option{
		nats.Secure(r.ClientConfig("")),
		nats.UserCredentials(filepath.Join(dir, pki.DirCreds)),
		nats.CustomInboxPrefix(a.cfg.sender().InboxPrefix()),
	}, nil
}
