package sast

import (
	"fmt"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"
)

// buildSSA builds the SSA form of the package under analysis. It runs on
// packages with type errors too (an import that could not be resolved);
// if the builder fails on such code, the error says so and the package is
// left to the syntactic checks.
func buildSSA(pass *analysis.Pass) (pkg *ssa.Package, funcs []*ssa.Function, err error) {
	defer func() {
		if r := recover(); r != nil {
			pkg, funcs, err = nil, nil, fmt.Errorf("SSA construction failed on ill-typed code: %v", r)
		}
	}()
	prog := ssa.NewProgram(pass.Fset, ssa.InstantiateGenerics)
	created := map[*types.Package]bool{}
	var create func([]*types.Package)
	create = func(pkgs []*types.Package) {
		for _, p := range pkgs {
			if created[p] {
				continue
			}
			created[p] = true
			prog.CreatePackage(p, nil, nil, true)
			create(p.Imports())
		}
	}
	create(pass.Pkg.Imports())
	pkg = prog.CreatePackage(pass.Pkg, pass.Files, pass.TypesInfo, false)
	pkg.Build()
	var add func(f *ssa.Function)
	seen := map[*ssa.Function]bool{}
	add = func(f *ssa.Function) {
		if f == nil || seen[f] || f.Blocks == nil {
			return
		}
		seen[f] = true
		funcs = append(funcs, f)
		for _, a := range f.AnonFuncs {
			add(a)
		}
	}
	for _, m := range pkg.Members {
		switch m := m.(type) {
		case *ssa.Function:
			add(m)
		case *ssa.Type:
			for _, t := range []types.Type{m.Type(), types.NewPointer(m.Type())} {
				ms := prog.MethodSets.MethodSet(t)
				for i := 0; i < ms.Len(); i++ {
					if fn := prog.MethodValue(ms.At(i)); fn != nil && fn.Pkg == pkg {
						add(fn)
					}
				}
			}
		}
	}
	return pkg, funcs, nil
}
