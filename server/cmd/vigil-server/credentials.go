package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/config"
	"github.com/vigilsec/vigil/pkg/report"
	"github.com/vigilsec/vigil/server/trust"
)

// trustFlags are the flags of every command that reads the trust.
type trustFlags struct {
	dataDir, signingDir *string
}

func bindTrust(fs *pflag.FlagSet) trustFlags {
	return trustFlags{
		dataDir:    fs.String("data-dir", "./vigil-data", "data directory of the server"),
		signingDir: fs.String("signing-dir", "", "directory of the CA key, the NATS seeds and the register of issued credentials, outside the data dir (default <data-dir>-signing)"),
	}
}

func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return config.Apply(fs, "")
}

// signer loads the trust with its signing material, warning when an older
// init left the keys in the data directory.
func (f trustFlags) signer(out io.Writer) (*trust.Trust, error) {
	t, err := trust.LoadSigning(*f.dataDir, *f.signingDir)
	if err != nil {
		return nil, err
	}
	if t.SigningDir == t.Dir {
		fmt.Fprintf(out, "warning: the signing keys lie in %s, inside the data dir; move them with vigil-server move-signing-keys --data-dir %s\n", t.Dir, *f.dataDir)
	}
	return t, nil
}

// issuer parses an issuing command's flags and loads the trust it signs with.
func issuer(fs *pflag.FlagSet, args []string, tf trustFlags, life *string, out io.Writer) (*trust.Trust, time.Duration, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, 0, err
	}
	lifetime, err := trust.ParseLifetime(*life)
	if err != nil {
		return nil, 0, err
	}
	t, err := tf.signer(out)
	return t, lifetime, err
}

func lifetimeFlag(fs *pflag.FlagSet) *string {
	return fs.String("validity", "90d", "lifetime of the credential: days (90d) or a duration (36h), at most two years")
}

func initTrust(args []string, out io.Writer) error {
	fs := newFlags("init")
	tf := bindTrust(fs)
	hosts := fs.StringSlice("host", nil, "DNS name or IP address the server is reached at (repeatable; default localhost, 127.0.0.1, ::1)")
	shards := fs.Int("shards", 1, "write shards: the NATS account maps findings subjects onto them (servers then run with --shards and --shard)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	t, err := trust.Init(*tf.dataDir, *tf.signingDir, *hosts, *shards)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `created %s
  CA and server certificate, NATS operator and accounts, server NATS credentials
  %s: configuration for an external NATS server
created %s (mode 0700): the CA key, the NATS seeds and the register of issued credentials.
  The server runs without it: keep it off the server host, and give it with --signing-dir to issue, revoke and rotate.
start the server with: vigil-server --data-dir %s --tls
issue agents with:     vigil-server agent-credentials --data-dir %s --signing-dir %s --tenant T --id A --out DIR
`, t.Dir, trust.NATSConf, t.SigningDir, *tf.dataDir, *tf.dataDir, t.SigningDir)
	return nil
}

func agentCredentials(args []string, out io.Writer) error {
	fs := newFlags("agent-credentials")
	tf := bindTrust(fs)
	tenant := fs.String("tenant", "", "the agent's tenant")
	id := fs.String("id", "", "the agent's id")
	anyID := fs.Bool("any-id", false, "a tenant-wide credential that may speak for any agent id of the tenant (for DaemonSets: one Secret, an id per node)")
	name := fs.String("name", "nodes", "with --any-id, the tenant-wide credential's name: its agents are <id>@<name> on the server")
	outDir := fs.String("out", "", "directory to write the credentials to (default ./<tenant>-<id>, ./<tenant>-<name> with --any-id)")
	life := lifetimeFlag(fs)
	t, lifetime, err := issuer(fs, args, tf, life, out)
	if err != nil {
		return err
	}
	dir := *outDir
	if dir == "" {
		dir = *tenant + "-" + *id
		if *anyID {
			dir = *tenant + "-" + *name
		}
	}
	if err := agentID(id, *anyID, *name); err != nil {
		return err
	}
	e, err := t.AgentCredentials(*tenant, *id, dir, lifetime)
	if err != nil {
		return err
	}
	agent := *id
	if *anyID {
		agent = "ID"
	}
	fmt.Fprintf(out, "wrote %s (%s, %s, %s, %s), valid until %s\nrun the agent with: vigil-agent --tenant %s --id %s --credentials %s --nats-url tls://HOST:4222\n",
		dir, trust.IssuedCA, trust.IssuedCert, trust.IssuedKey, trust.IssuedCreds, day(e.Expires), *tenant, agent, dir)
	return nil
}

// agentID checks --id against --any-id and sets the id of the tenant-wide
// credential name.
func agentID(id *string, anyID bool, name string) error {
	if !anyID {
		return nil
	}
	if *id != "" {
		return errors.New("give --id or --any-id, not both")
	}
	if name == "" {
		return errors.New("a tenant-wide credential (--any-id) needs a --name")
	}
	*id = bus.WideName(name)
	return nil
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func siemCredentials(args []string, out io.Writer) error {
	fs := newFlags("siem-credentials")
	tf := bindTrust(fs)
	name := fs.String("name", "", "the SIEM's name")
	tenants := fs.StringSlice("tenant", nil, "tenant whose events it may read (repeatable; * for all)")
	outDir := fs.String("out", "", "directory to write the credentials to (default ./siem-<name>)")
	life := lifetimeFlag(fs)
	t, lifetime, err := issuer(fs, args, tf, life, out)
	if err != nil {
		return err
	}
	dir := *outDir
	if dir == "" {
		dir = "siem-" + *name
	}
	e, err := t.SIEMCredentials(*name, *tenants, dir, lifetime)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s, valid until %s; subscribe with inbox prefix _INBOX.siem.%s, for example:\n  nats --tlscert %s --tlskey %s --tlsca %s --creds %s --inbox-prefix _INBOX.siem.%s sub 'vigil.events.%s.>'\n",
		dir, day(e.Expires), *name, filepath.Join(dir, trust.IssuedCert), filepath.Join(dir, trust.IssuedKey), filepath.Join(dir, trust.IssuedCA), filepath.Join(dir, trust.IssuedCreds), *name, firstOr(*tenants, "TENANT"))
	return nil
}

func firstOr(list []string, def string) string {
	if len(list) == 0 || list[0] == "*" {
		return def
	}
	return list[0]
}

func clientCert(args []string, out io.Writer) error {
	fs := newFlags("client-cert")
	tf := bindTrust(fs)
	name := fs.String("name", "", "the holder's name (audit entries carry it)")
	role := fs.String("role", "viewer", "viewer or admin")
	tenants := fs.StringSlice("tenant", nil, "tenant the holder may act for (repeatable; * for all)")
	outDir := fs.String("out", "", "directory to write the certificate to (default ./<name>)")
	life := lifetimeFlag(fs)
	t, lifetime, err := issuer(fs, args, tf, life, out)
	if err != nil {
		return err
	}
	dir := *outDir
	if dir == "" {
		dir = *name
	}
	e, err := t.ClientCertificate(*name, *role, *tenants, dir, lifetime)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s, valid until %s\nuse it with: vigil --ca %s --cert %s --key %s findings list\n", dir, day(e.Expires),
		filepath.Join(dir, trust.IssuedCA), filepath.Join(dir, trust.IssuedCert), filepath.Join(dir, trust.IssuedKey))
	return nil
}

func token(args []string, out io.Writer) error {
	fs := newFlags("token")
	dataDir := fs.String("data-dir", "./vigil-data", "data directory of the server")
	name := fs.String("name", "", "the token's name (audit entries carry it)")
	role := fs.String("role", "viewer", "viewer or admin")
	tenants := fs.StringSlice("tenant", nil, "tenant the holder may act for (repeatable; * for all)")
	revokeIt := fs.Bool("revoke", false, "remove the token named --name instead (the same as vigil-server revoke token)")
	life := lifetimeFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	t, err := trust.Load(*dataDir)
	if err != nil {
		return err
	}
	if *revokeIt {
		return revokeToken(t, *name, out)
	}
	lifetime, err := trust.ParseLifetime(*life)
	if err != nil {
		return err
	}
	tok, _, err := t.AddToken(*name, *role, *tenants, lifetime)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, tok)
	return nil
}

func revokeToken(t *trust.Trust, name string, out io.Writer) error {
	if err := t.RevokeToken(name); err != nil {
		return err
	}
	fmt.Fprintf(out, "revoked token %q; running servers refuse it within a second\n", name)
	return nil
}

func renewServerCert(args []string, out io.Writer) error {
	fs := newFlags("renew-server-cert")
	tf := bindTrust(fs)
	hosts := fs.StringSlice("host", nil, "DNS name or IP address the server is reached at (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	t, err := tf.signer(out)
	if err != nil {
		return err
	}
	e, err := t.RenewServerCertificate(*hosts)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "renewed %s, valid until %s\n", t.Path(trust.ServerCertFile), day(e.Expires))
	return nil
}

// credentialFlags select one credential: its kind (the first argument)
// and its name, with the tenant and id of an agent.
type credentialFlags struct {
	trustFlags
	kind             string
	name, tenant, id *string
	anyID            *bool
}

func bindCredential(cmd string, fs *pflag.FlagSet, args []string) (credentialFlags, []string, error) {
	c := credentialFlags{trustFlags: bindTrust(fs)}
	c.name = fs.String("name", "", "name of the SIEM, client certificate or token")
	c.tenant = fs.String("tenant", "", "the agent's tenant")
	c.id = fs.String("id", "", "the agent's id")
	c.anyID = fs.Bool("any-id", false, "the tenant-wide agent credential named --name")
	kinds := "agent, siem, client or token"
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if slices.Contains(args, "--help") || slices.Contains(args, "-h") {
			fs.Usage()
			return c, nil, pflag.ErrHelp
		}
		return c, nil, fmt.Errorf("%s what? give %s first, for example: vigil-server %s agent --tenant acme --id a1", cmd, kinds, cmd)
	}
	c.kind = args[0]
	switch c.kind {
	case trust.KindAgent, trust.KindSIEM, trust.KindClient, "token":
	default:
		return c, nil, fmt.Errorf("%s %q: give %s", cmd, c.kind, kinds)
	}
	return c, args[1:], nil
}

// match is the register selection of the flags.
func (c credentialFlags) match() (trust.Match, error) {
	if c.kind != trust.KindAgent {
		if *c.name == "" {
			return trust.Match{}, fmt.Errorf("a %s is named with --name", c.kind)
		}
		return trust.Match{Kind: c.kind, Name: *c.name}, nil
	}
	if err := agentID(c.id, *c.anyID, *c.name); err != nil {
		return trust.Match{}, err
	}
	if *c.tenant == "" || *c.id == "" {
		return trust.Match{}, errors.New("an agent is named with --tenant and --id (or --any-id --name)")
	}
	return trust.Match{Kind: trust.KindAgent, Name: *c.id, Tenant: *c.tenant}, nil
}

func revoke(args []string, out io.Writer) error {
	fs := newFlags("revoke")
	c, rest, err := bindCredential("revoke", fs, args)
	if err != nil {
		return err
	}
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if c.kind == "token" {
		t, err := trust.Load(*c.dataDir)
		if err != nil {
			return err
		}
		return revokeToken(t, *c.name, out)
	}
	m, err := c.match()
	if err != nil {
		return err
	}
	t, err := c.signer(out)
	if err != nil {
		return err
	}
	revoked, err := t.Revoke(m)
	if err != nil {
		return fmt.Errorf("revoke %s %s: %w", m.Kind, m.Name, err)
	}
	for _, e := range revoked {
		fmt.Fprintf(out, "revoked %s %s %v (serial %s, issued %s)\n", e.Kind, e.Name, e.Tenants, e.Serial, day(e.Issued))
	}
	fmt.Fprintf(out, "running servers refuse it on gRPC within seconds and push the revocation to NATS (%s, %s); an external NATS restarted later reads %s\n",
		trust.RevokedFile, trust.AccountJWT, t.Path(trust.NATSAuth))
	return nil
}

func rotate(args []string, out io.Writer) error {
	fs := newFlags("rotate")
	c, rest, err := bindCredential("rotate", fs, args)
	if err != nil {
		return err
	}
	outDir := fs.String("out", "", "directory to write the new credential to")
	revokeOld := fs.Bool("revoke-old", false, "revoke the replaced credential at once (otherwise it lives until it expires)")
	life := lifetimeFlag(fs)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	lifetime, err := trust.ParseLifetime(*life)
	if err != nil {
		return err
	}
	if c.kind == "token" {
		t, err := trust.Load(*c.dataDir)
		if err != nil {
			return err
		}
		tok, _, err := t.RotateToken(*c.name, lifetime)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, tok)
		return nil
	}
	m, err := c.match()
	if err != nil {
		return err
	}
	if *outDir == "" {
		return errors.New("rotate: --out is required")
	}
	t, err := c.signer(out)
	if err != nil {
		return err
	}
	fresh, revoked, err := t.Rotate(m, *outDir, lifetime, *revokeOld)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s: %s %s %v, serial %s, valid until %s\n", *outDir, fresh.Kind, fresh.Name, fresh.Tenants, fresh.Serial, day(fresh.Expires))
	for _, e := range revoked {
		fmt.Fprintf(out, "revoked the replaced %s (serial %s)\n", e.Kind, e.Serial)
	}
	return nil
}

func listCredentials(args []string, out io.Writer) error {
	fs := newFlags("credentials")
	tf := bindTrust(fs)
	all := fs.Bool("all", false, "also list expired and revoked credentials")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	t, err := tf.signer(out)
	if err != nil {
		return err
	}
	reg, err := t.Register()
	if err != nil {
		return err
	}
	tokens, err := t.TokenList()
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	report.Row(tw, "KIND", "NAME", "TENANTS", "ROLE", "SERIAL", "ISSUED", "EXPIRES", "STATE")
	for _, e := range reg {
		st := state(now, e.Expires, e.Revoked)
		if !strings.HasPrefix(st, "live") && !*all {
			continue
		}
		report.Row(tw, e.Kind, e.Name, strings.Join(e.Tenants, ","), e.Role, e.Serial, day(e.Issued), day(e.Expires), st)
	}
	for _, e := range tokens {
		st := state(now, e.ExpiresAt(), time.Time{})
		if !strings.HasPrefix(st, "live") && !*all {
			continue
		}
		report.Row(tw, "token", e.Name, strings.Join(e.Tenants, ","), e.Role, "-", day(e.Created), day(e.ExpiresAt()), st)
	}
	return tw.Flush()
}

func state(now, expires, revoked time.Time) string {
	switch {
	case !revoked.IsZero():
		return "revoked " + day(revoked)
	case !now.Before(expires):
		return "expired"
	case expires.Sub(now) < 14*24*time.Hour:
		return fmt.Sprintf("live, expires in %d days", int(expires.Sub(now).Hours()/24))
	}
	return "live"
}

func moveSigningKeys(args []string, out io.Writer) error {
	fs := newFlags("move-signing-keys")
	tf := bindTrust(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	moved, err := trust.MoveSigningKeys(*tf.dataDir, *tf.signingDir)
	for _, m := range moved {
		fmt.Fprintf(out, "moved %s\n", m)
	}
	if err != nil {
		return err
	}
	if len(moved) == 0 {
		fmt.Fprintln(out, "no signing keys in the data dir")
	}
	return nil
}
