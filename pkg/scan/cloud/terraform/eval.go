package terraform

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// metaAttrs are arguments of Terraform itself, not of the resource.
var metaAttrs = map[string]bool{"count": true, "for_each": true, "depends_on": true, "provider": true}

// metaBlocks are nested blocks of Terraform itself.
var metaBlocks = map[string]bool{"lifecycle": true, "provisioner": true, "connection": true, "precondition": true, "postcondition": true}

type evaluator struct {
	vars map[string]cty.Value
	// left is how many more blocks the evaluator may expand: count,
	// for_each and dynamic blocks multiply, and a module must not make a
	// scan run out of memory.
	left int
}

// maxBlocks bounds the blocks one module evaluation expands to.
const maxBlocks = 200000

func newEval(dir string) *evaluator {
	return &evaluator{vars: map[string]cty.Value{
		"path":      cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(dir), "root": cty.StringVal(dir), "cwd": cty.StringVal(dir)}),
		"terraform": cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal("default")}),
		"var":       cty.EmptyObjectVal, "local": cty.EmptyObjectVal, "module": cty.EmptyObjectVal,
	}, left: maxBlocks}
}

// value evaluates an expression; errors leave the value unknown.
func (e *evaluator) value(expr hcl.Expression, extra map[string]cty.Value) (v cty.Value) {
	defer func() {
		// A function's flaw on odd input must not end the evaluation.
		if r := recover(); r != nil {
			v = cty.DynamicVal
		}
	}()
	ctx := &hcl.EvalContext{Variables: e.vars, Functions: functions}
	if len(extra) > 0 {
		ctx = ctx.NewChild()
		ctx.Variables = extra
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal
	}
	return v
}

// instance is one expansion of a block: its address and the count or
// each variables it is evaluated with.
type instance struct {
	address string
	extra   map[string]cty.Value
}

func (e *evaluator) instances(b rawBlock, prefix string) []instance {
	base := prefix + b.labels[0] + "." + b.labels[1]
	if b.kind == "data" {
		base = prefix + "data." + b.labels[0] + "." + b.labels[1]
	}
	if a, ok := b.body.Attributes["count"]; ok {
		v := e.value(a.Expr, nil)
		n, known := 1, false
		if v.IsKnown() && !v.IsNull() && v.Type() == cty.Number {
			if i, acc := v.AsBigFloat().Int64(); acc == big.Exact && i >= 0 && i <= 10000 {
				n, known = int(i), true
			}
		}
		out := make([]instance, 0, n)
		for i := 0; i < n; i++ {
			idx := cty.NumberIntVal(int64(i))
			if !known {
				idx = cty.UnknownVal(cty.Number)
			}
			out = append(out, instance{fmt.Sprintf("%s[%d]", base, i), map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": idx})}})
		}
		return out
	}
	if a, ok := b.body.Attributes["for_each"]; ok {
		v := e.value(a.Expr, nil)
		if !v.IsWhollyKnown() || v.IsNull() || !v.CanIterateElements() || v.LengthInt() > 10000 {
			each := cty.ObjectVal(map[string]cty.Value{"key": cty.DynamicVal, "value": cty.DynamicVal})
			return []instance{{base + "[*]", map[string]cty.Value{"each": each}}}
		}
		var out []instance
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			if v.Type().IsSetType() {
				k = val
			}
			key := k.GoString()
			if k.Type() == cty.String {
				key = fmt.Sprintf("%q", k.AsString())
			}
			out = append(out, instance{base + "[" + key + "]", map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": val})}})
		}
		return out
	}
	return []instance{{base, nil}}
}

// blocks evaluates the resource, data and provider blocks of a module.
func (e *evaluator) blocks(raws []rawBlock, prefix string) []*Block {
	var out []*Block
	for _, b := range raws {
		if b.kind == "provider" && len(b.labels) == 1 && e.left >= 0 {
			attrs, vals := e.body(b.body, nil, 0)
			name := b.labels[0]
			if alias := cloud.Attrs(attrs).Str("alias", "", ""); alias != "" {
				name += "." + alias
			}
			out = append(out, &Block{Mode: "provider", Type: b.labels[0], Name: name, Address: prefix + "provider." + name,
				Path: b.path, Line: b.line, Lines: sourceLines(b.body), Attrs: attrs, vals: vals})
			continue
		}
		if (b.kind != "resource" && b.kind != "data") || len(b.labels) != 2 {
			continue
		}
		for _, in := range e.instances(b, prefix) {
			if e.left < 0 {
				break
			}
			attrs, vals := e.body(b.body, in.extra, 0)
			out = append(out, &Block{Mode: b.kind, Type: b.labels[0], Name: b.labels[1], Address: in.address,
				Path: b.path, Line: b.line, Lines: sourceLines(b.body), Attrs: attrs, vals: vals})
		}
	}
	return out
}

// maxBlockDepth bounds nested blocks.
const maxBlockDepth = 32

// body evaluates attributes and nested blocks (dynamic ones expanded).
func (e *evaluator) body(body *hclsyntax.Body, extra map[string]cty.Value, depth int) (map[string]any, map[string]cty.Value) {
	attrs := map[string]any{}
	vals := map[string]cty.Value{}
	if e.left--; e.left < 0 {
		return attrs, vals
	}
	for name, a := range body.Attributes {
		if depth == 0 && metaAttrs[name] {
			continue
		}
		v := e.value(a.Expr, extra)
		vals[name] = v
		attrs[name] = toGo(v)
	}
	if depth >= maxBlockDepth {
		return attrs, vals
	}
	for _, nb := range body.Blocks {
		if metaBlocks[nb.Type] {
			continue
		}
		if nb.Type == "dynamic" && len(nb.Labels) == 1 {
			for _, m := range e.dynamic(nb, extra, depth) {
				attrs[nb.Labels[0]] = append(asList(attrs[nb.Labels[0]]), m)
			}
			continue
		}
		m, _ := e.body(nb.Body, extra, depth+1)
		attrs[nb.Type] = append(asList(attrs[nb.Type]), m)
	}
	return attrs, vals
}

// dynamic expands a dynamic block: its content once per for_each element,
// with the iterator (the block's label, or its iterator argument) set.
func (e *evaluator) dynamic(nb *hclsyntax.Block, extra map[string]cty.Value, depth int) []any {
	var content *hclsyntax.Body
	for _, c := range nb.Body.Blocks {
		if c.Type == "content" {
			content = c.Body
		}
	}
	fe, ok := nb.Body.Attributes["for_each"]
	if content == nil || !ok {
		return nil
	}
	iter := nb.Labels[0]
	if a, ok := nb.Body.Attributes["iterator"]; ok {
		if t := hcl.ExprAsKeyword(a.Expr); t != "" {
			iter = t
		}
	}
	v := e.value(fe.Expr, extra)
	with := func(k, val cty.Value) map[string]cty.Value {
		m := map[string]cty.Value{}
		for n, x := range extra {
			m[n] = x
		}
		m[iter] = cty.ObjectVal(map[string]cty.Value{"key": k, "value": val})
		return m
	}
	if !v.IsWhollyKnown() || v.IsNull() || !v.CanIterateElements() || v.LengthInt() > 10000 {
		m, _ := e.body(content, with(cty.DynamicVal, cty.DynamicVal), depth+1)
		return []any{m}
	}
	var out []any
	for it := v.ElementIterator(); it.Next() && e.left >= 0; {
		k, val := it.Element()
		if v.Type().IsSetType() {
			k = val
		}
		m, _ := e.body(content, with(k, val), depth+1)
		out = append(out, m)
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// setResources makes resources referable: each instance is an object with
// id (its address), arn ("arn:vigil:" + address) and, once evaluated, its
// attributes.
func (e *evaluator) setResources(raws []rawBlock, prefix string, evaluated []*Block) {
	byAddr := map[string]*Block{}
	for _, b := range evaluated {
		byAddr[b.Address] = b
	}
	types := map[string]map[string]cty.Value{}
	data := map[string]map[string]cty.Value{}
	for _, b := range raws {
		if (b.kind != "resource" && b.kind != "data") || len(b.labels) != 2 {
			continue
		}
		target := types
		if b.kind == "data" {
			target = data
		}
		if target[b.labels[0]] == nil {
			target[b.labels[0]] = map[string]cty.Value{}
		}
		obj := func(address string) cty.Value {
			m := map[string]cty.Value{}
			if blk := byAddr[address]; blk != nil {
				for k, v := range blk.vals {
					m[k] = v
				}
			}
			m["id"] = cty.StringVal(address)
			if b.kind == "data" {
				m["json"] = cty.StringVal(address) // a policy document, read by its adapter
			}
			m["arn"] = cty.StringVal("arn:vigil:" + address)
			if _, ok := m["name"]; !ok {
				m["name"] = cty.StringVal(address)
			}
			return cty.ObjectVal(m)
		}
		ins := e.instances(b, prefix)
		_, counted := b.body.Attributes["count"]
		_, each := b.body.Attributes["for_each"]
		switch {
		case counted:
			vals := make([]cty.Value, len(ins))
			for i, in := range ins {
				vals[i] = obj(in.address)
			}
			if len(vals) == 0 {
				target[b.labels[0]][b.labels[1]] = cty.EmptyTupleVal
			} else {
				target[b.labels[0]][b.labels[1]] = cty.TupleVal(vals)
			}
		case each:
			m := map[string]cty.Value{}
			for _, in := range ins {
				k := in.extra["each"].GetAttr("key")
				if k.IsKnown() && k.Type() == cty.String {
					m[k.AsString()] = obj(in.address)
				}
			}
			target[b.labels[0]][b.labels[1]] = cty.ObjectVal(m)
		default:
			target[b.labels[0]][b.labels[1]] = obj(ins[0].address)
		}
	}
	for t, names := range types {
		e.vars[t] = cty.ObjectVal(names)
	}
	d := map[string]cty.Value{}
	for t, names := range data {
		d[t] = cty.ObjectVal(names)
	}
	e.vars["data"] = cty.ObjectVal(d)
}

// toGo converts a value to Go: strings, int64 or float64, bools, []any,
// map[string]any; unknown parts become cloud.Unknown{}, nulls nil.
func toGo(v cty.Value) any {
	if !v.IsKnown() {
		return cloud.Unknown{}
	}
	if v.IsNull() {
		return nil
	}
	v, _ = v.Unmark()
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		f := v.AsBigFloat()
		if i, acc := f.Int64(); acc == big.Exact {
			return i
		}
		x, _ := f.Float64()
		return x
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, toGo(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = toGo(e)
		}
		return out
	}
	return cloud.Unknown{}
}

// sourceLines are the lines of a block's attributes and nested blocks, and
// of the attributes of those (the first block of a type).
func sourceLines(body *hclsyntax.Body) cloud.SourceLines {
	out := cloud.SourceLines{}
	for name, a := range body.Attributes {
		out[name] = a.SrcRange.Start.Line
	}
	for _, nb := range body.Blocks {
		typ := nb.Type
		if typ == "dynamic" && len(nb.Labels) == 1 {
			typ = nb.Labels[0]
		}
		if _, seen := out[typ]; seen {
			continue
		}
		out[typ] = nb.TypeRange.Start.Line
		for name, a := range nb.Body.Attributes {
			out[typ+"."+name] = a.SrcRange.Start.Line
		}
	}
	return out
}
