// Package terraform reads Terraform configurations and plans into blocks
// of evaluated attributes, and maps them to the normalised cloud model.
//
// The evaluator does what can be done without providers or state:
// variables with their defaults and tfvars files, locals, the built-in
// functions, count and for_each with known values, dynamic blocks, and
// local modules. What only apply could know (resource ids, unset
// variables) stays unknown and is left out of the attributes.
package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// Block is one resource or data source instance, evaluated.
type Block struct {
	// Mode is "resource", "data" or "provider".
	Mode string
	// Type and Name are the block's labels: aws_s3_bucket, logs.
	Type, Name string
	// Address is the Terraform address: module.net.aws_s3_bucket.logs[0].
	Address string
	// Path and Line locate the block; Lines, its attributes and nested
	// blocks ("versioning", "versioning.enabled").
	Path  string
	Line  int
	Lines cloud.SourceLines
	// Attrs are the known attributes; nested blocks are lists of maps.
	// References to other resources evaluate to their address ("id"),
	// "arn:vigil:" and the address ("arn"), or their own attributes.
	Attrs map[string]any

	vals map[string]cty.Value // top-level values, for references
}

// Config is a root module with its local modules, evaluated.
type Config struct {
	Blocks []*Block
	// Errors are files that could not be parsed and modules that could
	// not be read; the rest of the configuration is still evaluated.
	Errors []error
	// ModuleDirs are the folders read as local modules.
	ModuleDirs []string
}

// maxModuleDepth bounds nested local modules (and cycles among them).
const maxModuleDepth = 10

// LoadDir reads the Terraform files of dir (not its subfolders: those are
// modules when a module block names them) and evaluates them.
func LoadDir(ctx context.Context, dir string) (*Config, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	cfg := &Config{}
	m := &module{dir: dir, prefix: "", inputs: map[string]cty.Value{}}
	m.load(ctx, files, cfg, 0)
	return cfg, nil
}

// Files reads the given Terraform files as one module.
func Files(ctx context.Context, files []string) *Config {
	cfg := &Config{}
	dir := ""
	if len(files) > 0 {
		dir = filepath.Dir(files[0])
	}
	m := &module{dir: dir, inputs: map[string]cty.Value{}}
	m.load(ctx, files, cfg, 0)
	return cfg
}

type module struct {
	dir    string
	prefix string // "module.net." for a child
	inputs map[string]cty.Value
}

type rawBlock struct {
	kind   string // resource, data, module, variable, locals, output
	labels []string
	body   *hclsyntax.Body
	path   string
	line   int
}

func (m *module) load(ctx context.Context, files []string, cfg *Config, depth int) map[string]cty.Value {
	blocks, err := parseBlocks(ctx, files, cfg)
	if err != nil {
		cfg.Errors = append(cfg.Errors, err)
		return nil
	}
	e := newEval(m.dir)
	e.vars["var"] = cty.ObjectVal(m.variables(blocks, depth))
	e.vars["local"] = cty.ObjectVal(e.locals(blocks))
	// Resources are first seen by address alone; a second pass sees the
	// attributes each evaluated to in the first.
	e.setResources(blocks, m.prefix, nil)
	// Local modules: inputs in this module's context, outputs back into it.
	moduleOut := map[string]cty.Value{}
	for _, b := range blocks {
		if b.kind == "module" && len(b.labels) == 1 {
			moduleOut[b.labels[0]] = m.child(ctx, e, b, cfg, depth)
		}
	}
	e.vars["module"] = cty.ObjectVal(moduleOut)
	first := e.blocks(blocks, m.prefix)
	e.setResources(blocks, m.prefix, first)
	final := e.blocks(blocks, m.prefix)
	if e.left < 0 {
		cfg.Errors = append(cfg.Errors, fmt.Errorf("%s: count, for_each and dynamic blocks expand to more than %d blocks; the rest is not evaluated", m.dir, maxBlocks))
	}
	cfg.Blocks = append(cfg.Blocks, final...)
	outputs := map[string]cty.Value{}
	for _, b := range blocks {
		if b.kind == "output" && len(b.labels) == 1 {
			if a, ok := b.body.Attributes["value"]; ok {
				outputs[b.labels[0]] = e.value(a.Expr, nil)
			}
		}
	}
	return outputs
}

// parseBlocks parses a module's files, in name order, into their top-level
// blocks. A file that cannot be read or parsed is reported in cfg and the
// others are still read; only the end of ctx stops it.
func parseBlocks(ctx context.Context, files []string, cfg *Config) ([]rawBlock, error) {
	parser := hclparse.NewParser()
	var blocks []rawBlock
	sort.Strings(files)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := os.ReadFile(f)
		if err != nil {
			cfg.Errors = append(cfg.Errors, pipeline.InUnit(filepath.ToSlash(f), fmt.Errorf("%s: %w", f, err)))
			continue
		}
		file, err := parseHCL(parser, src, f)
		if err != nil {
			cfg.Errors = append(cfg.Errors, pipeline.InUnit(filepath.ToSlash(f), pipeline.NotAssessed(pipeline.ParseError, err)))
		}
		if file == nil {
			continue
		}
		body, ok := file.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		for _, b := range body.Blocks {
			blocks = append(blocks, rawBlock{kind: b.Type, labels: b.Labels, body: b.Body, path: f, line: b.DefRange().Start.Line})
		}
	}
	return blocks, nil
}

// variables are the module's input variables: defaults, then tfvars files
// (root module only), then the inputs its caller gave.
func (m *module) variables(blocks []rawBlock, depth int) map[string]cty.Value {
	vars := map[string]cty.Value{}
	for _, b := range blocks {
		if b.kind != "variable" || len(b.labels) != 1 {
			continue
		}
		vars[b.labels[0]] = cty.DynamicVal
		if a, ok := b.body.Attributes["default"]; ok {
			v, _ := a.Expr.Value(nil)
			vars[b.labels[0]] = v
		}
	}
	if depth == 0 {
		for k, v := range tfvars(m.dir) {
			vars[k] = v
		}
	}
	for k, v := range m.inputs {
		vars[k] = v
	}
	return vars
}

// locals evaluates the module's locals, which may refer to each other:
// again until nothing changes (at most 8 passes).
func (e *evaluator) locals(blocks []rawBlock) map[string]cty.Value {
	var locals []*hclsyntax.Attribute
	for _, b := range blocks {
		if b.kind == "locals" {
			for _, a := range b.body.Attributes {
				locals = append(locals, a)
			}
		}
	}
	vals := map[string]cty.Value{}
	for _, a := range locals {
		vals[a.Name] = cty.DynamicVal
	}
	for pass := 0; pass < 8; pass++ {
		e.vars["local"] = cty.ObjectVal(vals)
		changed := false
		for _, a := range locals {
			v := e.value(a.Expr, nil)
			if !v.RawEquals(vals[a.Name]) {
				vals[a.Name], changed = v, true
			}
		}
		if !changed {
			break
		}
	}
	return vals
}

// child loads a local module block (source "./" or "../") with its inputs
// evaluated here, and returns its outputs; unknown for a module that is
// not local or cannot be loaded.
func (m *module) child(ctx context.Context, e *evaluator, b rawBlock, cfg *Config, depth int) cty.Value {
	src, ok := b.body.Attributes["source"]
	if !ok {
		return cty.DynamicVal
	}
	sv := e.value(src.Expr, nil)
	if !sv.IsKnown() || sv.IsNull() || sv.Type() != cty.String {
		return cty.DynamicVal
	}
	source := sv.AsString()
	if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
		return cty.DynamicVal // registry and remote modules are not fetched
	}
	if depth >= maxModuleDepth {
		cfg.Errors = append(cfg.Errors, fmt.Errorf("%s:%d: module %s: more than %d nested modules", b.path, b.line, b.labels[0], maxModuleDepth))
		return cty.DynamicVal
	}
	childDir := filepath.Join(m.dir, source)
	childFiles, _ := filepath.Glob(filepath.Join(childDir, "*.tf"))
	if len(childFiles) == 0 {
		cfg.Errors = append(cfg.Errors, fmt.Errorf("%s:%d: module %s: no Terraform files in %s", b.path, b.line, b.labels[0], childDir))
		return cty.DynamicVal
	}
	inputs := map[string]cty.Value{}
	for name, a := range b.body.Attributes {
		switch name {
		case "source", "version", "providers", "count", "for_each", "depends_on":
			continue
		}
		inputs[name] = e.value(a.Expr, nil)
	}
	cfg.ModuleDirs = append(cfg.ModuleDirs, filepath.Clean(childDir))
	c := &module{dir: childDir, prefix: m.prefix + "module." + b.labels[0] + ".", inputs: inputs}
	return cty.ObjectVal(c.load(ctx, childFiles, cfg, depth+1))
}

func firstError(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Subject != nil {
				return fmt.Sprintf("line %d: %s: %s", d.Subject.Start.Line, d.Summary, d.Detail)
			}
			return d.Summary + ": " + d.Detail
		}
	}
	return diags.Error()
}

// tfvars reads terraform.tfvars and *.auto.tfvars of a root module.
func tfvars(dir string) map[string]cty.Value {
	out := map[string]cty.Value{}
	files := []string{filepath.Join(dir, "terraform.tfvars")}
	auto, _ := filepath.Glob(filepath.Join(dir, "*.auto.tfvars"))
	sort.Strings(auto)
	files = append(files, auto...)
	parser := hclparse.NewParser()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		file, err := parseHCL(parser, src, f)
		if err != nil || file == nil {
			continue
		}
		attrs, _ := file.Body.JustAttributes()
		for name, a := range attrs {
			if v, d := a.Expr.Value(nil); !d.HasErrors() {
				out[name] = v
			}
		}
	}
	return out
}
