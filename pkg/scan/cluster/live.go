package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// liveResources are the API resources the Kubernetes checks read. Secrets
// are not among them: the agent never needs secret values.
var liveResources = []struct {
	gvr  schema.GroupVersionResource
	kind string
	// cluster marks kinds that live outside namespaces.
	cluster bool
}{
	{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "Namespace", true},
	{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod", false},
	{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "Service", false},
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "ServiceAccount", false},
	{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "ConfigMap", false},
	{schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}, "ReplicationController", false},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment", false},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "StatefulSet", false},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, "DaemonSet", false},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, "ReplicaSet", false},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, "Job", false},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, "CronJob", false},
	{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}, "Ingress", false},
	{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, "NetworkPolicy", false},
	{schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"}, "ResourceQuota", false},
	{schema.GroupVersionResource{Version: "v1", Resource: "limitranges"}, "LimitRange", false},
	{schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}, "ValidatingWebhookConfiguration", true},
	{schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"}, "MutatingWebhookConfiguration", true},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, "Role", false},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, "RoleBinding", false},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, "ClusterRole", true},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, "ClusterRoleBinding", true},
	// Istio's policies, where Istio is installed (a cluster without it
	// answers NotFound, which is no object, not a failure). v1beta1 is
	// served by every Istio release since 1.5.
	{schema.GroupVersionResource{Group: "security.istio.io", Version: "v1beta1", Resource: "peerauthentications"}, "PeerAuthentication", false},
	{schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1beta1", Resource: "destinationrules"}, "DestinationRule", false},
}

// controllers are kinds whose pods and replica sets are judged through the
// controller's template rather than one by one.
var controllers = map[string]bool{"Deployment": true, "ReplicaSet": true, "StatefulSet": true, "DaemonSet": true,
	"Job": true, "CronJob": true, "ReplicationController": true}

// Live evaluates the Kubernetes checks over a running cluster, read through
// its API with client-go.
type Live struct {
	Manifests *Manifests
	Client    dynamic.Interface
	// PageSize bounds each list call (default 500).
	PageSize int64
	// Namespace, when set, limits the scan to the objects of one
	// namespace and the namespace itself. Cluster-wide objects (cluster
	// roles and their bindings) are still read for what the namespace's
	// objects refer to, but are neither units nor reported.
	Namespace string

	images map[string]bool // of the last Scan
}

// NewLive returns a live scanner for the cluster of cfg.
func NewLive(cfg *rest.Config, m *Manifests) (*Live, error) {
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Live{Manifests: m, Client: c, PageSize: 500}, nil
}

// ClusterID is the UID of the kube-system namespace, which names a cluster
// for as long as it lives.
func (l *Live) ClusterID(ctx context.Context) (string, error) {
	ns, err := l.Client.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return "", pipeline.NotAssessed(apiReason(err), fmt.Errorf("cluster id (kube-system namespace): %w", err))
	}
	return string(ns.GetUID()), nil
}

// ClusterTarget names a cluster as a scope, by its UID.
func ClusterTarget(clusterID string) string { return "k8s://" + clusterID }

// ObjectPath is the location of a live object in findings.
func ObjectPath(clusterID, kind, namespace, name string) string {
	if namespace == "" {
		namespace = "_"
	}
	return ClusterTarget(clusterID) + "/" + kind + "/" + namespace + "/" + name
}

// KindPath is the prefix of every object path of a kind; a scan error on it
// means the kind could not be read, so its earlier findings are kept.
func KindPath(clusterID, kind string) string { return ClusterTarget(clusterID) + "/" + kind + "/" }

// Scan lists every resource the checks read, page by page, and evaluates
// per-object and cross-object checks. Each object is a unit of the
// returned ledger; a kind the agent could not list is a unit not assessed,
// with the reason the API gave, and the scan goes on.
func (l *Live) Scan(ctx context.Context, ledger *pipeline.Ledger, clusterID, tenant string) ([]*vigilv1.Finding, error) {
	const scanner = "kubernetes"
	var objs []located
	images := map[string]bool{}
	defer func() { l.images = images }()
	for i, r := range liveResources {
		pipeline.Report(ctx, "listing "+r.gvr.Resource, i, len(liveResources))
		cont := ""
		ns, opts := "", metav1.ListOptions{Limit: l.PageSize}
		if l.Namespace != "" {
			switch {
			case r.kind == "Namespace":
				opts.FieldSelector = "metadata.name=" + l.Namespace
			case !r.cluster:
				ns = l.Namespace
			}
		}
		for {
			opts.Continue = cont
			list, err := l.Client.Resource(r.gvr).Namespace(ns).List(ctx, opts)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if !apierrors.IsNotFound(err) {
					ledger.NotAssessed(scanner, pipeline.KubeObject, KindPath(clusterID, r.kind), apiReason(err),
						fmt.Sprintf("list %s: %v", r.gvr.Resource, err))
				}
				break
			}
			for i := range list.Items {
				obj := list.Items[i].Object
				if meta, ok := obj["metadata"].(map[string]any); ok {
					delete(meta, "managedFields")
				}
				obj["kind"], obj["apiVersion"] = r.kind, r.gvr.GroupVersion().String()
				collectImages(obj, images)
				if controlled(obj) {
					continue
				}
				path := ObjectPath(clusterID, r.kind, list.Items[i].GetNamespace(), list.Items[i].GetName())
				objs = append(objs, located{object: object{obj: normalize(obj).(map[string]any)}, path: path, account: clusterID, uri: path,
					context: l.Namespace != "" && r.cluster && r.kind != "Namespace"})
			}
			if cont = list.GetContinue(); cont == "" {
				break
			}
		}
	}
	var out []*vigilv1.Finding
	for i, o := range objs {
		if i%64 == 0 {
			pipeline.Report(ctx, "judging objects", i, len(objs))
		}
		if o.context {
			continue
		}
		fs, errs := l.Manifests.scanObject(ctx, o, tenant)
		out = append(out, fs...)
		ledger.Record(scanner, pipeline.KubeObject, o.path, errors.Join(errs...))
	}
	pipeline.Report(ctx, "judging objects together", len(objs), len(objs))
	set, err := l.Manifests.scanSetObjects(objs, l.Manifests.setChecks(), tenant)
	ledger.RecordSet(scanner, pipeline.KubeObject, "k8s://"+clusterID, err)
	for _, f := range set {
		// Set checks may judge the cluster-wide objects read for context.
		if r := f.GetResource(); l.Namespace == "" || r.GetNamespace() == l.Namespace || (r.GetKind() == "Namespace" && r.GetName() == l.Namespace) {
			out = append(out, f)
		}
	}
	return pipeline.Unique(out), nil
}

// apiReason reads an API server's refusal for the reason it stands for.
func apiReason(err error) pipeline.Reason {
	switch {
	case apierrors.IsForbidden(err):
		return pipeline.PermissionDenied
	case apierrors.IsUnauthorized(err):
		return pipeline.NoCredentials
	case apierrors.IsTooManyRequests(err):
		return pipeline.RateLimited
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return pipeline.TimedOut
	}
	return pipeline.Classify(err)
}

// Images returns the image references the last Scan found in the
// cluster's pods (the digest a container runs, when its status has one)
// and workload templates, sorted and without repeats.
func (l *Live) Images() []string {
	out := make([]string, 0, len(l.images))
	for ref := range l.images {
		out = append(out, ref)
	}
	sort.Strings(out)
	return out
}

// collectImages adds the images an object runs or will run.
func collectImages(obj map[string]any, into map[string]bool) {
	spec := podSpecOf(obj)
	if spec == nil {
		return
	}
	running := map[string]string{} // container name -> image with digest
	if st, ok := obj["status"].(map[string]any); ok {
		for _, key := range []string{"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"} {
			list, _ := st[key].([]any)
			for _, c := range list {
				cs, _ := c.(map[string]any)
				id, _ := cs["imageID"].(string)
				name, _ := cs["name"].(string)
				if i := strings.Index(id, "://"); i >= 0 {
					id = id[i+3:] // docker-pullable://, docker://
				}
				if strings.Contains(id, "@sha256:") {
					running[name] = id
				}
			}
		}
	}
	for _, key := range []string{"initContainers", "containers", "ephemeralContainers"} {
		list, _ := spec[key].([]any)
		for _, c := range list {
			cs, _ := c.(map[string]any)
			name, _ := cs["name"].(string)
			if ref := running[name]; ref != "" {
				into[ref] = true
				continue
			}
			if img, _ := cs["image"].(string); img != "" {
				into[img] = true
			}
		}
	}
}

// podSpecOf returns the pod spec of a Pod or of a workload's template.
func podSpecOf(obj map[string]any) map[string]any {
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	if obj["kind"] == "Pod" {
		return spec
	}
	if jt, ok := spec["jobTemplate"].(map[string]any); ok {
		spec, _ = jt["spec"].(map[string]any)
	}
	tmpl, _ := spec["template"].(map[string]any)
	ps, _ := tmpl["spec"].(map[string]any)
	return ps
}

// controlled reports whether a controller owns the object, which is then
// judged through its controller's template.
func controlled(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	refs, _ := meta["ownerReferences"].([]any)
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		if c, _ := ref["controller"].(bool); c && controllers[fmt.Sprint(ref["kind"])] {
			return true
		}
	}
	return false
}
