package cloud

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

func selfSigned(t testing.TB, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example.test"},
		NotBefore: notAfter.Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestCertificateExpiry(t *testing.T) {
	want := time.Date(2015, 9, 12, 21, 52, 2, 0, time.UTC)
	body := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" + selfSigned(t, want)
	got, ok := CertificateExpiry(body)
	if !ok || !got.Equal(want) {
		t.Errorf("CertificateExpiry = %v, %v; want %v", got, ok, want)
	}
	for _, bad := range []string{"", "not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, ok := CertificateExpiry(bad); ok {
			t.Errorf("CertificateExpiry(%q) reported a certificate", bad)
		}
	}
}

func FuzzCertificateExpiry(f *testing.F) {
	f.Add(selfSigned(f, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	f.Add("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	f.Fuzz(func(t *testing.T, body string) {
		CertificateExpiry(body) // must not panic on any input
	})
}
