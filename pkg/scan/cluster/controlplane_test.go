package cluster

import (
	"strings"
	"testing"
)

const schedulerPod = `apiVersion: v1
kind: Pod
metadata:
  name: kube-scheduler-node-a
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: kube-scheduler
    image: registry.k8s.io/kube-scheduler:v1.31.1
    command: [kube-scheduler, --kubeconfig=/etc/kubernetes/scheduler.conf, --profiling=true]
    volumeMounts: [{name: kubeconfig, mountPath: /etc/kubernetes/scheduler.conf, readOnly: true}]
  volumes:
  - name: kubeconfig
    hostPath: {path: /etc/kubernetes/scheduler.conf, type: FileOrCreate}
`

// A static pod of the control plane is judged by the control-plane checks
// alone: it shares the host network and mounts node files by design. The
// same pod spec outside kube-system, or with a container that is not a
// control-plane component, is a user workload and gets the workload checks.
func TestControlPlanePodsGetControlPlaneChecks(t *testing.T) {
	m := NewManifests(catalog(t))
	workload := map[string]bool{"VGL-CLUSTER-032": true, "VGL-CLUSTER-005": true, "VGL-CLUSTER-006": true, "VGL-CLUSTER-009": true, "VGL-CLUSTER-013": true}
	got := ids(t, m, schedulerPod)
	if got["VGL-CLUSTER-251"] == 0 {
		t.Errorf("scheduler profiling (a control-plane check) not reported: %v", got)
	}
	for id := range got {
		if workload[id] {
			t.Errorf("control-plane pod got workload check %s: %v", id, got)
		}
	}

	for name, doc := range map[string]string{
		"user namespace": strings.Replace(schedulerPod, "namespace: kube-system", "namespace: shop", 1),
		"sidecar":        strings.Replace(schedulerPod, "  volumes:", "  - {name: shell, image: busybox:1.36, command: [sh]}\n  volumes:", 1),
	} {
		got := ids(t, m, doc)
		for id := range workload {
			if got[id] == 0 {
				t.Errorf("%s: workload check %s not reported: %v", name, id, got)
			}
		}
	}
}
