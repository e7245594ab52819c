package pki

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writePair(t *testing.T, dir string, ca *CA, req Request) Files {
	t.Helper()
	cert, key, err := ca.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	f := DirFiles(dir)
	if err := WriteFile(f.CA, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(f.Key, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(f.Cert, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// handshake connects a client and a server config over loopback TCP and
// returns the identity the server saw.
func handshake(t *testing.T, server, client *tls.Config) (Identity, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type result struct {
		id  Identity
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		s := tls.Server(c, server)
		err = s.Handshake()
		var id Identity
		if err == nil && len(s.ConnectionState().PeerCertificates) > 0 {
			id = IdentityOf(s.ConnectionState().PeerCertificates[0])
		}
		done <- result{id, err}
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(conn, client)
	cerr := c.Handshake()
	if cerr == nil {
		// TLS 1.3: the server verifies the client after the client's
		// handshake returns; a read surfaces its verdict.
		c.Write([]byte("x"))
	}
	conn.Close()
	r := <-done
	if cerr != nil {
		return r.id, cerr
	}
	return r.id, r.err
}

func TestIdentityAndRotation(t *testing.T) {
	ca, _, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := writePair(t, t.TempDir(), ca, Request{Name: "server", Role: RoleServer, Hosts: []string{"127.0.0.1", "vigil.example"}, Server: true})
	cli := writePair(t, t.TempDir(), ca, Request{Name: "ann", Role: RoleViewer, Tenants: []string{"acme", "globex"}})
	sr, err := NewReloader(srv)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := NewReloader(cli)
	if err != nil {
		t.Fatal(err)
	}
	cr.every, sr.every = 0, 0
	id, err := handshake(t, sr.ServerConfig(tls.RequireAndVerifyClientCert), cr.ClientConfig("vigil.example"))
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "ann" || id.Role != RoleViewer || !id.AllowsTenant("globex") || id.AllowsTenant("initech") || id.AllTenants() {
		t.Fatalf("identity = %+v", id)
	}
	// The wrong host name fails verification.
	if _, err := handshake(t, sr.ServerConfig(tls.NoClientCert), cr.ClientConfig("other.example")); err == nil {
		t.Fatal("a certificate for another host was accepted")
	}
	// Rotation: a new client certificate on disk is used at the next handshake.
	writePair(t, filepath.Dir(cli.Cert), ca, Request{Name: "ann-2", Role: RoleAdmin, Tenants: []string{AllTenants}})
	id, err = handshake(t, sr.ServerConfig(tls.RequireAndVerifyClientCert), cr.ClientConfig("vigil.example"))
	if err != nil || id.Name != "ann-2" || !id.AllTenants() {
		t.Fatalf("after rotation: %+v, %v", id, err)
	}
	// A CA rotation: the server moves to a new CA; the client trusts it
	// once its CA file changes.
	ca2, _, _ := NewCA("new CA", time.Hour)
	writePair(t, filepath.Dir(srv.Cert), ca2, Request{Name: "server", Hosts: []string{"vigil.example"}, Server: true})
	if _, err := handshake(t, sr.ServerConfig(tls.NoClientCert), cr.ClientConfig("vigil.example")); err == nil {
		t.Fatal("client trusted a CA it does not have")
	}
	if err := WriteFile(cli.CA, ca2.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, sr.ServerConfig(tls.NoClientCert), cr.ClientConfig("vigil.example")); err != nil {
		t.Fatalf("after the CA rotation: %v", err)
	}
	// A broken file keeps the last good material in use and says why.
	os.WriteFile(cli.Cert, []byte("garbage"), 0o644)
	if _, err := handshake(t, sr.ServerConfig(tls.NoClientCert), cr.ClientConfig("vigil.example")); err != nil {
		t.Fatalf("a broken certificate file broke the client: %v", err)
	}
	if cr.Err() == nil {
		t.Fatal("the broken file was not reported")
	}
}
