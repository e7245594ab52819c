package cluster

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

var pkiNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type certSpec struct {
	notAfter time.Time
	key      crypto.Signer
	sigAlg   x509.SignatureAlgorithm
}

func mustKey(t testing.TB, rsaBits int) crypto.Signer {
	t.Helper()
	if rsaBits > 0 {
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func certPEM(t testing.TB, cn string, s certSpec) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: pkiNow.AddDate(-1, 0, 0), NotAfter: s.notAfter, SignatureAlgorithm: s.sigAlg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.key.Public(), s.key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestCertificateChecks(t *testing.T) {
	c := NewCertificates(catalog(t))
	c.Now = func() time.Time { return pkiNow }
	ec := mustKey(t, 0)
	rsa2048 := mustKey(t, 2048)
	rsa1024 := mustKey(t, 1024)
	good := certSpec{notAfter: pkiNow.AddDate(1, 0, 0), key: ec}
	cases := map[string]struct{ fail, pass certSpec }{
		"VGL-CLUSTER-401": {certSpec{notAfter: pkiNow.AddDate(0, 0, -3), key: ec}, good},
		"VGL-CLUSTER-402": {certSpec{notAfter: pkiNow.AddDate(0, 0, 12), key: ec}, certSpec{notAfter: pkiNow.AddDate(0, 0, 31), key: ec}},
		"VGL-CLUSTER-403": {certSpec{notAfter: pkiNow.AddDate(1, 0, 0), key: rsa1024}, certSpec{notAfter: pkiNow.AddDate(1, 0, 0), key: rsa2048}},
		"VGL-CLUSTER-404": {certSpec{notAfter: pkiNow.AddDate(1, 0, 0), key: rsa2048, sigAlg: x509.SHA1WithRSA}, certSpec{notAfter: pkiNow.AddDate(1, 0, 0), key: rsa2048, sigAlg: x509.SHA256WithRSA}},
	}
	ids := func(data string) map[string]int {
		fs, err := c.ScanFile(context.Background(), "pki/apiserver.crt", []byte(data), "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, f := range fs {
			out[f.CheckId]++
		}
		return out
	}
	for id, cs := range cases {
		if got := ids(certPEM(t, "kube-apiserver", cs.fail)); got[id] == 0 {
			t.Errorf("%s: failing certificate not reported: %v", id, got)
		}
		if got := ids(certPEM(t, "kube-apiserver", cs.pass)); got[id] != 0 {
			t.Errorf("%s: passing certificate reported", id)
		}
	}
	for _, chk := range c.Checks {
		if _, ok := cases[chk.ID]; !ok {
			t.Errorf("certificate check %s has no test", chk.ID)
		}
	}
}

func TestCertificatesInBundlesAndKubeconfigs(t *testing.T) {
	c := NewCertificates(catalog(t))
	c.Now = func() time.Time { return pkiNow }
	key := mustKey(t, 0)
	expired := certPEM(t, "old-ca", certSpec{notAfter: pkiNow.AddDate(0, -1, 0), key: key})
	valid := certPEM(t, "admin", certSpec{notAfter: pkiNow.AddDate(2, 0, 0), key: key})
	bundle := "# CA bundle\n" + valid + "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n" + expired
	fs, err := c.ScanFile(context.Background(), "ca-bundle.pem", []byte(bundle), "")
	if err != nil {
		t.Fatal(err)
	}
	wantLine := strings.Count(bundle[:strings.LastIndex(bundle, "-----BEGIN CERTIFICATE")], "\n") + 1
	if len(fs) != 1 || fs[0].CheckId != "VGL-CLUSTER-401" || int(fs[0].Location.StartLine) != wantLine {
		t.Fatalf("bundle findings = %v (want the expired CA at line %d)", fs, wantLine)
	}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: %s
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: c2VjcmV0
`, base64.StdEncoding.EncodeToString([]byte(expired)), base64.StdEncoding.EncodeToString([]byte(valid)))
	fs, err = c.ScanFile(context.Background(), "admin.conf", []byte(kubeconfig), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Location.StartLine != 7 || !strings.Contains(fs[0].Message, "kubeconfig cluster prod") {
		t.Fatalf("kubeconfig findings = %v", fs)
	}
	if fs, err := c.ScanFile(context.Background(), "notes.yaml", []byte("a: b\n"), ""); err != nil || len(fs) != 0 {
		t.Fatalf("plain YAML: %v %v", fs, err)
	}
	if _, err := c.ScanFile(context.Background(), "bad.crt", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), ""); err == nil || !strings.Contains(err.Error(), "bad.crt") {
		t.Fatalf("a corrupt certificate gave %v", err)
	}
}

func FuzzCertificates(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("clusters: [{name: a, cluster: {certificate-authority-data: '!!'}}]\n"))
	c := NewCertificates(catalog(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		c.ScanFile(context.Background(), "fuzz.crt", data, "t")
	})
}
