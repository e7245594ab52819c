package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// Set iterators evaluate checks that need several objects at once; the
// per-file scan skips them and ScanSet runs them over every manifest of a
// target:
//
//	binding    each RoleBinding and ClusterRoleBinding; role is the Role or
//	           ClusterRole it refers to when the target has it, else null
//	isolation  each workload; selected_by lists the NetworkPolicies (and
//	           Cilium policies) of its namespace whose selector matches its
//	           pods
//	namespace  each Namespace; policies lists the NetworkPolicies in it
var setIterators = map[string]bool{"binding": true, "isolation": true, "namespace": true}

// IsSetIterator reports whether an iterator needs the whole set of objects.
func IsSetIterator(each string) bool { return setIterators[each] }

type located struct {
	object
	path  string
	lines [][]byte
	// account and uri identify objects read from a live cluster.
	account, uri string
	// context marks objects read only for what others refer to: they are
	// neither judged nor units (a namespace's scan reads cluster roles).
	context bool
}

// ScanSet evaluates the set-level checks over all manifests of a target.
// Files that do not parse were reported by ScanFile and are skipped here.
func (m *Manifests) ScanSet(ctx context.Context, files []pipeline.Content, tenant string) ([]*vigilv1.Finding, error) {
	setChecks := m.setChecks()
	if len(setChecks) == 0 {
		return nil, nil
	}
	var objs []located
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := f.Bytes()
		if err != nil || len(data) > MaxManifestSize {
			continue // reported by the file scan
		}
		data, _ = pipeline.Lenient(data)
		if plainJSONNotObject(data) {
			continue
		}
		lines := bytes.Split(data, []byte("\n"))
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var node yaml.Node
			if err := dec.Decode(&node); err != nil {
				break // io.EOF, or an error ScanFile already reported
			}
			if !mayBeObject(&node) {
				continue
			}
			var raw any
			if node.Decode(&raw) != nil {
				break
			}
			for _, o := range expand(normalize(raw), &node) {
				// Only what set checks read is kept: large ConfigMaps and
				// the like would hold memory for nothing.
				if setKind(o.obj) {
					objs = append(objs, located{object: o, path: f.Path, lines: lines})
				}
			}
		}
	}
	return m.scanSetObjects(objs, setChecks, tenant)
}

// setKind reports whether a set iterator reads objects of obj's kind:
// RBAC, network policies, namespaces and workloads.
func setKind(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	switch kind {
	case "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "NetworkPolicy",
		"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "Namespace", "ResourceQuota", "LimitRange":
		return true
	}
	spec, _, _ := podSpec(obj, kind)
	return spec != nil
}

func (m *Manifests) setChecks() []*checks.Check {
	var out []*checks.Check
	for _, c := range m.Checks {
		if IsSetIterator(c.Each) {
			out = append(out, c)
		}
	}
	return out
}

// scanSetObjects evaluates set-level checks over objects already parsed.
func (m *Manifests) scanSetObjects(objs []located, setChecks []*checks.Check, tenant string) ([]*vigilv1.Finding, error) {
	ix := newSetIndex(objs)
	var out []*vigilv1.Finding
	var errs []error
	// Annotation errors were reported by the per-object scan.
	exempt := map[string]exemptions{}
	now := time.Now()
	for _, c := range setChecks {
		for _, el := range ix.elements(c.Each) {
			if !c.AppliesTo(el.kind, el.pod) {
				continue
			}
			fails, err := c.Fails(el.vars)
			if err != nil {
				errs = append(errs, pipeline.InUnit(el.obj.path, &pipeline.CheckError{Check: c.ID, Err: fmt.Errorf("%s: %w", el.obj.path, err)}))
				continue
			}
			if !fails {
				continue
			}
			line := lineOf(el.obj.node, joinPath(el.path, c.Field))
			res := resourceOf(el.obj.obj, tenant)
			res.Account, res.Uri = el.obj.account, el.obj.uri
			f := c.NewFinding(c.Message(el.vars), finding.Site{
				Scanner:  m.Name(),
				Resource: res,
				Location: &vigilv1.Location{Path: el.obj.path, StartLine: int32(line), EndLine: int32(line), Snippet: finding.Snippet(el.obj.lines, line)},
				Path:     el.obj.path,
				Key:      joinPath(el.path, c.Field),
			})
			key := el.obj.path + "\x00" + el.obj.uri + "\x00" + res.Kind + "\x00" + res.Namespace + "\x00" + res.Name
			ex, ok := exempt[key]
			if !ok {
				ex, _ = exemptionsOf(el.obj.obj, res.Kind+" "+qualified(res.Namespace, res.Name), now)
				exempt[key] = ex
			}
			ex.apply(f)
			out = append(out, f)
		}
	}
	return out, errors.Join(errs...)
}

func resourceOf(obj map[string]any, tenant string) *vigilv1.Resource {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		name, _ = meta["generateName"].(string)
	}
	ns, _ := meta["namespace"].(string)
	return &vigilv1.Resource{Tenant: tenant, Provider: "kubernetes", Namespace: ns, Kind: kind, Name: name}
}

type setElement struct {
	obj  located
	kind string
	pod  checks.Pod
	vars map[string]any
	path string
}

type setIndex struct {
	objs []located
	// roles by "Kind/namespace/name" (ClusterRoles with an empty namespace).
	roles map[string]map[string]any
	// policies by namespace; clusterPolicies apply to every namespace.
	policies        map[string][]policy
	clusterPolicies []policy
	// quotas and limitRanges are the names of each namespace's
	// ResourceQuotas and LimitRanges.
	quotas, limitRanges map[string][]string
}

type policy struct {
	name     string
	selector labels.Selector
}

// namespaceOf returns an object's namespace, "default" when unset: that
// is where kubectl applies a manifest without one.
func namespaceOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns
	}
	return "default"
}

func nameOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	n, _ := meta["name"].(string)
	return n
}

func newSetIndex(objs []located) *setIndex {
	ix := &setIndex{objs: objs, roles: map[string]map[string]any{}, policies: map[string][]policy{},
		quotas: map[string][]string{}, limitRanges: map[string][]string{}}
	for _, o := range objs {
		kind, _ := o.obj["kind"].(string)
		switch kind {
		case "Role":
			ix.roles["Role/"+namespaceOf(o.obj)+"/"+nameOf(o.obj)] = o.obj
		case "ClusterRole":
			ix.roles["ClusterRole//"+nameOf(o.obj)] = o.obj
		case "ResourceQuota":
			ix.quotas[namespaceOf(o.obj)] = append(ix.quotas[namespaceOf(o.obj)], nameOf(o.obj))
		case "LimitRange":
			ix.limitRanges[namespaceOf(o.obj)] = append(ix.limitRanges[namespaceOf(o.obj)], nameOf(o.obj))
		case "NetworkPolicy":
			if sel, ok := selectorAt(o.obj, "spec", "podSelector"); ok {
				ix.policies[namespaceOf(o.obj)] = append(ix.policies[namespaceOf(o.obj)], policy{nameOf(o.obj), sel})
			}
		case "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy":
			for _, sel := range ciliumSelectors(o.obj) {
				p := policy{nameOf(o.obj), sel}
				if kind == "CiliumNetworkPolicy" {
					ix.policies[namespaceOf(o.obj)] = append(ix.policies[namespaceOf(o.obj)], p)
				} else {
					ix.clusterPolicies = append(ix.clusterPolicies, p)
				}
			}
		}
	}
	return ix
}

// selectorAt converts the label selector at a path; an empty selector
// selects everything, a missing one nothing.
func selectorAt(obj map[string]any, keys ...string) (labels.Selector, bool) {
	cur, ok := lookupPath(obj, keys...)
	if !ok {
		return nil, false
	}
	if cur == nil {
		return labels.Everything(), true
	}
	return toSelector(cur)
}

func toSelector(v any) (labels.Selector, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var ls metav1.LabelSelector
	if err := json.Unmarshal(b, &ls); err != nil {
		return nil, false
	}
	// Cilium selectors name labels with a source prefix (k8s:, any:).
	strip := func(k string) string {
		for _, p := range []string{"k8s:", "any:"} {
			k = strings.TrimPrefix(k, p)
		}
		return k
	}
	ml := map[string]string{}
	for k, v := range ls.MatchLabels {
		ml[strip(k)] = v
	}
	ls.MatchLabels = ml
	for i := range ls.MatchExpressions {
		ls.MatchExpressions[i].Key = strip(ls.MatchExpressions[i].Key)
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return nil, false
	}
	return sel, true
}

// ciliumSelectors returns the endpoint selectors of a Cilium policy, from
// spec and from each entry of specs.
func ciliumSelectors(obj map[string]any) []labels.Selector {
	var specs []any
	if s, ok := obj["spec"]; ok {
		specs = append(specs, s)
	}
	if list, ok := obj["specs"].([]any); ok {
		specs = append(specs, list...)
	}
	var out []labels.Selector
	for _, s := range specs {
		m, ok := s.(map[string]any)
		if !ok {
			continue
		}
		if es, ok := m["endpointSelector"]; ok {
			if es == nil {
				out = append(out, labels.Everything())
			} else if sel, ok := toSelector(es); ok {
				out = append(out, sel)
			}
		}
	}
	return out
}

func (ix *setIndex) elements(each string) []setElement {
	var out []setElement
	base := func(o located) map[string]any {
		kind, _ := o.obj["kind"].(string)
		// Variables left unset read as null (see checks.activation).
		return map[string]any{"obj": o.obj, "kind": kind, "annotations": map[string]any{}}
	}
	for _, o := range ix.objs {
		kind, _ := o.obj["kind"].(string)
		switch each {
		case "binding":
			if kind != "RoleBinding" && kind != "ClusterRoleBinding" {
				continue
			}
			vars := base(o)
			ref, _ := o.obj["roleRef"].(map[string]any)
			refKind, _ := ref["kind"].(string)
			refName, _ := ref["name"].(string)
			ns := ""
			if refKind == "Role" {
				ns = namespaceOf(o.obj)
			}
			if role, ok := ix.roles[refKind+"/"+ns+"/"+refName]; ok {
				vars["role"] = role
			}
			out = append(out, setElement{obj: o, kind: kind, vars: vars, path: ""})
		case "isolation":
			spec, meta, specPath := podSpec(o.obj, kind)
			if spec == nil {
				continue
			}
			vars := base(o)
			vars["pod"] = spec
			podLabels := labels.Set{}
			if l, ok := meta["labels"].(map[string]any); ok {
				for k, v := range l {
					podLabels[k] = fmt.Sprint(v)
				}
			}
			var selected []any
			for _, p := range append(append([]policy(nil), ix.policies[namespaceOf(o.obj)]...), ix.clusterPolicies...) {
				if p.selector.Matches(podLabels) {
					selected = append(selected, p.name)
				}
			}
			if selected == nil {
				selected = []any{}
			}
			vars["selected_by"] = selected
			metaPath := "" // a Pod's labels are its own; a template's are beside its spec
			if kind != "Pod" {
				metaPath = strings.TrimSuffix(specPath, ".spec")
			}
			out = append(out, setElement{obj: o, kind: kind, pod: podOf(o.obj, kind, spec), vars: vars, path: metaPath})
		case "namespace":
			if kind != "Namespace" {
				continue
			}
			vars := base(o)
			var names []string
			for _, p := range ix.policies[nameOf(o.obj)] {
				names = append(names, p.name)
			}
			sort.Strings(names)
			pol := []any{}
			for _, n := range names {
				pol = append(pol, n)
			}
			vars["policies"] = pol
			vars["quotas"] = sortedNames(ix.quotas[nameOf(o.obj)])
			vars["limit_ranges"] = sortedNames(ix.limitRanges[nameOf(o.obj)])
			out = append(out, setElement{obj: o, kind: kind, vars: vars, path: ""})
		}
	}
	return out
}

// sortedNames returns names sorted, as CEL list values.
func sortedNames(names []string) []any {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	out := make([]any, len(sorted))
	for i, n := range sorted {
		out[i] = n
	}
	return out
}
