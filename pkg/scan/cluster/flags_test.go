package cluster

import "testing"

func TestParseCommandLine(t *testing.T) {
	c := map[string]any{
		"image":   "registry.k8s.io/kube-apiserver:v1.31.0",
		"command": []any{"/usr/local/bin/kube-apiserver", "--secure-port=0", "--profiling", "--audit-log-path", "/var/log/audit.log"},
		"args":    []any{"--secure-port=6443", "--v=2", "positional"},
	}
	cl := parseCommandLine(c, "spec.containers[0]")
	if cl.component != "kube-apiserver" {
		t.Fatalf("component %q", cl.component)
	}
	want := map[string]string{"secure-port": "6443", "profiling": "true", "audit-log-path": "/var/log/audit.log", "v": "2"}
	for k, v := range want {
		if cl.flags[k] != v {
			t.Errorf("--%s = %v, want %s", k, cl.flags[k], v)
		}
	}
	if cl.paths["secure-port"] != "spec.containers[0].args[0]" || cl.paths["audit-log-path"] != "spec.containers[0].command[3]" {
		t.Errorf("paths = %v", cl.paths)
	}
	// Without a command the image names the component.
	if cl := parseCommandLine(map[string]any{"image": "registry.k8s.io/etcd:3.5.15-0@sha256:abc"}, "c"); cl.component != "etcd" {
		t.Errorf("component from image = %q", cl.component)
	}
}
