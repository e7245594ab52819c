// Package cloudformation reads CloudFormation templates (YAML with the
// short intrinsic tags, or JSON) and maps their resources to the
// normalised cloud model.
//
// Intrinsic functions are resolved where the template itself decides the
// value: Ref to a parameter's default, Fn::Sub, Fn::Join, Fn::If with a
// condition that can be evaluated, Fn::FindInMap, Fn::Select, Fn::Split.
// Ref to a resource is its logical id; Fn::GetAtt is "id.Attribute". The
// rest is cloud.Unknown.
package cloudformation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// Resource is one resource of a template, its properties resolved.
type Resource struct {
	ID, Type   string
	Line       int
	Properties cloud.Attrs
	// Lines are the lines of its properties and of theirs
	// ("BucketEncryption", "BucketEncryption.ServerSideEncryptionConfiguration").
	Lines cloud.SourceLines
}

// Template is a parsed template.
type Template struct {
	Resources []*Resource
}

// IsTemplate reports whether data looks like a CloudFormation template:
// a format version, or resources typed AWS::… or Alexa::…
func IsTemplate(data []byte) bool {
	return bytes.Contains(data, []byte("AWSTemplateFormatVersion")) ||
		(bytes.Contains(data, []byte("Resources")) && (bytes.Contains(data, []byte("AWS::")) || bytes.Contains(data, []byte("Alexa::"))))
}

// maxDepth bounds nesting in a template; maxNodes bounds the values a
// template expands to, aliases included (a "billion laughs" document).
const (
	maxDepth = 64
	maxNodes = 1 << 20
)

// Parse reads a template. YAML short tags (!Ref, !Sub, …) become their
// long form before resolution.
func Parse(path string, data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: empty template", path)
	}
	budget := maxNodes
	doc, err := decode(root.Content[0], 0, &budget)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: the template is not a mapping", path)
	}
	r := &resolver{params: map[string]any{}, conditions: map[string]any{}}
	if ps, ok := top["Parameters"].(map[string]any); ok {
		for name, p := range ps {
			r.params[name] = cloud.Unknown{}
			if pm, ok := p.(map[string]any); ok {
				if d, ok := pm["Default"]; ok {
					r.params[name] = d
				}
			}
		}
	}
	r.mappings, _ = top["Mappings"].(map[string]any)
	r.conditions, _ = top["Conditions"].(map[string]any)
	resources, _ := top["Resources"].(map[string]any)
	if resources == nil {
		return nil, fmt.Errorf("%s: no Resources section", path)
	}
	r.resources = resources
	lines, propLines := resourceLines(root.Content[0])
	tmpl := &Template{}
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m, ok := resources[id].(map[string]any)
		if !ok {
			continue
		}
		typ, _ := m["Type"].(string)
		props, _ := r.resolve(m["Properties"], 0).(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		if g, ok := samGlobals(top)[strings.TrimPrefix(typ, "AWS::Serverless::")]; ok && strings.HasPrefix(typ, "AWS::Serverless::") {
			inherit(props, r.resolve(g, 0))
		}
		tmpl.Resources = append(tmpl.Resources, &Resource{ID: id, Type: typ, Line: lines[id], Properties: props, Lines: propLines[id]})
	}
	return tmpl, nil
}

// samGlobals returns the Globals section of a SAM template: settings
// every AWS::Serverless resource of a type (Function, Api, HttpApi,
// SimpleTable) inherits unless it sets them itself.
func samGlobals(top map[string]any) map[string]any {
	g, _ := top["Globals"].(map[string]any)
	return g
}

// inherit copies into props the global settings it does not set, merging
// maps key by key as SAM does (a function's own Environment variables
// override the global ones of the same name).
func inherit(props map[string]any, global any) {
	gm, ok := global.(map[string]any)
	if !ok {
		return
	}
	for k, gv := range gm {
		own, set := props[k]
		if !set {
			props[k] = gv
			continue
		}
		om, ok1 := own.(map[string]any)
		if _, ok2 := gv.(map[string]any); ok1 && ok2 {
			inherit(om, gv)
		}
	}
}

// resourceLines finds the line of each resource's logical id, and of its
// properties and their own keys.
func resourceLines(top *yaml.Node) (map[string]int, map[string]cloud.SourceLines) {
	out, props := map[string]int{}, map[string]cloud.SourceLines{}
	if top.Kind != yaml.MappingNode {
		return out, props
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "Resources" || top.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		res := top.Content[i+1]
		for j := 0; j+1 < len(res.Content); j += 2 {
			id := res.Content[j].Value
			out[id] = res.Content[j].Line
			props[id] = propertyLines(res.Content[j+1])
		}
	}
	return out, props
}

// propertyLines are the lines of a resource's properties, two levels deep.
func propertyLines(res *yaml.Node) cloud.SourceLines {
	out := cloud.SourceLines{}
	p := mapValue(res, "Properties")
	if p == nil {
		return out
	}
	for i := 0; i+1 < len(p.Content); i += 2 {
		name := p.Content[i].Value
		out[name] = p.Content[i].Line
		if v := p.Content[i+1]; v.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(v.Content); j += 2 {
				out[name+"."+v.Content[j].Value] = v.Content[j].Line
			}
		}
	}
	return out
}

// mapValue is the value of key in a mapping node, nil when absent.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// decode turns a YAML node into Go values, short tags into long forms.
func decode(n *yaml.Node, depth int, budget *int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested more than %d levels", n.Line, maxDepth)
	}
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("line %d: the template expands to more than %d values", n.Line, maxNodes)
	}
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return decode(n.Alias, depth+1, budget)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			x, err := decode(n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = x
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			x, err := decode(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			l = append(l, x)
		}
		v = l
	case yaml.ScalarNode:
		v = scalar(n)
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return decode(n.Content[0], depth+1, budget)
		}
	}
	if tag := n.Tag; strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		name := tag[1:]
		switch name {
		case "Ref", "Condition":
			return map[string]any{name: v}, nil
		case "GetAtt":
			if s, ok := v.(string); ok {
				id, attr, _ := strings.Cut(s, ".")
				v = []any{id, attr}
			}
		}
		return map[string]any{"Fn::" + name: v}, nil
	}
	return v, nil
}

func scalar(n *yaml.Node) any {
	switch n.Tag {
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!null":
		return nil
	}
	return n.Value
}

type resolver struct {
	params, mappings, conditions, resources map[string]any
}

var pseudo = map[string]any{"AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
	"AWS::AccountId": cloud.Unknown{}, "AWS::StackName": cloud.Unknown{}, "AWS::StackId": cloud.Unknown{},
	"AWS::NoValue": nil, "AWS::NotificationARNs": cloud.Unknown{}}

// resolve evaluates intrinsic functions in v.
func (r *resolver) resolve(v any, depth int) any {
	if depth > maxDepth {
		return cloud.Unknown{}
	}
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			x = r.resolve(x, depth+1)
			if x != nil { // AWS::NoValue removes the element
				out = append(out, x)
			}
		}
		return out
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg, depth)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			x = r.resolve(x, depth+1)
			if x != nil {
				out[k] = x
			}
		}
		return out
	}
	return v
}

// intrinsics are the intrinsic functions the resolver evaluates, by name.
// Each returns cloud.Unknown{} for what it cannot resolve.
var intrinsics map[string]func(r *resolver, arg any, depth int) any

func init() {
	condition := func(fn string) func(*resolver, any, int) any {
		return func(r *resolver, arg any, depth int) any {
			if b, ok := r.evalCondition(map[string]any{fn: arg}, depth); ok {
				return b
			}
			return cloud.Unknown{}
		}
	}
	intrinsics = map[string]func(*resolver, any, int) any{
		"Ref":           (*resolver).ref,
		"Fn::GetAtt":    (*resolver).getAtt,
		"Fn::Sub":       (*resolver).sub,
		"Fn::Join":      (*resolver).join,
		"Fn::If":        (*resolver).ifThen,
		"Fn::Select":    (*resolver).selectItem,
		"Fn::Split":     (*resolver).split,
		"Fn::FindInMap": (*resolver).findInMap,
		// Kept decoded: checks read the text.
		"Fn::Base64": func(r *resolver, arg any, depth int) any { return r.resolve(arg, depth+1) },
	}
	for _, fn := range []string{"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"} {
		intrinsics[fn] = condition(fn)
	}
}

func (r *resolver) intrinsic(fn string, arg any, depth int) any {
	if f, ok := intrinsics[fn]; ok {
		return f(r, arg, depth)
	}
	return cloud.Unknown{}
}

// pair is the two elements of a two-element list argument.
func pair(arg any) (any, any, bool) {
	l, _ := arg.([]any)
	if len(l) != 2 {
		return nil, nil, false
	}
	return l[0], l[1], true
}

// ref is a parameter's value, a pseudo parameter's, or a resource's
// logical id standing for its id.
func (r *resolver) ref(arg any, depth int) any {
	name, _ := arg.(string)
	if p, ok := r.params[name]; ok {
		return r.resolve(p, depth+1)
	}
	if p, ok := pseudo[name]; ok {
		return p
	}
	if _, ok := r.resources[name]; ok {
		return name
	}
	return cloud.Unknown{}
}

func (r *resolver) getAtt(arg any, depth int) any {
	a, b, ok := pair(arg)
	if !ok {
		return cloud.Unknown{}
	}
	id, _ := a.(string)
	attr, _ := r.resolve(b, depth+1).(string)
	return id + "." + attr
}

func (r *resolver) join(arg any, depth int) any {
	a, b, ok := pair(arg)
	if !ok {
		return cloud.Unknown{}
	}
	sep, ok := a.(string)
	items, ok2 := r.resolve(b, depth+1).([]any)
	if !ok || !ok2 {
		return cloud.Unknown{}
	}
	parts := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return cloud.Unknown{}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, sep)
}

func (r *resolver) ifThen(arg any, depth int) any {
	l, _ := arg.([]any)
	if len(l) != 3 {
		return cloud.Unknown{}
	}
	name, _ := l[0].(string)
	switch r.condition(name, depth) {
	case true:
		return r.resolve(l[1], depth+1)
	case false:
		return r.resolve(l[2], depth+1)
	}
	return cloud.Unknown{}
}

func (r *resolver) selectItem(arg any, depth int) any {
	a, b, ok := pair(arg)
	if !ok {
		return cloud.Unknown{}
	}
	i, ok := toInt(r.resolve(a, depth+1))
	items, ok2 := r.resolve(b, depth+1).([]any)
	if ok && ok2 && i >= 0 && i < len(items) {
		return items[i]
	}
	return cloud.Unknown{}
}

func (r *resolver) split(arg any, depth int) any {
	a, b, ok := pair(arg)
	if !ok {
		return cloud.Unknown{}
	}
	sep, ok := a.(string)
	s, ok2 := r.resolve(b, depth+1).(string)
	if !ok || !ok2 || sep == "" {
		return cloud.Unknown{}
	}
	var out []any
	for _, p := range strings.Split(s, sep) {
		out = append(out, p)
	}
	return out
}

func (r *resolver) findInMap(arg any, depth int) any {
	l, _ := arg.([]any)
	if len(l) < 3 || r.mappings == nil {
		return cloud.Unknown{}
	}
	cur := any(r.mappings)
	for _, k := range l[:3] {
		key, ok := r.resolve(k, depth+1).(string)
		m, ok2 := cur.(map[string]any)
		if !ok || !ok2 {
			return cloud.Unknown{}
		}
		cur = m[key]
	}
	if cur == nil {
		return cloud.Unknown{}
	}
	return cur
}

// sub substitutes ${Name} and ${Resource.Attr} in a Fn::Sub string.
func (r *resolver) sub(arg any, depth int) any {
	var s string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		s = a
	case []any:
		if len(a) == 0 {
			return cloud.Unknown{}
		}
		s, _ = a[0].(string)
		if len(a) > 1 {
			if m, ok := a[1].(map[string]any); ok {
				for k, x := range m {
					vars[k] = r.resolve(x, depth+1)
				}
			}
		}
	default:
		return cloud.Unknown{}
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		s = s[i+j+1:]
		if strings.HasPrefix(name, "!") { // ${!Literal}
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		v, ok := vars[name]
		if !ok {
			if strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::") {
				v = name
			} else {
				v = r.intrinsic("Ref", name, depth+1)
			}
		}
		str, isStr := v.(string)
		if !isStr {
			if n, isNum := v.(int64); isNum {
				str = strconv.FormatInt(n, 10)
			} else {
				return cloud.Unknown{}
			}
		}
		b.WriteString(str)
	}
	return b.String()
}

// condition evaluates a named condition: true, false or nil (unknown).
func (r *resolver) condition(name string, depth int) any {
	c, ok := r.conditions[name]
	if !ok || depth > maxDepth {
		return nil
	}
	if b, ok := r.evalCondition(c, depth+1); ok {
		return b
	}
	return nil
}

func (r *resolver) evalCondition(c any, depth int) (bool, bool) {
	m, ok := c.(map[string]any)
	if !ok || len(m) != 1 || depth > maxDepth {
		return false, false
	}
	for fn, arg := range m {
		l, _ := arg.([]any)
		switch fn {
		case "Fn::Equals":
			if len(l) != 2 {
				return false, false
			}
			a, b := r.resolve(l[0], depth+1), r.resolve(l[1], depth+1)
			if _, u := a.(cloud.Unknown); u {
				return false, false
			}
			if _, u := b.(cloud.Unknown); u {
				return false, false
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			return string(ja) == string(jb), true
		case "Fn::Not":
			if len(l) != 1 {
				return false, false
			}
			b, ok := r.evalCondition(l[0], depth+1)
			return !b, ok
		case "Fn::And", "Fn::Or":
			all, any := true, false
			for _, x := range l {
				b, ok := r.evalCondition(x, depth+1)
				if !ok {
					return false, false
				}
				all, any = all && b, any || b
			}
			if fn == "Fn::And" {
				return all, true
			}
			return any, true
		case "Condition":
			name, _ := arg.(string)
			b, ok := r.condition(name, depth+1).(bool)
			return b, ok
		}
	}
	return false, false
}

func toInt(v any) (int, bool) {
	switch v := v.(type) {
	case int64:
		return int(v), true
	case string:
		i, err := strconv.Atoi(v)
		return i, err == nil
	}
	return 0, false
}
