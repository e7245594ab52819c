package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/scan"
)

// A node root mounted into a DaemonSet pod: the agent scans the control-plane
// manifests, the kubelet configuration and the PKI found under it.
func TestNodeTargets(t *testing.T) {
	root := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/kubernetes/manifests/etcd.yaml", "{apiVersion: v1, kind: Pod, metadata: {name: etcd, namespace: kube-system}, spec: {containers: [{name: etcd, image: 'registry.k8s.io/etcd:3.5.15-0', command: [etcd, --auto-tls=true]}]}}\n")
	write("var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n")
	targets, err := Targets(agent.Spec{Tenant: "acme", Agent: "node-1", NodeRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 {
		t.Fatalf("targets = %v, want etc/kubernetes and the kubelet config", targets)
	}
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := scan.New(cat).Run(context.Background(), targets, "acme")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.CheckId] = true
	}
	if !got["VGL-CLUSTER-233"] || !got["VGL-CLUSTER-304"] {
		t.Fatalf("node findings = %v, want etcd auto TLS and the kubelet read-only port", got)
	}
	if _, err := NodeTargets(filepath.Join(root, "missing")); err == nil {
		t.Fatal("a missing node root was accepted")
	}
}
