// Package cluster scans Kubernetes: manifests on disk today, the live API and
// control-plane configuration as they land.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// MaxManifestSize bounds the size of one manifest file.
const MaxManifestSize = 16 << 20

// Manifests evaluates the "kubernetes" checks of a catalog over YAML and
// JSON manifests: multi-document files, List kinds and every pod-bearing kind.
type Manifests struct {
	Checks []*checks.Check
	// usesPSS is set when a check reads the Pod Security Standards level,
	// which costs a PodSpec decode per workload.
	usesPSS bool
	folds   checks.Folds
}

// NewManifests returns a manifest scanner using the catalog's Kubernetes checks.
func NewManifests(cat *checks.Catalog) *Manifests {
	m := &Manifests{Checks: cat.ForInput("kubernetes")}
	m.folds = checks.FoldsOf(m.Checks)
	for _, c := range m.Checks {
		m.usesPSS = m.usesPSS || c.Each == "pod" && strings.Contains(c.Field+" "+strings.Join(c.Tags, " "), "pss")
	}
	return m
}

// Name is the scanner name used in scopes.
func (m *Manifests) Name() string { return "kubernetes" }

// Describe declares the analyzer: version 1 is its first declared version.
func (m *Manifests) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: m.Name(), Version: 1, Reads: []string{pipeline.File, pipeline.KubeObject}}
}

// Match selects YAML and JSON files.
func (m *Manifests) Match(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// object is one Kubernetes object with its YAML node for line lookups.
type object struct {
	obj  map[string]any
	node *yaml.Node
}

// ScanFile scans one manifest file. Documents that are not Kubernetes
// objects are skipped; a syntax error stops the file and is returned along
// with the findings of the documents before it.
func (m *Manifests) ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	if len(data) > MaxManifestSize {
		return nil, pipeline.NotAssessed(pipeline.TooLarge, fmt.Errorf("%s: manifest is %d bytes, over the %d byte limit", path, len(data), MaxManifestSize))
	}
	data, _ = pipeline.Lenient(data)
	if plainJSONNotObject(data) {
		return nil, nil
	}
	return m.scanDocuments(ctx, path, data, tenant)
}

// scanDocuments scans each YAML document of a manifest file.
func (m *Manifests) scanDocuments(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	lines := bytes.Split(data, []byte("\n"))
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*vigilv1.Finding
	var evalErrs []error
	for doc := 1; ; doc++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, errors.Join(append(evalErrs, pipeline.NotAssessed(pipeline.ParseError, fmt.Errorf("%s: document %d: %w", path, doc, err)))...)
		}
		if !mayBeObject(&node) {
			continue
		}
		var raw any
		if err := node.Decode(&raw); err != nil {
			return out, errors.Join(append(evalErrs, pipeline.NotAssessed(pipeline.ParseError, fmt.Errorf("%s: document %d: %w", path, doc, err)))...)
		}
		for _, o := range expand(normalize(raw), &node) {
			fs, errs := m.scanObject(ctx, located{object: o, path: path, lines: lines}, tenant)
			out = append(out, fs...)
			evalErrs = append(evalErrs, errs...)
		}
	}
	return out, errors.Join(evalErrs...)
}

// expand returns the Kubernetes objects of a document: the document itself,
// or the items of a List. Documents without apiVersion and kind are skipped.
func expand(v any, node *yaml.Node) []object {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	kind, _ := obj["kind"].(string)
	api, _ := obj["apiVersion"].(string)
	if kind == "" || api == "" {
		return nil
	}
	items, isList := obj["items"].([]any)
	if !isList || !strings.HasSuffix(kind, "List") {
		return []object{{obj: obj, node: node}}
	}
	itemsNode := childNode(node, "items")
	var out []object
	for i, it := range items {
		var n *yaml.Node
		if itemsNode != nil && i < len(itemsNode.Content) {
			n = itemsNode.Content[i]
		}
		out = append(out, expand(it, n)...)
	}
	return out
}

func childNode(n *yaml.Node, key string) *yaml.Node {
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].Value == key {
			return n.Content[k+1]
		}
	}
	return nil
}

// element is one expansion of a check's iterator.
type element struct {
	vars map[string]any
	path string // field path from the object root, with indexes
	key  string // stable key, with names instead of indexes
	// flagPaths locates command-line flags of a container.
	flagPaths map[string]string
}

// fieldPath resolves a check's field against an element.
func (el element) fieldPath(field string) string {
	name, isFlag := strings.CutPrefix(field, "flag:")
	if !isFlag {
		return joinPath(el.path, field)
	}
	if p, ok := el.flagPaths[name]; ok {
		return p
	}
	return joinPath(el.path, "command")
}

func (m *Manifests) scanObject(ctx context.Context, lo located, tenant string) ([]*vigilv1.Finding, []error) {
	o, path, lines := lo.object, lo.path, lo.lines
	kind, _ := o.obj["kind"].(string)
	meta, _ := o.obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		name, _ = meta["generateName"].(string)
	}
	ns, _ := meta["namespace"].(string)
	res := &vigilv1.Resource{Tenant: tenant, Provider: "kubernetes", Account: lo.account, Namespace: ns, Kind: kind, Name: name, Uri: lo.uri}

	spec, podMeta, specPath := podSpec(o.obj, kind)
	workload := spec != nil
	pod := podOf(o.obj, kind, spec)
	annotations, _ := meta["annotations"].(map[string]any)
	if workload {
		annotations, _ = podMeta["annotations"].(map[string]any)
	}
	if annotations == nil {
		annotations = map[string]any{}
	}
	// Variables left unset read as null (see checks.activation).
	base := map[string]any{"obj": o.obj, "kind": kind, "annotations": annotations}
	if workload {
		base["pod"] = spec
		if m.usesPSS {
			base["pss"] = pssModel(spec, podMeta)
		}
	}
	if k, ok := kubeletModel(o.obj, kind); ok {
		base["kubelet"] = k
	}

	var out []*vigilv1.Finding
	var errs []error
	exempt, err := exemptionsOf(o.obj, kind+" "+qualified(ns, name), time.Now())
	if err != nil {
		errs = append(errs, pipeline.AsNotice(fmt.Errorf("%s: %w", path, err)))
	}
	cache := map[string][]element{}
	var elems []string // the element of each finding, for Fold
	for _, c := range m.Checks {
		if IsSetIterator(c.Each) || !c.AppliesTo(kind, pod) {
			continue
		}
		els, ok := cache[c.Each]
		if !ok {
			els = iterate(c.Each, base, o.obj, spec, specPath)
			cache[c.Each] = els
		}
		for _, el := range els {
			fails, err := c.Fails(el.vars)
			if err != nil {
				errs = append(errs, &pipeline.CheckError{Check: c.ID, Err: fmt.Errorf("%s: %s %s: %w", path, kind, name, err)})
				continue
			}
			if !fails {
				continue
			}
			line := lineOf(o.node, el.fieldPath(c.Field))
			if l := narrow(c, el, o.node); l > 0 {
				line = l // the entry of the list or map that fails the check
			}
			f := c.NewFinding(c.Message(el.vars), finding.Site{
				Scanner:  m.Name(),
				Resource: res,
				Location: &vigilv1.Location{Path: path, StartLine: int32(line), EndLine: int32(line), Snippet: finding.Snippet(lines, line)},
				Path:     path,
				Key:      joinPath(el.key, c.Field),
			})
			for _, v := range c.Secrets(el.vars) {
				pipeline.NoteSecretOf(ctx, f, v, "")
			}
			exempt.apply(f)
			out = append(out, f)
			elems = append(elems, c.Each+":"+el.key)
		}
	}
	return m.folds.Fold(out, elems), errs
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// iterate expands a check iterator over an object.
func iterate(each string, base, obj, spec map[string]any, specPath string) []element {
	with := func(k string, v any) map[string]any {
		vars := make(map[string]any, len(base))
		for bk, bv := range base {
			vars[bk] = bv
		}
		vars[k] = v
		return vars
	}
	var out []element
	switch each {
	case "":
		out = append(out, element{vars: base})
	case "pod":
		if spec != nil {
			out = append(out, element{vars: base, path: specPath, key: specPath})
		}
	case "container":
		if spec == nil {
			return nil
		}
		for _, group := range []string{"initContainers", "containers", "ephemeralContainers"} {
			list, _ := spec[group].([]any)
			for i, c := range list {
				cm, ok := c.(map[string]any)
				if !ok {
					continue
				}
				name, _ := cm["name"].(string)
				p := fmt.Sprintf("%s.%s[%d]", specPath, group, i)
				cl := parseCommandLine(cm, p)
				vars := with("container", cm)
				vars["component"], vars["flags"] = cl.component, cl.flags
				out = append(out, element{vars: vars, path: p, key: fmt.Sprintf("%s.%s[%q]", specPath, group, name), flagPaths: cl.paths})
			}
		}
	case "volume":
		if spec == nil {
			return nil
		}
		list, _ := spec["volumes"].([]any)
		for i, v := range list {
			vm, ok := v.(map[string]any)
			if !ok {
				continue
			}
			name, _ := vm["name"].(string)
			out = append(out, element{vars: with("volume", vm), path: fmt.Sprintf("%s.volumes[%d]", specPath, i), key: fmt.Sprintf("%s.volumes[%q]", specPath, name)})
		}
	case "rule", "subject", "port":
		if each == "rule" && bootstrapPolicy(obj) {
			// The API server owns its bootstrap roles and reconciles them
			// at every start; their rules are not the cluster's choice.
			return nil
		}
		field, keyOf := map[string]string{"rule": "rules", "subject": "subjects", "port": "spec.ports"}[each], stableKey(each)
		list, _ := lookup(obj, field).([]any)
		for i, v := range list {
			vm, ok := v.(map[string]any)
			if !ok {
				continue
			}
			out = append(out, element{vars: with(each, vm), path: fmt.Sprintf("%s[%d]", field, i), key: fmt.Sprintf("%s[%s]", field, keyOf(i, vm))})
		}
	}
	return out
}

// stableKey names a list element by content where it has a natural name, so
// reordering a list does not change fingerprints.
func stableKey(each string) func(int, map[string]any) string {
	return func(i int, m map[string]any) string {
		switch each {
		case "subject":
			k, _ := m["kind"].(string)
			n, _ := m["name"].(string)
			ns, _ := m["namespace"].(string)
			return strconv.Quote(k + "/" + ns + "/" + n)
		case "port":
			if n, ok := m["name"].(string); ok && n != "" {
				return strconv.Quote(n)
			}
			return strconv.Quote(fmt.Sprint(m["port"]))
		}
		return strconv.Itoa(i)
	}
}

func lookup(m map[string]any, dotted string) any {
	var cur any = m
	for _, k := range strings.Split(dotted, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// normalize turns YAML decoding results into JSON-like values CEL reads:
// maps with string keys, slices of any, int64 and float64 numbers.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	case int:
		return int64(t)
	case uint64:
		return int64(t)
	default:
		return v
	}
}

// bootstrapPolicy reports whether an RBAC object belongs to the API
// server's bootstrap policy (cluster-admin, system:* roles).
func bootstrapPolicy(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	return labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
}
