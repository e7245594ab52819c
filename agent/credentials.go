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
// message instead of as permission errors later.
func checkCredentials(dir, tenant, id string) error {
	who, err := credentialIdentity(dir)
	if err != nil {
		return err
	}
	if who.Role != pki.RoleAgent || who.Name != id && who.Name != AnyID || !slices.Contains(who.Tenants, tenant) {
		return fmt.Errorf("credentials in %s are for %s %v/%s, not agent %s/%s", dir, who.Role, who.Tenants, who.Name, tenant, id)
	}
	if _, err := os.Stat(filepath.Join(dir, pki.DirCreds)); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	return nil
}

// AnyID is the agent name of a tenant-wide credential (vigil-server
// agent-credentials --any-id): it may speak for any agent id of its tenant,
// as the agents of a DaemonSet, one per node, must.
const AnyID = "*"

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
		nats.CustomInboxPrefix(bus.AgentInboxPrefix(a.cfg.Tenant, a.cfg.ID)),
	}, nil
}
