package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pki"
	"github.com/vigilsec/vigil/server/trust"
)

// startTLSServer runs a server with --tls over a fresh trust directory.
func startTLSServer(t *testing.T) (*Server, *trust.Trust) {
	t.Helper()
	dir := t.TempDir()
	tr, err := trust.Init(dir, "", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:-1", TLS: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, tr
}

type natsClient struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	errs chan error
}

// connectWith connects to NATS with the credentials issued into dir.
func connectWith(t *testing.T, url, dir, inbox string) (*natsClient, error) {
	t.Helper()
	r, err := pki.NewReloader(pki.Files{CA: filepath.Join(dir, trust.IssuedCA), Cert: filepath.Join(dir, trust.IssuedCert), Key: filepath.Join(dir, trust.IssuedKey)})
	if err != nil {
		return nil, err
	}
	c := &natsClient{errs: make(chan error, 64)}
	c.nc, err = nats.Connect(url, nats.Secure(r.ClientConfig("")), nats.UserCredentials(filepath.Join(dir, trust.IssuedCreds)),
		nats.CustomInboxPrefix(inbox), nats.MaxReconnects(0),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case c.errs <- err:
			default:
			}
		}))
	if err != nil {
		return nil, err
	}
	t.Cleanup(c.nc.Close)
	c.js, _ = jetstream.New(c.nc)
	return c, nil
}

// denied publishes on subject and reports whether the server refused it.
func (c *natsClient) denied(t *testing.T, subject string) bool {
	t.Helper()
	if err := c.nc.Publish(subject, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.nc.Flush()
	select {
	case err := <-c.errs:
		return strings.Contains(strings.ToLower(err.Error()), "permissions violation")
	case <-time.After(2 * time.Second):
		return false
	}
}

func (c *natsClient) subDenied(t *testing.T, subject string) bool {
	t.Helper()
	if _, err := c.nc.SubscribeSync(subject); err != nil {
		t.Fatal(err)
	}
	c.nc.Flush()
	select {
	case err := <-c.errs:
		return strings.Contains(strings.ToLower(err.Error()), "permissions violation")
	case <-time.After(2 * time.Second):
		return false
	}
}

func scanMsgs(tenant, agent string, n int) []*nats.Msg {
	return scanMsgsFrom(bus.Sender{Tenant: tenant, Agent: agent}, n)
}

// scanMsgsFrom is one full scan of n findings, published as sender.
func scanMsgsFrom(sender bus.Sender, n int) []*nats.Msg {
	tenant, agent := sender.Tenant, sender.Agent
	scope := &vigilv1.Scope{Tenant: tenant, Agent: agent, Scanner: "kubernetes", Target: "/m"}
	var fs []*vigilv1.Finding
	var fps []string
	for i := range n {
		res := &vigilv1.Resource{Tenant: tenant, Kind: "Pod", Name: "p" + string(rune('a'+i))}
		f := &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CLUSTER-001", res, "p.yaml", "x"), CheckId: "VGL-CLUSTER-001",
			Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH, Resource: res}
		fs = append(fs, f)
		fps = append(fps, f.Fingerprint)
	}
	d := finding.DigestOf(fps)
	subj := sender.FindingsSubject()
	b, _ := bus.NewScanMsg(subj, subj+"/s1/1", &vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: &vigilv1.FindingBatch{ScanId: "s1", Seq: 1, Scope: scope, Full: true, Findings: fs}}})
	c, _ := bus.NewScanMsg(subj, subj+"/s1/2", &vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Completed{Completed: &vigilv1.ScanCompleted{ScanId: "s1", Scope: scope, Batches: 1, Full: true, FindingCount: uint64(n), SetDigest: d[:]}}})
	return []*nats.Msg{b, c}
}

func TestNATSPermissionsConfineEachAgent(t *testing.T) {
	s, tr := startTLSServer(t)
	root := t.TempDir()
	a1, a2, siem := filepath.Join(root, "a1"), filepath.Join(root, "a2"), filepath.Join(root, "siem")
	if _, err := tr.AgentCredentials("acme", "a1", a1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AgentCredentials("acme", "a2", a2, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SIEMCredentials("splunk", []string{"acme"}, siem, 0); err != nil {
		t.Fatal(err)
	}
	c1, err := connectWith(t, s.NATSURL(), a1, bus.AgentInboxPrefix("acme", "a1"))
	if err != nil {
		t.Fatal(err)
	}
	// Its own subject works end to end, through JetStream.
	for _, m := range scanMsgs("acme", "a1", 3) {
		if _, err := c1.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatalf("agent a1 publishing its own findings: %v", err)
		}
	}
	eventually(t, "a1's scan applied", func() bool { return s.Stats().Scans == 1 })

	// Everyone else's subjects are refused by NATS itself.
	for _, subj := range []string{
		bus.FindingsSubject("acme", "a2"), bus.FindingsSubject("globex", "a1"), bus.AgentsSubject("acme", "a2"),
		bus.ControlSubject("acme", "a1"), "vigil.events.acme.cluster.high", "vigil.deadletter.decode",
		"$JS.API.STREAM.PURGE." + bus.FindingsStream, "$JS.API.CONSUMER.CREATE." + bus.ControlStream + ".x.vigil.control.acme.a2",
	} {
		if !c1.denied(t, subj) {
			t.Errorf("agent a1 may publish on %s", subj)
		}
	}
	for _, subj := range []string{"vigil.findings.>", "vigil.events.>", "_INBOX.agent.acme.a2.>", ">"} {
		if !c1.subDenied(t, subj) {
			t.Errorf("agent a1 may subscribe to %s", subj)
		}
	}
	// The agent reads its own control requests through the server, and has
	// no JetStream API of its own: not even over its own control subject.
	if _, err := c1.nc.Request(bus.ControlReadSubject("acme", "a1"), nil, 5*time.Second); err != nil {
		t.Fatalf("agent a1 reading its control requests: %v", err)
	}
	for _, subj := range []string{
		bus.ControlReadSubject("acme", "a2"), bus.ControlReadSubject("globex", "a1"),
		"$JS.API.CONSUMER.CREATE." + bus.ControlStream + ".x.vigil.control.acme.a1",
		"$JS.API.CONSUMER.MSG.NEXT." + bus.ControlStream + ".x", "$JS.API.CONSUMER.INFO." + bus.ControlStream + ".x",
		"$JS.API.CONSUMER.DELETE." + bus.ControlStream + ".x", "$JS.API.STREAM.INFO." + bus.ControlStream,
		"$JS.API.DIRECT.GET." + bus.ControlStream, "$JS.API.STREAM.MSG.GET." + bus.ControlStream,
	} {
		if !c1.denied(t, subj) {
			t.Errorf("agent a1 may publish on %s", subj)
		}
	}

	// Nothing reached the stream but a1's own messages.
	info, err := s.js.Stream(context.Background(), bus.FindingsStream)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := info.Info(context.Background(), jetstream.WithSubjectFilter("vigil.findings.>"))
	if len(st.State.Subjects) != 1 || st.State.Subjects[bus.FindingsSubject("acme", "a1")] != 2 {
		t.Fatalf("stream subjects = %v", st.State.Subjects)
	}

	// A SIEM of acme reads acme's events and nothing else.
	cs, err := connectWith(t, s.NATSURL(), siem, bus.InboxPrefix("siem", "splunk"))
	if err != nil {
		t.Fatal(err)
	}
	if cs.subDenied(t, "vigil.events.acme.>") {
		t.Fatal("SIEM of acme may not read acme's events")
	}
	if !cs.subDenied(t, "vigil.events.globex.>") || !cs.subDenied(t, "vigil.findings.>") {
		t.Fatal("SIEM of acme may read beyond acme's events")
	}
	if !cs.denied(t, bus.FindingsSubject("acme", "a1")) {
		t.Fatal("SIEM may publish findings")
	}
	// Without the issued credentials there is no connection at all.
	if nc, err := nats.Connect(s.NATSURL(), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("plain connection accepted")
	}
	r, _ := pki.NewReloader(pki.Files{CA: filepath.Join(a1, trust.IssuedCA)})
	if nc, err := nats.Connect(s.NATSURL(), nats.Secure(r.ClientConfig("")), nats.UserCredentials(filepath.Join(a1, trust.IssuedCreds)), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("connection without a client certificate accepted")
	}
	// A tenant-wide credential (a DaemonSet's) speaks for any agent of its
	// tenant and for no other tenant, and its agents are its own: claiming
	// a1's id, it neither reaches a1's subjects nor touches a1's scope.
	wide := filepath.Join(root, "wide")
	if _, err := tr.AgentCredentials("acme", bus.WideName("nodes"), wide, 0); err != nil {
		t.Fatal(err)
	}
	node := bus.Sender{Tenant: "acme", Agent: "a1", Via: "nodes"}
	cw, err := connectWith(t, s.NATSURL(), wide, node.InboxPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range scanMsgsFrom(node, 2) {
		if _, err := cw.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatalf("tenant-wide credential publishing as a1@nodes: %v", err)
		}
	}
	if _, err := cw.nc.Request(node.ControlReadSubject(), nil, 5*time.Second); err != nil {
		t.Fatalf("tenant-wide credential reading its control requests: %v", err)
	}
	eventually(t, "a1@nodes's scan applied", func() bool { return s.Stats().Scans == 2 })
	for _, subj := range []string{bus.FindingsSubject("acme", "a1"), bus.AgentsSubject("acme", "a1"), bus.ControlReadSubject("acme", "a1"),
		bus.FindingsSubject("globex", "node-7"), bus.Sender{Tenant: "acme", Agent: "a1", Via: "other"}.FindingsSubject(), "vigil.events.acme.cluster.high"} {
		if !cw.denied(t, subj) {
			t.Errorf("a tenant-wide credential may publish on %s", subj)
		}
	}
	if !cw.subDenied(t, bus.AgentInboxPrefix("acme", "a1")+".>") {
		t.Error("a tenant-wide credential may read a1's replies")
	}
	all, _, err := s.store.List(&vigilv1.FindingFilter{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN}}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]int{}
	for _, f := range all {
		open[f.Scope.Agent]++
	}
	if open["a1"] != 3 || open[node.ID()] != 2 || len(open) != 2 {
		t.Fatalf("open findings by agent after the tenant-wide scan as a1: %v, want a1: 3, %s: 2", open, node.ID())
	}
	// Credentials of another installation are refused.
	other, _ := trust.Init(t.TempDir(), "", nil, 1)
	forged := filepath.Join(root, "forged")
	other.AgentCredentials("acme", "a1", forged, 0)
	if c, err := connectWith(t, s.NATSURL(), forged, bus.AgentInboxPrefix("acme", "a1")); err == nil {
		c.nc.Close()
		t.Fatal("credentials of another CA accepted")
	}
}

type tokenCreds struct{ token string }

func (c tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + c.token}, nil
}
func (tokenCreds) RequireTransportSecurity() bool { return true }

func dialTLS(t *testing.T, s *Server, tr *trust.Trust, files pki.Files, token string) *grpc.ClientConn {
	t.Helper()
	if files.CA == "" {
		files.CA = tr.Path(trust.CAFile)
	}
	r, err := pki.NewReloader(files)
	if err != nil {
		t.Fatal(err)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(r.ClientConfig("127.0.0.1")))}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(tokenCreds{token}))
	}
	conn, err := grpc.NewClient(s.GRPCAddr(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func code(err error) codes.Code { return status.Code(err) }

func TestGRPCTenantScope(t *testing.T) {
	s, tr := startTLSServer(t)
	// Findings of two tenants, published with the server's own credentials.
	for _, m := range append(scanMsgs("acme", "a1", 3), scanMsgs("globex", "g1", 5)...) {
		if _, err := s.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both scans", func() bool { return s.Stats().Scans == 2 })

	viewerTok, _, err := tr.AddToken("ann", pki.RoleViewer, []string{"acme"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	adminTok, _, _ := tr.AddToken("root", pki.RoleAdmin, []string{pki.AllTenants}, 0)
	acmeAdminTok, _, _ := tr.AddToken("acme-admin", pki.RoleAdmin, []string{"acme"}, 0)
	certDir := filepath.Join(t.TempDir(), "bob")
	if _, err := tr.ClientCertificate("bob", pki.RoleViewer, []string{"acme"}, certDir, 0); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	viewers := map[string]*grpc.ClientConn{
		"token":       dialTLS(t, s, tr, pki.Files{}, viewerTok),
		"certificate": dialTLS(t, s, tr, pki.Files{Cert: filepath.Join(certDir, trust.IssuedCert), Key: filepath.Join(certDir, trust.IssuedKey)}, ""),
	}
	admin := dialTLS(t, s, tr, pki.Files{}, adminTok)
	all, err := vigilv1.NewFindingServiceClient(admin).ListFindings(ctx, &vigilv1.ListFindingsRequest{})
	if err != nil || len(all.Findings) != 8 {
		t.Fatalf("admin sees %d findings, %v", len(all.GetFindings()), err)
	}
	var globexID string
	for _, f := range all.Findings {
		if f.Finding.Resource.Tenant == "globex" {
			globexID = f.Id
		}
	}
	for how, conn := range viewers {
		fc := vigilv1.NewFindingServiceClient(conn)
		list, err := fc.ListFindings(ctx, &vigilv1.ListFindingsRequest{})
		if err != nil || len(list.Findings) != 3 {
			t.Fatalf("%s viewer: list = %d, %v", how, len(list.GetFindings()), err)
		}
		for _, f := range list.Findings {
			if f.Finding.Resource.Tenant != "acme" {
				t.Fatalf("%s viewer sees %s", how, f.Finding.Resource.Tenant)
			}
		}
		if _, err := fc.ListFindings(ctx, &vigilv1.ListFindingsRequest{Filter: &vigilv1.FindingFilter{Tenant: "globex"}}); code(err) != codes.PermissionDenied {
			t.Fatalf("%s viewer listing globex: %v", how, err)
		}
		if _, err := fc.GetFinding(ctx, &vigilv1.GetFindingRequest{Id: globexID}); code(err) != codes.NotFound {
			t.Fatalf("%s viewer getting a globex finding: %v", how, err)
		}
		sum, err := fc.SummarizeFindings(ctx, &vigilv1.SummarizeFindingsRequest{ByTenant: true})
		if err != nil || sum.Total != 3 {
			t.Fatalf("%s viewer summary = %v, %v", how, sum, err)
		}
		agents, err := vigilv1.NewAgentServiceClient(conn).ListAgents(ctx, &vigilv1.ListAgentsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range agents.Agents {
			if a.Tenant != "acme" {
				t.Fatalf("%s viewer sees agent %s/%s", how, a.Tenant, a.Id)
			}
		}
		if _, err := vigilv1.NewSuppressionServiceClient(conn).CreateSuppression(ctx, &vigilv1.CreateSuppressionRequest{Suppression: &vigilv1.Suppression{CheckId: "VGL-CLUSTER-001", Tenant: "acme", Reason: "x"}}); code(err) != codes.PermissionDenied {
			t.Fatalf("%s viewer creating a suppression: %v", how, err)
		}
		bs, err := vigilv1.NewBackupServiceClient(conn).Backup(ctx, &vigilv1.BackupRequest{})
		if err == nil {
			_, err = bs.Recv()
		}
		if code(err) != codes.PermissionDenied {
			t.Fatalf("%s viewer taking a backup: %v", how, err)
		}
	}

	// Watch: the viewer sees events of acme only, while a suppression by
	// acme's admin and one by the global admin change findings of both.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	ws, err := vigilv1.NewFindingServiceClient(viewers["token"]).WatchFindings(wctx, &vigilv1.WatchFindingsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	acmeAdmin := vigilv1.NewSuppressionServiceClient(dialTLS(t, s, tr, pki.Files{}, acmeAdminTok))
	if _, err := acmeAdmin.CreateSuppression(ctx, &vigilv1.CreateSuppressionRequest{Suppression: &vigilv1.Suppression{CheckId: "VGL-CLUSTER-001", Tenant: "globex", Reason: "x"}}); code(err) != codes.PermissionDenied {
		t.Fatalf("acme admin suppressing globex: %v", err)
	}
	resp, err := acmeAdmin.CreateSuppression(ctx, &vigilv1.CreateSuppressionRequest{Suppression: &vigilv1.Suppression{CheckId: "VGL-CLUSTER-001", Reason: "accepted", Author: "someone-else"}})
	if err != nil || resp.Affected != 3 || resp.Suppression.Tenant != "acme" || resp.Suppression.Author != "acme-admin" {
		t.Fatalf("acme admin suppression = %v, %v", resp, err)
	}
	gresp, err := vigilv1.NewSuppressionServiceClient(admin).CreateSuppression(ctx, &vigilv1.CreateSuppressionRequest{Suppression: &vigilv1.Suppression{CheckId: "VGL-CLUSTER-001", Tenant: "globex", Reason: "accepted"}})
	if err != nil || gresp.Affected != 5 {
		t.Fatalf("global admin suppression = %v, %v", gresp, err)
	}
	seen := 0
	for seen < 3 {
		ev, err := ws.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event.Finding.Finding.Resource.Tenant != "acme" || ev.Event.Type != vigilv1.EventType_EVENT_TYPE_SUPPRESSED {
			t.Fatalf("viewer watch got %v of %s", ev.Event.Type, ev.Event.Finding.Finding.Resource.Tenant)
		}
		seen++
	}
	// Nothing of globex follows.
	got := make(chan *vigilv1.WatchFindingsResponse, 1)
	go func() {
		if ev, err := ws.Recv(); err == nil {
			got <- ev
		}
	}()
	select {
	case ev := <-got:
		t.Fatalf("viewer watch got a further event of %s", ev.Event.Finding.Finding.Resource.Tenant)
	case <-time.After(500 * time.Millisecond):
	}
	// Listing suppressions and the audit log is scoped the same way.
	vs := vigilv1.NewSuppressionServiceClient(viewers["token"])
	sl, err := vs.ListSuppressions(ctx, &vigilv1.ListSuppressionsRequest{})
	if err != nil || len(sl.Suppressions) != 1 || sl.Suppressions[0].Tenant != "acme" {
		t.Fatalf("viewer suppressions = %v, %v", sl, err)
	}
	al, err := vs.ListAudit(ctx, &vigilv1.ListAuditRequest{})
	if err != nil || len(al.Entries) != 1 {
		t.Fatalf("viewer audit = %v, %v", al, err)
	}
	if _, err := vs.RevokeSuppression(ctx, &vigilv1.RevokeSuppressionRequest{Id: gresp.Suppression.Id}); code(err) != codes.PermissionDenied {
		t.Fatalf("viewer revoking: %v", err)
	}
	if _, err := acmeAdmin.RevokeSuppression(ctx, &vigilv1.RevokeSuppressionRequest{Id: gresp.Suppression.Id}); code(err) != codes.NotFound {
		t.Fatalf("acme admin revoking globex's suppression: %v", err)
	}

	// No credentials, bad token, plaintext: refused.
	if _, err := vigilv1.NewFindingServiceClient(dialTLS(t, s, tr, pki.Files{}, "")).ListFindings(ctx, &vigilv1.ListFindingsRequest{}); code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous call: %v", err)
	}
	if _, err := vigilv1.NewFindingServiceClient(dialTLS(t, s, tr, pki.Files{}, trust.TokenPrefix+"guess")).ListFindings(ctx, &vigilv1.ListFindingsRequest{}); code(err) != codes.Unauthenticated {
		t.Fatalf("bad token: %v", err)
	}
	plain, _ := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer plain.Close()
	if _, err := vigilv1.NewFindingServiceClient(plain).ListFindings(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+adminTok), &vigilv1.ListFindingsRequest{}); err == nil {
		t.Fatal("plaintext call accepted")
	}
	// A revoked token stops working without a restart.
	if err := tr.RevokeToken("ann"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the token file reload", func() bool {
		_, err := vigilv1.NewFindingServiceClient(viewers["token"]).ListFindings(ctx, &vigilv1.ListFindingsRequest{})
		return code(err) == codes.Unauthenticated
	})
}

func TestServerCertificateRotates(t *testing.T) {
	s, tr := startTLSServer(t)
	serial := func() string {
		conn, err := tls.Dial("tcp", s.GRPCAddr(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	if _, err := tr.RenewServerCertificate(nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new certificate in use", func() bool { return serial() != before })
	// And clients that trust the CA still connect, to gRPC and NATS.
	tok, _, _ := tr.AddToken("x", pki.RoleViewer, []string{"acme"}, 0)
	if _, err := vigilv1.NewFindingServiceClient(dialTLS(t, s, tr, pki.Files{}, tok)).ListFindings(context.Background(), &vigilv1.ListFindingsRequest{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "a1")
	tr.AgentCredentials("acme", "a1", dir, 0)
	if _, err := connectWith(t, s.NATSURL(), dir, bus.AgentInboxPrefix("acme", "a1")); err != nil {
		t.Fatalf("NATS after rotation: %v", err)
	}
}
