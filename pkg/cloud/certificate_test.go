package cloud_test

import (
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/cloud/cloudtest"
)

func TestCertificateExpiry(t *testing.T) {
	want := time.Date(2015, 9, 12, 21, 52, 2, 0, time.UTC)
	body := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" + cloudtest.Certificate(t, want)
	got, ok := cloud.CertificateExpiry(body)
	if !ok || !got.Equal(want) {
		t.Errorf("CertificateExpiry = %v, %v; want %v", got, ok, want)
	}
	for _, bad := range []string{"", "not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, ok := cloud.CertificateExpiry(bad); ok {
			t.Errorf("cloud.CertificateExpiry(%q) reported a certificate", bad)
		}
	}
}

func FuzzCertificateExpiry(f *testing.F) {
	f.Add(cloudtest.Certificate(f, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	f.Add("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	f.Fuzz(func(t *testing.T, body string) {
		cloud.CertificateExpiry(body) // must not panic on any input
	})
}
