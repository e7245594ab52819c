package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Files names the PEM files of one party: the CA it trusts and its own
// certificate and key. Cert and Key may be empty for a party that only
// verifies (a client without a certificate).
type Files struct {
	CA, Cert, Key string
}

// Reloader serves TLS material from disk and reloads it when a file
// changes, so certificates rotate without a restart: replace the files
// (atomically, by rename) and new handshakes use them. A file that fails to
// load keeps the last good material in use and is retried.
type Reloader struct {
	files Files
	// every bounds how often files are stat'ed.
	every time.Duration

	mu      sync.Mutex
	checked time.Time
	stamp   [3]stamp
	pool    *x509.CertPool
	cert    *tls.Certificate
	lastErr error
}

type stamp struct {
	mod  time.Time
	size int64
}

// NewReloader loads the files once; errors there are fatal, later ones are not.
func NewReloader(files Files) (*Reloader, error) {
	if files.CA == "" {
		return nil, errors.New("TLS: a CA file is required")
	}
	if (files.Cert == "") != (files.Key == "") {
		return nil, errors.New("TLS: give both a certificate and a key, or neither")
	}
	r := &Reloader{files: files, every: time.Second}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func statOf(path string) stamp {
	if path == "" {
		return stamp{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	return stamp{fi.ModTime(), fi.Size()}
}

func (r *Reloader) load() error {
	st := [3]stamp{statOf(r.files.CA), statOf(r.files.Cert), statOf(r.files.Key)}
	caPEM, err := os.ReadFile(r.files.CA)
	if err != nil {
		return fmt.Errorf("TLS CA: %w", err)
	}
	cas, err := ParseCerts(caPEM)
	if err != nil {
		return fmt.Errorf("TLS CA %s: %w", r.files.CA, err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	var cert *tls.Certificate
	if r.files.Cert != "" {
		c, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
		if err != nil {
			return fmt.Errorf("TLS certificate %s: %w", r.files.Cert, err)
		}
		cert = &c
	}
	r.pool, r.cert, r.stamp = pool, cert, st
	return nil
}

// current returns the material in use, reloading it when a file changed.
func (r *Reloader) current() (*x509.CertPool, *tls.Certificate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.checked) >= r.every {
		r.checked = now
		st := [3]stamp{statOf(r.files.CA), statOf(r.files.Cert), statOf(r.files.Key)}
		if st != r.stamp {
			r.lastErr = r.load()
		}
	}
	return r.pool, r.cert
}

// Err is the last reload error, nil when the files in use are current.
func (r *Reloader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// Certificate is the certificate in use.
func (r *Reloader) Certificate() *tls.Certificate {
	_, c := r.current()
	return c
}

// ServerConfig is a TLS server configuration. With clientAuth above
// tls.NoClientCert, client certificates are verified against the CA.
func (r *Reloader) ServerConfig(clientAuth tls.ClientAuthType) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			pool, cert := r.current()
			if cert == nil {
				return nil, errors.New("TLS: no server certificate")
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS12,
				Certificates: []tls.Certificate{*cert},
				ClientAuth:   clientAuth,
				ClientCAs:    pool,
			}, nil
		},
	}
}

// ClientConfig is a TLS client configuration that verifies the server
// against the CA in use (reloaded like the rest) and presents the client
// certificate when there is one.
func (r *Reloader) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification is done in VerifyConnection against the reloaded
		// CA pool; the static check would pin the pool of start-up.
		InsecureSkipVerify: true,
		ServerName:         serverName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if _, cert := r.current(); cert != nil {
				return cert, nil
			}
			return &tls.Certificate{}, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			pool, _ := r.current()
			if len(cs.PeerCertificates) == 0 {
				return errors.New("TLS: server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: pool, DNSName: cs.ServerName, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return fmt.Errorf("TLS: server certificate: %w", err)
			}
			return nil
		},
	}
}

// Names of the files in a credentials directory (as vigil-server writes
// them for agents, SIEMs and operators).
const (
	DirCA    = "ca.pem"
	DirCert  = "cert.pem"
	DirKey   = "key.pem"
	DirCreds = "nats.creds"
)

// DirFiles are the PEM files of a credentials directory.
func DirFiles(dir string) Files {
	return Files{CA: filepath.Join(dir, DirCA), Cert: filepath.Join(dir, DirCert), Key: filepath.Join(dir, DirKey)}
}
