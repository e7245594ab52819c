package cloud

import (
	"crypto/x509"
	"encoding/pem"
	"time"
)

// CertificateExpiry reads the first PEM certificate in body and returns
// when it expires; ok is false when body holds no certificate Go can parse.
func CertificateExpiry(body string) (notAfter time.Time, ok bool) {
	rest := []byte(body)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return time.Time{}, false
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return time.Time{}, false
		}
		return c.NotAfter, true
	}
}
