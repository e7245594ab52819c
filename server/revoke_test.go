package server

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pki"
	"github.com/vigilsec/vigil/server/trust"
)

// TestRevocationEndsAccess revokes an agent, a client certificate and a
// token while they are in use: the agent's NATS connection is closed and
// cannot come back, gRPC refuses the certificate and the token, and their
// open watch streams end, each within 10 s; what was not revoked goes on.
func TestRevocationEndsAccess(t *testing.T) {
	s, tr := startTLSServer(t)
	s.auth.recheck = 200 * time.Millisecond
	root := t.TempDir()
	a1, a2, bob := filepath.Join(root, "a1"), filepath.Join(root, "a2"), filepath.Join(root, "bob")
	for _, id := range []string{"a1", "a2"} {
		if _, err := tr.AgentCredentials("acme", id, filepath.Join(root, id), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.ClientCertificate("bob", pki.RoleViewer, []string{"acme"}, bob, 0); err != nil {
		t.Fatal(err)
	}
	tok, _, err := tr.AddToken("ann", pki.RoleViewer, []string{"acme"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := connectWith(t, s.NATSURL(), a1, bus.AgentInboxPrefix("acme", "a1"))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := connectWith(t, s.NATSURL(), a2, bus.AgentInboxPrefix("acme", "a2"))
	if err != nil {
		t.Fatal(err)
	}
	if c1.denied(t, bus.AgentsSubject("acme", "a1")) {
		t.Fatal("a1 may not publish its heartbeat before revocation")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	byCert := vigilv1.NewFindingServiceClient(dialTLS(t, s, tr, pki.Files{Cert: filepath.Join(bob, trust.IssuedCert), Key: filepath.Join(bob, trust.IssuedKey)}, ""))
	byToken := vigilv1.NewFindingServiceClient(dialTLS(t, s, tr, pki.Files{}, tok))
	watches := map[string]vigilv1.FindingService_WatchFindingsClient{}
	for name, c := range map[string]vigilv1.FindingServiceClient{"certificate": byCert, "token": byToken} {
		if _, err := c.ListFindings(ctx, &vigilv1.ListFindingsRequest{}); err != nil {
			t.Fatalf("%s before revocation: %v", name, err)
		}
		w, err := c.WatchFindings(ctx, &vigilv1.WatchFindingsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		watches[name] = w
	}
	ended := make(chan string, 2)
	for name, w := range watches {
		go func() {
			for {
				if _, err := w.Recv(); err != nil {
					if code(err) == codes.Unauthenticated {
						ended <- name
					} else {
						ended <- name + ": " + err.Error()
					}
					return
				}
			}
		}()
	}

	start := time.Now()
	if _, err := tr.Revoke(trust.Match{Kind: trust.KindAgent, Name: "a1", Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Revoke(trust.Match{Kind: trust.KindClient, Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := tr.RevokeToken("ann"); err != nil {
		t.Fatal(err)
	}
	within := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: not within 10 s of the revocation", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%s after %s", what, time.Since(start).Round(10*time.Millisecond))
	}
	within("a1's NATS connection closed", c1.nc.IsClosed)
	within("the certificate refused", func() bool {
		_, err := byCert.ListFindings(ctx, &vigilv1.ListFindingsRequest{})
		return code(err) == codes.Unauthenticated
	})
	within("the token refused", func() bool {
		_, err := byToken.ListFindings(ctx, &vigilv1.ListFindingsRequest{})
		return code(err) == codes.Unauthenticated
	})
	for range 2 {
		select {
		case name := <-ended:
			if name != "certificate" && name != "token" {
				t.Fatalf("watch ended with another error: %s", name)
			}
		case <-time.After(time.Until(start.Add(10 * time.Second))):
			t.Fatal("a revoked caller's watch stream is still open after 10 s")
		}
	}
	// a1 cannot come back; a2 was not touched.
	if c, err := connectWith(t, s.NATSURL(), a1, bus.AgentInboxPrefix("acme", "a1")); err == nil {
		c.nc.Close()
		t.Fatal("the revoked agent connected again")
	}
	if c2.nc.IsClosed() || c2.denied(t, bus.AgentsSubject("acme", "a2")) {
		t.Fatal("a2 lost its connection or its permission with a1's revocation")
	}
}
