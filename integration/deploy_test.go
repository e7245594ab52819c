package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/vigilsec/vigil/pkg/version"
)

// render builds a kustomization under deploy/kubernetes with the
// Kustomize library, as kubectl apply -k does.
func render(t *testing.T, rel string) []*unstructured.Unstructured {
	dir := filepath.Join(filepath.Dir(examplesDir()), "deploy", "kubernetes", rel)
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", rel, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

// renderChart renders the Helm chart with Helm's library (deploy/helm/render)
// and the values given, as helm --set takes them.
func renderChart(t *testing.T, sets ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"--namespace", "vigil"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	args = append(args, filepath.Join(filepath.Dir(examplesDir()), "deploy", "helm", "vigil"))
	out, err := exec.Command(bins.render, args...).Output()
	if err != nil {
		t.Fatalf("render the chart %v: %v", sets, err)
	}
	var objs []*unstructured.Unstructured
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("rendered chart: %v", err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	return objs
}

// renders are every way the deployment files are applied: the Kustomize
// base and overlay, the chart with its defaults and with one NATS node.
func renders(t *testing.T) map[string][]*unstructured.Unstructured {
	return map[string][]*unstructured.Unstructured{
		"base": render(t, "base"), "overlays/small": render(t, "overlays/small"),
		"chart": renderChart(t), "chart nats.replicas=1": renderChart(t, "nats.replicas=1"),
	}
}

// The chart installs what the Kustomize base does (the cluster role named
// after the release's namespace), in the release's namespace, and is of
// the source tree's release.
func TestHelmChartMatchesTheBase(t *testing.T) {
	key := func(o *unstructured.Unstructured) string {
		return o.GetKind() + " " + o.GetNamespace() + "/" + strings.TrimSuffix(o.GetName(), "-vigil")
	}
	want := map[string]bool{}
	for _, o := range render(t, "base") {
		if o.GetKind() == "Namespace" && o.GetName() == "vigil" {
			continue // the release's namespace is helm's to make
		}
		want[key(o)] = true
	}
	got := map[string]bool{}
	for _, o := range renderChart(t) {
		got[key(o)] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("the chart lacks %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("the chart has %s, the base does not", k)
		}
	}
	small := renderChart(t, "nats.replicas=1", "nodeAgent.enabled=false")
	for _, o := range small {
		switch {
		case o.GetKind() == "StatefulSet" && o.GetName() == "nats":
			if r, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); fmt.Sprint(r) != "1" {
				t.Errorf("nats.replicas=1: NATS replicas %v", r)
			}
		case o.GetKind() == "DaemonSet", o.GetKind() == "PodDisruptionBudget" && o.GetName() == "nats":
			t.Errorf("nats.replicas=1, nodeAgent.enabled=false still renders %s %s", o.GetKind(), o.GetName())
		case o.GetKind() == "StatefulSet" && o.GetName() == "vigil-server":
			if !strings.Contains(fmt.Sprint(o.Object), "--stream-replicas=1") {
				t.Error("one NATS node, yet streams asked for more replicas")
			}
		}
	}
	chart, err := os.ReadFile(filepath.Join(filepath.Dir(examplesDir()), "deploy", "helm", "vigil", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"version: " + version.Release, `appVersion: "` + version.Release + `"`} {
		if !strings.Contains(string(chart), "\n"+field+"\n") {
			t.Errorf("Chart.yaml lacks %q: chart and release disagree", field)
		}
	}
}

// TestDeployManifestsAreValid renders the Kustomize base and its overlays,
// submits every object to a real kube-apiserver (server-side dry run,
// strict field validation), and checks that the agents' ClusterRole is
// read-only and never reads Secrets.
func TestDeployManifestsAreValid(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kube-apiserver build")
	}
	objs := render(t, "base")
	if len(objs) < 20 {
		t.Fatalf("only %d objects in deploy/kubernetes", len(objs))
	}
	small := render(t, "overlays/small")
	for _, o := range small {
		if o.GetKind() == "StatefulSet" && o.GetName() == "nats" {
			if r, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); fmt.Sprint(r) != "1" {
				t.Fatalf("small overlay: NATS replicas %v", r)
			}
		}
		if o.GetKind() == "PodDisruptionBudget" && o.GetName() == "nats" {
			t.Fatal("small overlay keeps the NATS disruption budget")
		}
	}
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
		for _, r := range rules {
			rm := r.(map[string]any)
			for _, v := range rm["verbs"].([]any) {
				if !slices.Contains([]string{"get", "list", "watch"}, v.(string)) {
					t.Errorf("ClusterRole %s grants %s", o.GetName(), v)
				}
			}
			for _, res := range rm["resources"].([]any) {
				if res == "secrets" || res == "*" {
					t.Errorf("ClusterRole %s reads %s", o.GetName(), res)
				}
			}
		}
	}

	kc := startCluster(t)
	ctx := context.Background()
	cfg := &rest.Config{Host: kc.url, BearerToken: "admin-token-for-tests", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Namespaces for real, so namespaced objects can be tried in them.
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.GetName(), Labels: o.GetLabels()}}
			if _, err := kc.admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	checked := 0
	chart := append(renderChart(t), renderChart(t, "nats.replicas=1")...)
	for _, o := range append(append(objs, small...), chart...) {
		if o.GetKind() == "Namespace" {
			continue
		}
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: %v", gvk, o.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if ns := o.GetNamespace(); ns != "" {
			ri = dyn.Resource(m.Resource).Namespace(ns)
		} else if m.Scope.Name() == "namespace" {
			t.Errorf("%s %s has no namespace", gvk.Kind, o.GetName())
			continue
		}
		_, err = ri.Create(ctx, o, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Errorf("%s %s/%s: %v", gvk.Kind, o.GetNamespace(), o.GetName(), err)
			continue
		}
		checked++
	}
	t.Logf("%d objects accepted by the API server", checked)
}

// Every PodDisruptionBudget of the base and the overlays lets at least one
// pod of its workload go at a time, so none blocks a node drain (a
// minAvailable of 1 over one replica would).
func TestDisruptionBudgetsAllowADrain(t *testing.T) {
	for rel, objs := range renders(t) {
		budgets := 0
		for _, o := range objs {
			if o.GetKind() != "PodDisruptionBudget" {
				continue
			}
			budgets++
			var pdb policyv1.PodDisruptionBudget
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &pdb); err != nil {
				t.Fatalf("%s: PodDisruptionBudget %s: %v", rel, o.GetName(), err)
			}
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil {
				t.Fatalf("%s: PodDisruptionBudget %s: %v", rel, o.GetName(), err)
			}
			matched := 0
			for _, w := range objs {
				if (w.GetKind() != "StatefulSet" && w.GetKind() != "Deployment") || w.GetNamespace() != o.GetNamespace() {
					continue
				}
				podLabels, _, _ := unstructured.NestedStringMap(w.Object, "spec", "template", "metadata", "labels")
				if !sel.Matches(labels.Set(podLabels)) {
					continue
				}
				matched++
				replicas := int64(1)
				if r, ok, _ := unstructured.NestedInt64(w.Object, "spec", "replicas"); ok {
					replicas = r
				}
				var allowed int
				switch {
				case pdb.Spec.MaxUnavailable != nil:
					allowed, err = intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(replicas), true)
				case pdb.Spec.MinAvailable != nil:
					var min int
					min, err = intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(replicas), true)
					allowed = int(replicas) - min
				}
				if err != nil {
					t.Fatalf("%s: PodDisruptionBudget %s: %v", rel, o.GetName(), err)
				}
				if allowed < 1 {
					t.Errorf("%s: PodDisruptionBudget %s allows %d of %s %s's %d replicas to go: a drain would block", rel, o.GetName(), allowed, w.GetKind(), w.GetName(), replicas)
				}
			}
			if matched == 0 {
				t.Errorf("%s: PodDisruptionBudget %s selects no workload", rel, o.GetName())
			}
		}
		if budgets == 0 {
			t.Errorf("%s: no PodDisruptionBudget", rel)
		}
	}
}

// The manifests run the images of this source tree's release: the tag of
// every Vigil image is pkg/version's Release.
func TestDeployImagesAreTheRelease(t *testing.T) {
	for rel, objs := range renders(t) {
		images := 0
		for _, o := range objs {
			containers, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template", "spec", "containers")
			inits, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template", "spec", "initContainers")
			cs, _ := containers.([]any)
			is, _ := inits.([]any)
			for _, c := range append(cs, is...) {
				image, _ := c.(map[string]any)["image"].(string)
				if !strings.HasPrefix(image, "ghcr.io/vigilsec/") {
					continue
				}
				images++
				if _, tag, _ := strings.Cut(strings.TrimPrefix(image, "ghcr.io/vigilsec/"), ":"); tag != version.Release {
					t.Errorf("%s: %s %s runs %s, the release is %s", rel, o.GetKind(), o.GetName(), image, version.Release)
				}
			}
		}
		if images == 0 {
			t.Errorf("%s: no Vigil image", rel)
		}
	}
}
