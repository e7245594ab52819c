// Package pki issues and reads the X.509 certificates Vigil's parts use to
// trust each other: one CA per installation, a server certificate, and
// client certificates whose subject carries the holder's role and tenants.
//
// A client certificate's Subject names its holder: CommonName is the name,
// OrganizationalUnit the role (admin, viewer, agent, siem) and Organization
// the tenants it may see, "*" meaning all. The CA signs nothing else, so a
// verified certificate is a verified identity.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Roles a certificate or token can carry.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
	RoleAgent  = "agent"
	RoleSIEM   = "siem"
	RoleServer = "server"
)

// AllTenants in a tenant list grants every tenant.
const AllTenants = "*"

// CA is a certificate authority that can issue certificates.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	key     crypto.Signer
}

// NewCA creates a self-signed CA valid for validity.
func NewCA(name string, validity time.Duration) (*CA, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return &CA{Cert: cert, CertPEM: pemBlock("CERTIFICATE", der), key: key}, keyPEM, nil
}

// LoadCA reads a CA certificate and its key from PEM files. Without the
// key file (keyFile empty or absent) the CA verifies but cannot issue.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	certs, err := ParseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate %s: %w", certFile, err)
	}
	if keyFile == "" {
		return &CA{Cert: certs[0], CertPEM: certPEM}, nil
	}
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
		return &CA{Cert: certs[0], CertPEM: certPEM}, nil
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA key %s: %w", keyFile, err)
	}
	if !certs[0].IsCA {
		return nil, fmt.Errorf("CA certificate %s is not a CA", certFile)
	}
	return &CA{Cert: certs[0], CertPEM: certPEM, key: key}, nil
}

// CanIssue reports whether the CA was loaded with its key.
func (ca *CA) CanIssue() bool { return ca.key != nil }

// Request describes a certificate to issue.
type Request struct {
	// Name is the CommonName: the agent id, user name or host.
	Name string
	// Role is one of the Role constants.
	Role string
	// Tenants are the tenants the holder may act for; AllTenants for all.
	Tenants []string
	// Hosts are DNS names or IP addresses the certificate serves (server
	// certificates only).
	Hosts []string
	// Server marks a certificate for serving TLS; others are client-only.
	Server bool
	// Validity defaults to one year.
	Validity time.Duration
}

// Issue creates a key and a certificate signed by the CA, both PEM.
func (ca *CA) Issue(req Request) (certPEM, keyPEM []byte, err error) {
	if req.Name == "" {
		return nil, nil, errors.New("certificate name is empty")
	}
	if ca.key == nil {
		return nil, nil, errors.New("the CA key is not loaded: issue credentials with the signing directory vigil-server init wrote")
	}
	if req.Validity <= 0 {
		req.Validity = 365 * 24 * time.Hour
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: req.Name, Organization: req.Tenants},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(req.Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if req.Role != "" {
		tmpl.Subject.OrganizationalUnit = []string{req.Role}
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	if req.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		for _, h := range req.Hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate for %s: %w", req.Name, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), keyPEM, nil
}

// Identity is who a verified client certificate or token names.
type Identity struct {
	Name    string
	Role    string
	Tenants []string
	// Credential names what proved the identity, "cert:<serial>" or
	// "token:<sha256 of the token>", so a revocation can find the callers it
	// ends.
	Credential string
}

// SerialOf is a certificate serial as registers and revocation lists
// write it: lower-case hex.
func SerialOf(cert *x509.Certificate) string { return cert.SerialNumber.Text(16) }

// IdentityOf reads the identity of a verified certificate.
func IdentityOf(cert *x509.Certificate) Identity {
	id := Identity{Name: cert.Subject.CommonName, Tenants: slices.Clone(cert.Subject.Organization), Credential: "cert:" + SerialOf(cert)}
	if len(cert.Subject.OrganizationalUnit) > 0 {
		id.Role = cert.Subject.OrganizationalUnit[0]
	}
	return id
}

// AllowsTenant reports whether the identity may act for tenant.
func (id Identity) AllowsTenant(tenant string) bool {
	return slices.Contains(id.Tenants, AllTenants) || slices.Contains(id.Tenants, tenant)
}

// AllTenants reports whether the identity is scoped to every tenant.
func (id Identity) AllTenants() bool { return slices.Contains(id.Tenants, AllTenants) }

// ParseCerts decodes every CERTIFICATE block of a PEM file.
func ParseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// WriteFile writes data atomically (temporary file, then rename), so a
// reader reloading the file never sees half of it.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func parseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM key found")
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("unsupported key block %q", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("key cannot sign")
	}
	return s, nil
}
