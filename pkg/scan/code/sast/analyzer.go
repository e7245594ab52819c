package sast

import (
	"context"
	"fmt"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// Analyzer runs every check on one package. It runs on packages with type
// errors too (an import that is not in the module cache): the checks see
// the parts that type-checked.
var Analyzer = &analysis.Analyzer{
	Name:             "vigilsast",
	Doc:              "finds injection flaws by taint tracking over SSA, and unsafe uses of crypto, TLS, randomness, files, listeners and archives",
	Run:              run,
	RunDespiteErrors: true,
	ResultType:       reflect.TypeOf((*passResult)(nil)),
}

// passResult is what the analysis of one package gives: its findings, the
// tainted data it passes to other packages' functions, and where its own
// exported functions pass their parameters. The last two meet across the
// packages of a batch (see resolve).
type passResult struct {
	findings []Finding
	calls    []Call
	flows    map[Param][]Flow
}

func run(pass *analysis.Pass) (result any, err error) {
	defer func() {
		// A flaw of an analyzer on unusual code must not stop the scan.
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("analyzer failed: %v", r)
		}
	}()
	out := runSyntax(pass)
	out = append(out, runTrojan(pass, os.ReadFile)...)
	res := &passResult{}
	pkg, funcs, err := buildSSA(pass)
	if err == nil {
		fs, calls := runTaint(pass, funcs)
		out = append(out, fs...)
		out = append(out, runSSAChecks(funcs)...)
		out = append(out, runDefects(pass, pkg, funcs)...)
		out = append(out, runLocks(funcs)...)
		out = append(out, runChannels(funcs)...)
		res.calls, res.flows = calls, summarize(funcs)
	}
	// One finding per check and line: a taint finding, which comes later
	// and names the source, replaces the syntactic one at the same call
	// (the two name its position differently: the call, its parenthesis).
	at := map[[2]any]int{}
	kept := out[:0]
	for _, f := range out {
		p := pass.Fset.Position(f.Pos)
		k := [2]any{f.Check, fmt.Sprintf("%s:%d", p.Filename, p.Line)}
		if i, ok := at[k]; ok {
			kept[i] = f
			continue
		}
		at[k] = len(kept)
		kept = append(kept, f)
	}
	res.findings = kept
	return res, nil
}

// Result is a finding with its place in the source.
type Result struct {
	Finding
	Position token.Position
}

// Analyze loads the packages of dirs and runs the Analyzer on them, a
// batch at a time (see MaxBatch). Errors of loading (a folder that is not
// Go, a syntax error) come back as errors naming the package; the others
// are still analyzed. What each package summarizes of its exported
// functions outlives its batch (it is plain data), so taint across
// packages is followed through the whole module whatever the batches.
func Analyze(ctx context.Context, dirs []string) ([]Result, []error) {
	us, err := units(dirs)
	if err != nil {
		return nil, []error{err}
	}
	var out []Result
	var errs []error
	x := &crossing{flows: map[Param][]Flow{}}
	for _, u := range us {
		if err := ctx.Err(); err != nil {
			return out, append(errs, err)
		}
		rs, es := analyzeUnit(ctx, u, x)
		out, errs = append(out, rs...), append(errs, es...)
	}
	out = append(out, x.resolve()...)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Position, out[j].Position
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return out[i].Check < out[j].Check
	})
	return out, errs
}

// crossing gathers, over every batch, where exported functions pass their
// parameters and the tainted calls made to them.
type crossing struct {
	flows map[Param][]Flow
	calls []crossCall
}

// crossCall is a Call with its position resolved, so that it outlives the
// batch whose file set held it.
type crossCall struct {
	Call
	at token.Position
}

// resolve reports data one package passes to another that sends it to a
// sink, once per check and line.
func (x *crossing) resolve() []Result {
	var out []Result
	seen := map[string]bool{}
	for _, c := range x.calls {
		for _, f := range reach(x.flows, c.To, map[Param]bool{}, 0) {
			k := fmt.Sprintf("%s@%s:%d", f.Check, c.at.Filename, c.at.Line)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, Result{Finding: Finding{Check: f.Check, Pos: c.Pos,
				Message: fmt.Sprintf("%s is passed to %s, where %s", c.What, shortName(c.To.Func), f.Sink)}, Position: c.at})
		}
	}
	return out
}

// analyzeUnit loads one unit and analyzes its packages. Nothing of the
// unit outlives the call but the results, whose positions are resolved,
// and the unit's summaries, added to x.
func analyzeUnit(ctx context.Context, u unit, x *crossing) ([]Result, []error) {
	pkgs, err := u.load(ctx)
	if ctx.Err() != nil {
		return nil, []error{ctx.Err()}
	}
	var errs []error
	if missing := u.unloaded(pkgs); len(u.patterns) > 1 && (err != nil || len(missing) > 0) {
		// The go command gives up on a whole list for one folder it cannot
		// take (a path with '@', an import the module cache lacks while
		// offline), with an error or with nothing at all: load those
		// folders one by one, so that only the folders that cannot load
		// are lost, and each is named.
		retry, out := missing, []Result(nil)
		if err != nil {
			retry, pkgs = u.patterns, nil
		}
		for _, p := range retry {
			rs, es := analyzeUnit(ctx, unit{dir: u.dir, patterns: []string{p}, overlay: u.overlay}, x)
			out, errs = append(out, rs...), append(errs, es...)
		}
		if len(pkgs) == 0 {
			return out, errs
		}
		rs, es := analyzePackages(pkgs, x)
		return append(out, rs...), append(errs, es...)
	}
	if err != nil {
		errs = append(errs, err)
	} else if len(pkgs) == 0 {
		errs = append(errs, u.whyUnloaded(ctx))
	}
	rs, es := analyzePackages(pkgs, x)
	return rs, append(errs, es...)
}

// unloaded lists the patterns of u no package of pkgs answers.
func (u unit) unloaded(pkgs []*packages.Package) []string {
	dirs := map[string]bool{}
	for _, p := range pkgs {
		dirs[filepath.Clean(p.Dir)] = true
	}
	var out []string
	for _, p := range u.patterns {
		if !dirs[filepath.Join(u.dir, p)] {
			out = append(out, p)
		}
	}
	return out
}

// whyUnloaded asks the go command why it listed no package for the one
// folder of u, for the error that names the folder.
func (u unit) whyUnloaded(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-e"}, u.patterns...)...)
	cmd.Dir, cmd.Env = u.dir, loadEnv
	out, _ := cmd.CombinedOutput()
	// The last line is the error ("go: downloading …" lines come first).
	reason := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(reason, '\n'); i >= 0 {
		reason = reason[i+1:]
	}
	if reason == "" {
		reason = "the go command listed no package"
	}
	return fmt.Errorf("%s: not loaded: %s", filepath.Join(u.dir, u.patterns[0]), reason)
}

// analyzePackages runs the Analyzer over loaded packages.
func analyzePackages(pkgs []*packages.Package, x *crossing) ([]Result, []error) {
	var errs []error
	var ok []*packages.Package
	for _, p := range pkgs {
		if len(p.Syntax) == 0 {
			for _, e := range p.Errors {
				// A package for other platforms only is not a failure to read it.
				if !strings.Contains(e.Msg, "build constraints exclude all Go files") {
					errs = append(errs, fmt.Errorf("%s: %s", p.PkgPath, e.Msg))
				}
			}
			continue
		}
		ok = append(ok, p)
	}
	if len(ok) == 0 {
		return nil, errs
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{Analyzer}, ok, nil)
	if err != nil {
		return nil, append(errs, err)
	}
	var out []Result
	for act := range graph.All() {
		if !act.IsRoot || act.Analyzer != Analyzer {
			continue
		}
		if act.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", act.Package.PkgPath, act.Err))
			continue
		}
		res, _ := act.Result.(*passResult)
		if res == nil {
			continue
		}
		for _, f := range res.findings {
			out = append(out, Result{Finding: f, Position: act.Package.Fset.Position(f.Pos)})
		}
		for p, fs := range res.flows {
			x.flows[p] = fs
		}
		for _, c := range res.calls {
			x.calls = append(x.calls, crossCall{c, act.Package.Fset.Position(c.Pos)})
		}
	}
	return out, errs
}

// maxHops bounds the packages a parameter is followed through.
const maxHops = 8

// reach returns the sinks parameter p leads to, through the flows of the
// packages it passes through.
func reach(flows map[Param][]Flow, p Param, seen map[Param]bool, hops int) []Flow {
	if seen[p] || hops > maxHops {
		return nil
	}
	seen[p] = true
	var out []Flow
	for _, f := range flows[p] {
		if f.Next == nil {
			out = append(out, f)
			continue
		}
		out = append(out, reach(flows, *f.Next, seen, hops+1)...)
	}
	return out
}
