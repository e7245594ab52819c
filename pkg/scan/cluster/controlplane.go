package cluster

import "github.com/vigilsec/vigil/pkg/checks"

// podOf says how obj runs pods, for checks.Check.AppliesTo; spec is its
// pod spec (nil for none).
func podOf(obj map[string]any, kind string, spec map[string]any) checks.Pod {
	switch {
	case spec == nil:
		return checks.NoPod
	case controlPlanePod(obj, kind, spec):
		return checks.ControlPlane
	}
	return checks.Workload
}

// controlPlaneComponents are the programs of a Kubernetes control plane
// that run as static pods on its nodes.
var controlPlaneComponents = map[string]bool{
	"kube-apiserver": true, "kube-controller-manager": true, "kube-scheduler": true, "etcd": true,
	"cloud-controller-manager": true,
}

// controlPlanePod reports whether obj is a static pod of the control plane
// (or the API's mirror of one): a Pod in kube-system, or with no namespace
// as in a node's manifest folder, whose every container runs a
// control-plane component. Such a pod shares the host's network and mounts
// its PKI by design; it is judged by the control-plane checks, not by the
// hardening checks meant for user workloads.
func controlPlanePod(obj map[string]any, kind string, spec map[string]any) bool {
	if kind != "Pod" || spec == nil {
		return false
	}
	meta, _ := obj["metadata"].(map[string]any)
	if ns, _ := meta["namespace"].(string); ns != "" && ns != "kube-system" {
		return false
	}
	containers, _ := spec["containers"].([]any)
	if len(containers) == 0 {
		return false
	}
	for _, c := range containers {
		cm, ok := c.(map[string]any)
		if !ok || !controlPlaneComponents[parseCommandLine(cm, "").component] {
			return false
		}
	}
	return true
}
