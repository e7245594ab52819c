package trust

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/pkg/pki"
)

// FuzzTokenFile: a damaged token file is an error, never a crash, and an
// entry is only accepted with a name and a full hash.
func FuzzTokenFile(f *testing.F) {
	f.Add([]byte(`[{"name":"a","role":"viewer","tenants":["x"],"sha256":"` + HashToken("vgl_x") + `"}]`))
	f.Add([]byte(`[{"name":"","sha256":"00"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "tokens.json")
		os.WriteFile(p, data, 0o600)
		entries, err := readTokens(p)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Name == "" || len(e.SHA256) != 64 {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

// FuzzParseCerts: arbitrary PEM input to the certificate reader.
func FuzzParseCerts(f *testing.F) {
	ca, _, err := pki.NewCA("fuzz", 24*3600*1e9)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca.CertPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := pki.ParseCerts(data)
		if err == nil && len(certs) == 0 {
			t.Fatal("no certificates and no error")
		}
		for _, c := range certs {
			pki.IdentityOf(c)
		}
	})
}

// FuzzRevokedList: the server's revocation list parses or fails, never
// crashes, and every accepted entry names a serial.
func FuzzRevokedList(f *testing.F) {
	f.Add([]byte(`[{"serial":"1f","kind":"agent","name":"a1","revoked":"2026-01-01T00:00:00Z","expires":"2027-01-01T00:00:00Z"}]`))
	f.Add([]byte(`[{"serial":""}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseRevoked(data)
		if err != nil {
			return
		}
		for _, r := range list {
			if r.Serial == "" {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}
