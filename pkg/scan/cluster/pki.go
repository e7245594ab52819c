package cluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// Certificates evaluates the "certificate" checks over X.509 certificates:
// PEM files (the cluster PKI under /etc/kubernetes/pki, kubelet and etcd
// certificates) and the certificates embedded in kubeconfigs.
type Certificates struct {
	Checks []*checks.Check
	// Now is the time certificates are judged at (time.Now when nil).
	Now func() time.Time
}

// NewCertificates returns a certificate scanner using the catalog's checks.
func NewCertificates(cat *checks.Catalog) *Certificates {
	return &Certificates{Checks: cat.ForInput("certificate")}
}

// Name is the scanner name used in scopes.
func (c *Certificates) Name() string { return "pki" }

// Describe declares the analyzer: version 1 is its first declared version.
func (c *Certificates) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: c.Name(), Version: 1, Reads: []string{pipeline.File}}
}

// Match selects PEM files and kubeconfigs (*.conf, files named config or
// kubeconfig, and YAML files, which are only parsed when they embed
// certificate data).
func (c *Certificates) Match(path string) bool {
	base := strings.ToLower(filepath.Base(path))
	switch filepath.Ext(base) {
	case ".crt", ".pem", ".cer", ".cert", ".conf", ".kubeconfig", ".yaml", ".yml":
		return true
	}
	return base == "config" || base == "kubeconfig"
}

type embeddedCert struct {
	der    []byte
	line   int
	source string
}

// ScanFile reads every certificate of a file and evaluates the checks.
func (c *Certificates) ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	var certs []embeddedCert
	var errs []error
	if bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
		certs = append(certs, pemCerts(data, 0, "file")...)
	}
	if bytes.Contains(data, []byte("certificate-authority-data")) || bytes.Contains(data, []byte("client-certificate-data")) {
		kc, err := kubeconfigCerts(data)
		if err != nil {
			errs = append(errs, pipeline.NotAssessed(pipeline.ParseError, fmt.Errorf("%s: kubeconfig: %w", path, err)))
		}
		certs = append(certs, kc...)
	}
	if len(certs) == 0 {
		return nil, errors.Join(errs...)
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	lines := bytes.Split(data, []byte("\n"))
	var out []*vigilv1.Finding
	for _, ec := range certs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		cert, err := x509.ParseCertificate(ec.der)
		if err != nil {
			errs = append(errs, pipeline.NotAssessed(pipeline.ParseError, fmt.Errorf("%s: line %d: certificate: %w", path, ec.line, err)))
			continue
		}
		model := certificateModel(cert, now, ec.source)
		vars := map[string]any{"certificate": model}
		res := &vigilv1.Resource{Tenant: tenant, Provider: "x509", Kind: "Certificate", Name: cert.Subject.CommonName, Uri: path}
		key := hex.EncodeToString(cert.SerialNumber.Bytes()) + "/" + cert.Issuer.String()
		for _, chk := range c.Checks {
			fails, err := chk.Fails(vars)
			if err != nil {
				errs = append(errs, &pipeline.CheckError{Check: chk.ID, Err: fmt.Errorf("%s: %w", path, err)})
				continue
			}
			if !fails {
				continue
			}
			out = append(out, chk.NewFinding(chk.Message(vars), finding.Site{
				Scanner:  c.Name(),
				Resource: res,
				Location: &vigilv1.Location{Path: path, StartLine: int32(ec.line), EndLine: int32(ec.line), Snippet: finding.Snippet(lines, ec.line)},
				Path:     path,
				Key:      key,
			}))
		}
	}
	return out, errors.Join(errs...)
}

// pemCerts returns the CERTIFICATE blocks of PEM data with their 1-based
// start lines (offset by firstLine).
func pemCerts(data []byte, firstLine int, source string) []embeddedCert {
	var out []embeddedCert
	rest := data
	consumed := 0
	for {
		i := bytes.Index(rest, []byte("-----BEGIN "))
		if i < 0 {
			return out
		}
		block, next := pem.Decode(rest[i:])
		if block == nil {
			// A broken block: skip its header and go on.
			rest = rest[i+len("-----BEGIN "):]
			consumed += i + len("-----BEGIN ")
			continue
		}
		line := firstLine + bytes.Count(data[:consumed+i], []byte("\n")) + 1
		if block.Type == "CERTIFICATE" {
			out = append(out, embeddedCert{der: block.Bytes, line: line, source: source})
		}
		consumed += len(rest) - len(next)
		rest = next
	}
}

// kubeconfigCerts returns the certificates embedded in a kubeconfig, each
// at the line of its data field.
func kubeconfigCerts(data []byte) ([]embeddedCert, error) {
	var kc struct {
		Clusters []struct {
			Name    string `json:"name"`
			Cluster struct {
				CAData string `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			Name string `json:"name"`
			User struct {
				CertData string `json:"client-certificate-data"`
			} `json:"user"`
		} `json:"users"`
	}
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, err
	}
	var out []embeddedCert
	var errs []error
	add := func(b64, source string) {
		if b64 == "" {
			return
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			return
		}
		line := 0
		if i := bytes.Index(data, []byte(b64[:min(len(b64), 32)])); i >= 0 {
			line = bytes.Count(data[:i], []byte("\n")) + 1
		}
		for _, c := range pemCerts(raw, 0, source) {
			c.line = line
			out = append(out, c)
		}
	}
	for _, c := range kc.Clusters {
		add(c.Cluster.CAData, "kubeconfig cluster "+c.Name)
	}
	for _, u := range kc.Users {
		add(u.User.CertData, "kubeconfig user "+u.Name)
	}
	return out, errors.Join(errs...)
}

// certificateModel is what certificate checks read.
func certificateModel(c *x509.Certificate, now time.Time, source string) map[string]any {
	keyAlg, bits := "unknown", int64(0)
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		keyAlg, bits = "RSA", int64(k.N.BitLen())
	case *ecdsa.PublicKey:
		keyAlg, bits = "ECDSA", int64(k.Curve.Params().BitSize)
	case ed25519.PublicKey:
		keyAlg, bits = "Ed25519", 256
	}
	names := []any{}
	for _, n := range c.DNSNames {
		names = append(names, n)
	}
	days := int64(c.NotAfter.Sub(now).Hours() / 24)
	if c.NotAfter.Before(now) {
		days = -1 - int64(now.Sub(c.NotAfter).Hours()/24)
	}
	return map[string]any{
		"subject": c.Subject.String(), "common_name": c.Subject.CommonName, "issuer": c.Issuer.String(),
		"not_before": c.NotBefore.UTC().Format(time.RFC3339), "not_after": c.NotAfter.UTC().Format(time.RFC3339),
		"days_left": days, "key_algorithm": keyAlg, "key_bits": bits, "signature_algorithm": c.SignatureAlgorithm.String(),
		"is_ca": c.IsCA, "self_signed": bytes.Equal(c.RawIssuer, c.RawSubject), "dns_names": names, "source": source,
	}
}
