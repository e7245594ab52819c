package cluster

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseIgnore(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	ex, err := parseIgnore("VGL-CLUSTER-001, vgl-cluster-002; reason=legacy; until=2027-01-31\n* ; reason = all of it", "Pod p", now)
	if err != nil {
		t.Fatal(err)
	}
	if e := ex["VGL-CLUSTER-002"]; e == nil || e.Reason != "legacy" || !e.Expires.AsTime().Equal(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("clause 1 = %v", e)
	}
	if e := ex["*"]; e == nil || e.Reason != "all of it" || e.Expires != nil || !strings.Contains(e.Source, "Pod p") {
		t.Fatalf("clause 2 = %v", e)
	}
	ex, err = parseIgnore("VGL-CLUSTER-001; reason=old; until=2020-01-01", "Pod p", now)
	if err != nil || len(ex) != 0 {
		t.Fatalf("a clause that ran out applies: %v, %v", ex, err)
	}
	for _, bad := range []string{"VGL-CLUSTER-001", "VGL-CLUSTER-001; until=2027-01-01", "; reason=x", "VGL-1; reason=x; until=soon", "VGL-1; reason=x; owner=me", "VGL-1; reason"} {
		if _, err := parseIgnore(bad, "Pod p", now); err == nil || !strings.Contains(err.Error(), "Pod p") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestIgnoreAnnotationMarksFindings(t *testing.T) {
	m := NewManifests(catalog(t))
	base := func(deployAnn, podAnn string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
` + deployAnn + `spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
` + podAnn + `    spec:
      hostNetwork: true
      containers:
        - name: app
          image: nginx:1.25
          securityContext: {privileged: true}
`
	}
	plain, err := m.ScanFile(context.Background(), "d.yaml", []byte(base("", "")), "acme")
	if err != nil || len(plain) < 3 {
		t.Fatalf("plain scan: %d findings, %v", len(plain), err)
	}
	target := plain[0].CheckId
	for _, f := range plain {
		if f.Exemption != nil {
			t.Fatalf("%s exempt without annotation", f.CheckId)
		}
	}
	for name, doc := range map[string]string{
		"on the deployment":   base("  annotations:\n    vigil.dev/ignore: \""+target+"; reason=reviewed; until=2099-01-01\"\n", ""),
		"on the pod template": base("", "      annotations:\n        vigil.dev/ignore: \""+target+"; reason=reviewed; until=2099-01-01\"\n"),
	} {
		fs, err := m.ScanFile(context.Background(), "d.yaml", []byte(doc), "acme")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(fs) != len(plain) {
			t.Fatalf("%s: %d findings, without annotation %d: exempt findings must still be reported", name, len(fs), len(plain))
		}
		exempt := 0
		for _, f := range fs {
			if f.Exemption != nil {
				exempt++
				if f.CheckId != target || f.Exemption.Reason != "reviewed" {
					t.Fatalf("%s: %s exempt: %v", name, f.CheckId, f.Exemption)
				}
			}
		}
		if exempt == 0 {
			t.Fatalf("%s: %s not exempt", name, target)
		}
	}
	// A malformed annotation is an error naming the object; nothing is exempt.
	fs, err := m.ScanFile(context.Background(), "d.yaml", []byte(base("  annotations:\n    vigil.dev/ignore: \""+target+"\"\n", "")), "acme")
	if err == nil || !strings.Contains(err.Error(), "Deployment shop/web") || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("malformed annotation error = %v", err)
	}
	for _, f := range fs {
		if f.Exemption != nil {
			t.Fatalf("malformed annotation exempted %s", f.CheckId)
		}
	}
}

func FuzzParseIgnore(f *testing.F) {
	f.Add("VGL-CLUSTER-001, VGL-CLUSTER-002; reason=x; until=2027-01-31")
	f.Add("*; reason=a=b; until=2027-01-31T00:00:00Z\n;;;\n")
	now := time.Now()
	f.Fuzz(func(t *testing.T, v string) {
		ex, _ := parseIgnore(v, "Pod p", now)
		for id, e := range ex {
			if id == "" || e.Reason == "" {
				t.Fatalf("accepted clause without id or reason: %q", v)
			}
		}
	})
}
