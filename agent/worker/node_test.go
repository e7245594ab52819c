package worker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/agent"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
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

// A target's result splits into pieces of bounded findings that together
// hold every finding once, in order, with the scopes' other fields in the
// first piece only.
func TestPieces(t *testing.T) {
	mk := func(scanner string, n int) *vigilv1.ScopeResult {
		s := &vigilv1.ScopeResult{Scanner: scanner, NotAssessed: []string{scanner + "/x"}}
		for i := range n {
			s.Findings = append(s.Findings, &vigilv1.Finding{CheckId: fmt.Sprintf("%s-%d", scanner, i)})
		}
		return s
	}
	ts := &vigilv1.TargetScan{Target: "/srv", Identity: "/srv", AnalyzerVersion: "v1",
		Scopes: []*vigilv1.ScopeResult{mk("a", 5), mk("b", 0), mk("c", 7)}}
	ps := Pieces(ts, 4)
	if len(ps) != 3 {
		t.Fatalf("%d pieces, want 3 (12 findings by 4)", len(ps))
	}
	var got []string
	for i, p := range ps {
		if p.More != (i < len(ps)-1) || p.Target != "/srv" {
			t.Errorf("piece %d: more %v, target %q", i, p.More, p.Target)
		}
		n := 0
		for _, s := range p.Scopes {
			n += len(s.Findings)
			for _, f := range s.Findings {
				got = append(got, f.CheckId)
				if !strings.HasPrefix(f.CheckId, s.Scanner+"-") {
					t.Errorf("piece %d: %s under scanner %s", i, f.CheckId, s.Scanner)
				}
			}
			if i > 0 && len(s.NotAssessed) > 0 {
				t.Errorf("piece %d repeats the scope's other fields", i)
			}
		}
		if n > 4 {
			t.Errorf("piece %d holds %d findings", i, n)
		}
	}
	if len(ps[0].Scopes) != 3 || ps[0].AnalyzerVersion != "v1" || len(ps[0].Scopes[1].NotAssessed) != 1 {
		t.Errorf("first piece %v: want every scope with its fields", ps[0])
	}
	if len(got) != 12 || got[0] != "a-0" || got[4] != "a-4" || got[5] != "c-0" || got[11] != "c-6" {
		t.Errorf("findings in pieces: %v", got)
	}
	if one := Pieces(&vigilv1.TargetScan{Target: "/x", Error: "gone"}, 4); len(one) != 1 || one[0].More || one[0].Error != "gone" {
		t.Errorf("a failed target: %v", one)
	}
}
