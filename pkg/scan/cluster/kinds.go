package cluster

// podSpecPaths maps the built-in pod-bearing kinds to the path of their pod
// spec. Other kinds that carry spec.template.spec.containers (Argo Rollouts,
// OpenShift DeploymentConfigs, …) are found by shape.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
	"PodTemplate":           {"template", "spec"},
}

// podSpec finds the pod spec of an object. It returns the spec, the pod's
// metadata (the template's, or the object's for a Pod) and the spec's path.
func podSpec(obj map[string]any, kind string) (spec, meta map[string]any, path string) {
	keys, ok := podSpecPaths[kind]
	if !ok {
		keys = []string{"spec", "template", "spec"}
	}
	cur := obj
	parent := obj
	for i, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, nil, ""
		}
		if i == len(keys)-1 {
			parent = cur
		}
		cur = next
	}
	if _, known := podSpecPaths[kind]; !known {
		if _, hasContainers := cur["containers"].([]any); !hasContainers {
			return nil, nil, ""
		}
	}
	meta, _ = parent["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	path = ""
	for _, k := range keys {
		path = joinPath(path, k)
	}
	return cur, meta, path
}
