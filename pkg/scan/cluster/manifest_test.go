package cluster

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/checks/checkstest"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

func catalog(t testing.TB) *checks.Catalog {
	t.Helper()
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func ids(t *testing.T, m *Manifests, doc string) map[string]int {
	t.Helper()
	fs, err := m.ScanFile(context.Background(), "case.yaml", []byte(doc), "")
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	set, err := m.ScanSet(context.Background(), []pipeline.Content{{Path: "case.yaml", Data: []byte(doc)}}, "")
	if err != nil {
		t.Fatalf("scan set: %v", err)
	}
	fs = append(fs, set...)
	out := map[string]int{}
	for _, f := range fs {
		out[f.CheckId]++
	}
	return out
}

// TestEveryCheckFailsAndPasses runs each check's failing and passing case.
func TestEveryCheckFailsAndPasses(t *testing.T) {
	m := NewManifests(catalog(t))
	checkstest.Run(t, "testdata/cases.yaml", m.Checks, func(t *testing.T, doc string) map[string]int { return ids(t, m, doc) })
}

const deployment = `# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: app
          image: shop/web:1.0
          securityContext:
            privileged: true
`

func TestLinesPointAtTheField(t *testing.T) {
	m := NewManifests(catalog(t))
	fs, err := m.ScanFile(context.Background(), "d.yaml", []byte("---\n"+deployment), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.CheckId == "VGL-CLUSTER-001" {
			if f.Location.StartLine != 15 || !strings.Contains(f.Location.Snippet, "privileged: true") {
				t.Fatalf("privileged finding at line %d %q, want line 15", f.Location.StartLine, f.Location.Snippet)
			}
			if f.Resource.Tenant != "acme" || f.Resource.Namespace != "shop" || f.Resource.Kind != "Deployment" || f.Resource.Name != "web" {
				t.Fatalf("resource = %v", f.Resource)
			}
			return
		}
	}
	t.Fatal("privileged container not reported")
}

func TestFingerprintsSurviveMovingAndReordering(t *testing.T) {
	m := NewManifests(catalog(t))
	fp := func(doc string) map[string]bool {
		fs, err := m.ScanFile(context.Background(), "d.yaml", []byte(doc), "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, f := range fs {
			out[f.Fingerprint] = true
		}
		return out
	}
	a := fp(deployment)
	b := fp("# moved down\n\n\n" + deployment)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("moving the manifest changed the findings: %d vs %d", len(a), len(b))
	}
	for k := range a {
		if !b[k] {
			t.Fatal("moving the manifest changed a fingerprint")
		}
	}
}

func TestListsMultiDocAndCustomKinds(t *testing.T) {
	m := NewManifests(catalog(t))
	doc := `apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {hostNetwork: true, containers: [{name: c, image: x:1}]}}
---
not: kubernetes
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec: {template: {spec: {hostNetwork: true, containers: [{name: c, image: x:1}]}}}
`
	fs, err := m.ScanFile(context.Background(), "l.yaml", []byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range fs {
		if f.CheckId == "VGL-CLUSTER-005" {
			got[f.Resource.Kind+"/"+f.Resource.Name] = int(f.Location.StartLine)
		}
	}
	if got["Pod/a"] != 4 || got["Rollout/r"] != 11 {
		t.Fatalf("hostNetwork findings = %v", got)
	}
}

func TestBadYAMLIsAnErrorNamingTheFile(t *testing.T) {
	m := NewManifests(catalog(t))
	fs, err := m.ScanFile(context.Background(), "bad.yaml", []byte(deployment+"---\nkind: [unclosed\n"), "")
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Fatalf("err = %v", err)
	}
	if len(fs) == 0 {
		t.Fatal("findings of the good document before the error were lost")
	}
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(deployment))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [1, {kind: Pod}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	m := NewManifests(catalog(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		m.ScanFile(context.Background(), "fuzz.yaml", data, "t")
	})
}

// BenchmarkScanDeployment measures parsing one Deployment and evaluating
// every Kubernetes check on it.
func BenchmarkScanDeployment(b *testing.B) {
	m := NewManifests(catalog(b))
	data := []byte(deployment)
	b.SetBytes(int64(len(data)))
	var n int
	for i := 0; i < b.N; i++ {
		fs, err := m.ScanFile(context.Background(), "d.yaml", data, "acme")
		if err != nil {
			b.Fatal(err)
		}
		n = len(fs)
	}
	b.ReportMetric(float64(len(m.Checks)), "checks")
	b.ReportMetric(float64(n), "findings")
}

func FuzzManifestSet(f *testing.F) {
	f.Add([]byte(deployment + "---\n{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: n}, spec: {podSelector: {matchExpressions: [{key: a, operator: In}]}}}\n"))
	f.Add([]byte(`{"apiVersion": "hostdata.kubescape.cloud/v1beta0", "kind": "KubeletInfo", "data": {"cmdLine": "kubelet --event-qps=x", "configFile": {"content": "!!"}}}`))
	m := NewManifests(catalog(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		m.ScanFile(context.Background(), "fuzz.yaml", data, "t")
		m.ScanSet(context.Background(), []pipeline.Content{{Path: "fuzz.yaml", Data: data}}, "t")
	})
}

// BenchmarkScan10kWorkloads runs every Kubernetes check, per object and
// across objects, over 10,000 workload objects in one manifest stream, and
// reports objects per second and the process's peak resident memory.
func BenchmarkScan10kWorkloads(b *testing.B) {
	var sb strings.Builder
	kinds := []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
	for i := 0; i < 10000; i++ {
		kind := kinds[i%len(kinds)]
		tmpl := fmt.Sprintf(`{metadata: {labels: {app: app-%d}}, spec: {hostNetwork: %v, containers: [{name: app, image: "registry.example.com/app-%d:%d", securityContext: {privileged: %v, runAsUser: %d}, env: [{name: MODE, value: prod}], resources: {limits: {cpu: 100m}}}]}}`,
			i, i%7 == 0, i, i%3, i%11 == 0, i%2*1000)
		spec := "{template: " + tmpl + "}"
		if kind == "CronJob" {
			spec = "{schedule: '* * * * *', jobTemplate: {spec: {template: " + tmpl + "}}}"
		}
		fmt.Fprintf(&sb, "---\n{apiVersion: apps/v1, kind: %s, metadata: {name: app-%d, namespace: ns-%d}, spec: %s}\n", kind, i, i%50, spec)
		if i%100 == 0 {
			fmt.Fprintf(&sb, "---\n{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: p-%d, namespace: ns-%d}, spec: {podSelector: {matchLabels: {app: app-%d}}}}\n", i, i%50, i)
		}
	}
	data := []byte(sb.String())
	m := NewManifests(catalog(b))
	b.ResetTimer()
	var findings int
	for i := 0; i < b.N; i++ {
		fs, err := m.ScanFile(context.Background(), "fleet.yaml", data, "acme")
		if err != nil {
			b.Fatal(err)
		}
		set, err := m.ScanSet(context.Background(), []pipeline.Content{{Path: "fleet.yaml", Data: data}}, "acme")
		if err != nil {
			b.Fatal(err)
		}
		findings = len(fs) + len(set)
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(findings), "findings")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
	}
}
