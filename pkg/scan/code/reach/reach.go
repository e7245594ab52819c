// Package reach finds whether a Go module calls the vulnerable functions of
// its dependencies: the module's packages and the dependencies on the way
// to a vulnerable package are loaded from source, a call graph is built
// over them (class hierarchy analysis refined by variable type analysis,
// so calls through interfaces and function values count), and the graph is
// searched from the module's entry points.
package reach

import (
	"context"
	"errors"
	"fmt"
	"go/types"
	"os"
	"sort"
	"strings"

	"golang.org/x/tools/go/callgraph/cha"
	"golang.org/x/tools/go/callgraph/vta"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"
)

// Target is one vulnerability: the packages and functions that hold it.
type Target struct {
	ID      string
	Imports []Import
}

// Import is a vulnerable package and its vulnerable functions, named as
// the Go vulnerability database names them ("Parse", "Decoder.Decode");
// none means every function of the package.
type Import struct {
	Path    string
	Symbols []string
}

// Status is what the analysis found for one target.
type Status int

// The statuses of a target.
const (
	Unknown Status = iota
	Reachable
	NotReachable
)

// Result is the answer for one target. Path is the chain of calls from an
// entry point to the vulnerable function when it is reachable; Detail says
// what was searched, or why the analysis could not run.
type Result struct {
	Status Status
	Path   []string
	Detail string
}

// maxDetail bounds the reason given for an unknown result (go command
// errors can run to pages).
const maxDetail = 300

// env keeps the go command offline and on the installed toolchain: a scan
// never downloads.
var env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOPROXY=off")

// Analyze answers each target for the module whose go.mod is in dir.
// When the analysis cannot run, every target is Unknown with the reason.
func Analyze(ctx context.Context, dir string, targets []Target) (out map[string]Result) {
	out = map[string]Result{}
	unknown := func(err error) map[string]Result {
		detail := err.Error()
		if len(detail) > maxDetail {
			detail = strings.ToValidUTF8(detail[:maxDetail], "") + "…"
		}
		for _, t := range targets {
			out[t.ID] = Result{Status: Unknown, Detail: detail}
		}
		return out
	}
	defer func() {
		// A flaw of the analysis on unusual code must not stop the scan.
		if r := recover(); r != nil {
			out = unknown(fmt.Errorf("call graph analysis failed: %v", r))
		}
	}()
	graph, err := packages.Load(&packages.Config{Context: ctx, Dir: dir, Env: env,
		Mode: packages.NeedName | packages.NeedImports | packages.NeedDeps | packages.NeedModule}, "./...")
	if err != nil {
		return unknown(fmt.Errorf("listing the module's packages: %w", err))
	}
	if err := listErrors(graph); err != nil {
		return unknown(err)
	}
	byPath := map[string]*packages.Package{}
	packages.Visit(graph, nil, func(p *packages.Package) { byPath[p.PkgPath] = p })

	// The packages worth reading are those from which a vulnerable
	// package can be imported: everything else cannot call into it.
	var vulnerable []string
	for _, t := range targets {
		for _, im := range t.Imports {
			if byPath[im.Path] != nil {
				vulnerable = append(vulnerable, im.Path)
			}
		}
	}
	need := importers(byPath, vulnerable)
	var roots []string
	for path := range need {
		roots = append(roots, path)
	}
	sort.Strings(roots)

	var reached map[*ssa.Function]*ssa.Function // function → caller on a shortest path
	if len(roots) > 0 {
		reached, err = calls(ctx, dir, roots)
		if err != nil {
			return unknown(err)
		}
	}
	for _, t := range targets {
		out[t.ID] = judge(t, byPath, reached)
	}
	return out
}

// listErrors reports the first error listing the module's own packages:
// an import that cannot be resolved offline makes the graph incomplete.
func listErrors(graph []*packages.Package) error {
	var errs []error
	packages.Visit(graph, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			if e.Kind == packages.ListError && len(errs) < 3 {
				errs = append(errs, fmt.Errorf("%s: %s", p.PkgPath, e.Msg))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("the module's imports cannot all be resolved offline: %w", errors.Join(errs...))
	}
	return nil
}

// importers returns the packages from which one of targets is imported,
// directly or not, the targets included.
func importers(byPath map[string]*packages.Package, targets []string) map[string]bool {
	reverse := map[string][]string{}
	for path, p := range byPath {
		for imp := range p.Imports {
			reverse[p.Imports[imp].PkgPath] = append(reverse[p.Imports[imp].PkgPath], path)
		}
	}
	need := map[string]bool{}
	stack := append([]string(nil), targets...)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if need[p] {
			continue
		}
		need[p] = true
		stack = append(stack, reverse[p]...)
	}
	return need
}

// calls loads roots from source, builds the program's call graph and
// searches it breadth first from the entry points of the main module's
// packages. It returns every reached function with its caller on a
// shortest path (nil for an entry point).
func calls(ctx context.Context, dir string, roots []string) (map[*ssa.Function]*ssa.Function, error) {
	pkgs, err := packages.Load(&packages.Config{Context: ctx, Dir: dir, Env: env,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo |
			packages.NeedImports | packages.NeedTypesSizes | packages.NeedModule}, roots...)
	if err != nil {
		return nil, fmt.Errorf("loading the packages on the way to the vulnerable code: %w", err)
	}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			return nil, fmt.Errorf("%s does not type-check: %s", p.PkgPath, p.Errors[0].Msg)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prog, ssaPkgs := ssautil.Packages(pkgs, ssa.InstantiateGenerics)
	prog.Build()

	// Commands first: a function main reaches is shown with the path from
	// main, and the exported API of the module's libraries is searched
	// from only for what main does not reach.
	var commands, libraries []*ssa.Function
	for i, p := range pkgs {
		if p.Module == nil || !p.Module.Main || ssaPkgs[i] == nil {
			continue
		}
		if p.Name == "main" {
			commands = append(commands, entryPoints(ssaPkgs[i])...)
		} else {
			libraries = append(libraries, entryPoints(ssaPkgs[i])...)
		}
	}
	funcs := ssautil.AllFunctions(prog)
	cg := vta.CallGraph(funcs, cha.CallGraph(prog))
	cg.DeleteSyntheticNodes()

	parent := map[*ssa.Function]*ssa.Function{}
	var queue []*ssa.Function
	visit := func(g, from *ssa.Function) {
		if _, seen := parent[g]; !seen {
			parent[g] = from
			queue = append(queue, g)
		}
	}
	for _, entries := range [][]*ssa.Function{commands, libraries} {
		for _, e := range entries {
			visit(e, nil)
		}
		for len(queue) > 0 {
			f := queue[0]
			queue = queue[1:]
			if n := cg.Nodes[f]; n != nil {
				for _, e := range n.Out {
					visit(e.Callee.Func, f)
				}
			}
			for _, g := range handedOut(f) {
				visit(g, f)
			}
		}
	}
	return parent, nil
}

// handedOut are the functions f passes to code the graph has no body for
// (the standard library, packages typed from export data): a handler given
// to net/http, a method of a value given to fmt. That code may call them,
// so they count as called from f.
func handedOut(f *ssa.Function) []*ssa.Function {
	var out []*ssa.Function
	for _, b := range f.Blocks {
		for _, ins := range b.Instrs {
			call, ok := ins.(ssa.CallInstruction)
			if !ok {
				continue
			}
			c := call.Common()
			if callee := c.StaticCallee(); callee == nil || len(callee.Blocks) > 0 {
				continue
			}
			for _, a := range c.Args {
				out = append(out, functionsOf(f.Prog, a)...)
			}
		}
	}
	return out
}

// functionsOf are the functions a value passed as an argument carries: a
// function, a closure, or the methods of a value put in an interface.
func functionsOf(prog *ssa.Program, v ssa.Value) []*ssa.Function {
	switch v := v.(type) {
	case *ssa.Function:
		return []*ssa.Function{v}
	case *ssa.MakeClosure:
		if fn, ok := v.Fn.(*ssa.Function); ok {
			return []*ssa.Function{fn}
		}
	case *ssa.MakeInterface:
		var out []*ssa.Function
		ms := prog.MethodSets.MethodSet(v.X.Type())
		for i := range ms.Len() {
			if fn := prog.MethodValue(ms.At(i)); fn != nil {
				out = append(out, fn)
			}
		}
		return out
	}
	return nil
}

// entryPoints are where the module's code can be entered: main and the
// package initializer of a command; for a library, the initializer and
// every exported function and method, since any importer may call them.
func entryPoints(p *ssa.Package) []*ssa.Function {
	var out []*ssa.Function
	if init := p.Func("init"); init != nil {
		out = append(out, init)
	}
	if p.Pkg.Name() == "main" {
		if m := p.Func("main"); m != nil {
			out = append(out, m)
		}
		return out
	}
	for _, m := range p.Members {
		switch m := m.(type) {
		case *ssa.Function:
			if m.Object() != nil && m.Object().Exported() {
				out = append(out, m)
			}
		case *ssa.Type:
			named, ok := m.Type().(*types.Named)
			if !ok || !m.Object().Exported() || named.TypeParams() != nil {
				continue
			}
			for _, t := range []types.Type{named, types.NewPointer(named)} {
				ms := p.Prog.MethodSets.MethodSet(t)
				for i := range ms.Len() {
					if sel := ms.At(i); sel.Obj().Exported() {
						if f := p.Prog.MethodValue(sel); f != nil {
							out = append(out, f)
						}
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// judge answers one target from the reached functions.
func judge(t Target, byPath map[string]*packages.Package, reached map[*ssa.Function]*ssa.Function) Result {
	if len(t.Imports) == 0 {
		return Result{Status: Unknown, Detail: "the advisory names no vulnerable package or function"}
	}
	var imported []string
	for _, im := range t.Imports {
		if byPath[im.Path] != nil {
			imported = append(imported, im.Path)
		}
	}
	if len(imported) == 0 {
		return Result{Status: NotReachable, Detail: "no package of the module imports " + importList(t.Imports) + ", directly or through a dependency"}
	}
	// The shortest path to any vulnerable function.
	var best []string
	for f := range reached {
		if !vulnerableFunc(f, t.Imports) {
			continue
		}
		var path []string
		for g := f; g != nil; g = reached[g] {
			path = append([]string{name(g)}, path...)
		}
		if best == nil || len(path) < len(best) || len(path) == len(best) && strings.Join(path, " ") < strings.Join(best, " ") {
			best = path
		}
	}
	if best != nil {
		return Result{Status: Reachable, Path: best, Detail: strings.Join(best, " → ")}
	}
	return Result{Status: NotReachable, Detail: "the module imports " + strings.Join(imported, ", ") +
		" but no call path from its code reaches " + symbolList(t.Imports)}
}

// vulnerableFunc reports whether f is one of the vulnerable functions.
// Closures and instances of generic functions count as their function.
func vulnerableFunc(f *ssa.Function, imports []Import) bool {
	for f.Parent() != nil {
		f = f.Parent()
	}
	if o := f.Origin(); o != nil {
		f = o
	}
	if f.Pkg == nil {
		return false
	}
	sym := symbol(f)
	for _, im := range imports {
		if im.Path != f.Pkg.Pkg.Path() {
			continue
		}
		if len(im.Symbols) == 0 {
			return true
		}
		for _, s := range im.Symbols {
			if s == sym {
				return true
			}
		}
	}
	return false
}

// symbol names f as the vulnerability database does: "Func" or
// "Type.Method", pointer receivers without the star.
func symbol(f *ssa.Function) string {
	recv := f.Signature.Recv()
	if recv == nil {
		return f.Name()
	}
	t := recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Name() + "." + f.Name()
	}
	return f.Name()
}

// name is how a path shows a function: its package's name and its
// symbol ("yaml.Decoder.Decode").
func name(f *ssa.Function) string {
	if f.Pkg == nil {
		return f.Name()
	}
	return f.Pkg.Pkg.Name() + "." + symbol(f)
}

func importList(ims []Import) string {
	var out []string
	for _, im := range ims {
		out = append(out, im.Path)
	}
	return strings.Join(out, ", ")
}

func symbolList(ims []Import) string {
	var out []string
	for _, im := range ims {
		if len(im.Symbols) == 0 {
			out = append(out, "any function of "+im.Path)
			continue
		}
		for _, s := range im.Symbols {
			out = append(out, im.Path+"."+s)
		}
	}
	if len(out) > 6 {
		out = append(out[:6], fmt.Sprintf("%d more", len(out)-6))
	}
	return strings.Join(out, ", ")
}
