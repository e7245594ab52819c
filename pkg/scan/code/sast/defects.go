package sast

import (
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/analysis/passes/copylock"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/analysis/passes/nilness"
	"golang.org/x/tools/go/ssa"
)

// Defect check ids: flaws that crash a process or void its locking rather
// than let an attacker in.
const (
	CheckNilDereference = "VGL-CODE-140"
	CheckCopiedLock     = "VGL-CODE-141"
)

// runDefects runs two analyzers of golang.org/x/tools on the package:
// nilness, on the SSA already built (a nil pointer dereferenced on some
// path), and copylock (a sync.Mutex or other lock copied by value, which
// then guards nothing). nilness also reports impossible and tautological
// conditions, which are dead code rather than defects; they are left out.
func runDefects(pass *analysis.Pass, pkg *ssa.Package, funcs []*ssa.Function) (out []Finding) {
	defer func() {
		// A flaw of a library analyzer on unusual code costs its findings
		// only, not the package's other checks.
		if r := recover(); r != nil {
			out = nil
		}
	}()
	run := func(a *analysis.Analyzer, results map[*analysis.Analyzer]any, keep func(analysis.Diagnostic) string) {
		p := *pass
		p.Analyzer, p.ResultOf = a, results
		p.Report = func(d analysis.Diagnostic) {
			if check := keep(d); check != "" {
				out = append(out, Finding{Check: check, Pos: d.Pos, Message: d.Message})
			}
		}
		a.Run(&p) // both report through p.Report; their results are not used
	}
	run(nilness.Analyzer, map[*analysis.Analyzer]any{buildssa.Analyzer: &buildssa.SSA{Pkg: pkg, SrcFuncs: funcs}}, func(d analysis.Diagnostic) string {
		if strings.Contains(d.Message, "nil dereference") {
			return CheckNilDereference
		}
		return ""
	})
	if insp, err := inspect.Analyzer.Run(pass); err == nil {
		run(copylock.Analyzer, map[*analysis.Analyzer]any{inspect.Analyzer: insp}, func(analysis.Diagnostic) string { return CheckCopiedLock })
	}
	return out
}
