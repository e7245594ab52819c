package sast

import (
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"mime"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"
)

// Taint check ids.
const (
	CheckSQLInjection     = "VGL-CODE-101"
	CheckCommandInjection = "VGL-CODE-102"
	CheckPathTraversal    = "VGL-CODE-103"
	CheckSSRF             = "VGL-CODE-104"
	CheckXSS              = "VGL-CODE-105"
	CheckOpenRedirect     = "VGL-CODE-106"
	CheckZipSlip          = "VGL-CODE-107"
	CheckArgInjection     = "VGL-CODE-108"
	CheckGobUntrusted     = "VGL-CODE-109"
)

// origin says where tainted data came from.
type origin struct {
	what string
	pos  token.Pos
	// archive marks names of archive entries, whose sink is zip slip.
	archive bool
	// param is set when the data is a parameter of a function other
	// packages call, followed to summarize where the function passes it.
	param *Param
}

// Param is one parameter of a function, by the function's full name
// ("example.com/db.Find", "(*example.com/db.Store).Get") and its index
// (a method's receiver is 0).
type Param struct {
	Func  string
	Index int
}

// Flow is where a function passes a parameter: to a sink (Check, with
// the sink's name in Sink), or to a parameter of a function of another
// package (Next), whose own flows continue it.
type Flow struct {
	Check, Sink string
	Next        *Param
}

// Call is tainted data passed to a function of another package: it is a
// finding when that function passes the parameter on to a sink.
type Call struct {
	To   Param
	What string
	Pos  token.Pos
}

// taint is the state of one package's analysis: a value is tainted when
// data from a source reaches it. The analysis is flow-insensitive and
// field-insensitive within a function, and follows calls between the
// package's functions through parameters, results and closures until a
// fixed point.
type taint struct {
	values map[ssa.Value]*origin
	// rets marks functions whose results carry taint.
	rets map[*ssa.Function]*origin
	// sanitized marks values passed through a sanitizer, per check.
	changed bool
}

func (t *taint) mark(v ssa.Value, o *origin) {
	if v == nil || o == nil {
		return
	}
	if _, ok := t.values[v]; ok {
		return
	}
	t.values[v] = o
	t.changed = true
}

func (t *taint) of(v ssa.Value) *origin { return t.values[v] }

// anyOf returns the origin of the first tainted value.
func (t *taint) anyOf(vs ...ssa.Value) *origin {
	for _, v := range vs {
		if o := t.values[v]; o != nil {
			return o
		}
	}
	return nil
}

// requestFields are the attacker-controlled fields of *http.Request.
var requestFields = map[string]bool{"URL": true, "Form": true, "PostForm": true, "MultipartForm": true, "Header": true,
	"Body": true, "Host": true, "RequestURI": true, "Trailer": true, "Method": true, "RemoteAddr": true}

// sourceCalls return attacker-controlled data.
var sourceCalls = map[string]string{
	"os.Getenv": "an environment variable", "os.LookupEnv": "an environment variable", "os.Environ": "the environment",
	"flag.String": "a command-line flag", "flag.Arg": "a command-line argument", "flag.Args": "the command-line arguments",
	"(*net/http.Request).FormValue": "an HTTP request parameter", "(*net/http.Request).PostFormValue": "an HTTP request parameter",
	"(*net/http.Request).Cookie": "an HTTP cookie", "(*net/http.Request).Cookies": "HTTP cookies",
	"(*net/http.Request).Referer": "the HTTP Referer header", "(*net/http.Request).UserAgent": "the HTTP User-Agent header",
	"(*net/http.Request).PathValue": "an HTTP path parameter", "(*net/http.Request).FormFile": "an uploaded file",
	"(*net/http.Request).BasicAuth": "HTTP basic credentials", "(*net/http.Request).MultipartReader": "the request body",
	"github.com/gorilla/mux.Vars":       "HTTP path parameters",
	"github.com/go-chi/chi/v5.URLParam": "an HTTP path parameter", "github.com/go-chi/chi.URLParam": "an HTTP path parameter",
	"github.com/go-chi/chi/v5.URLParamFromCtx": "an HTTP path parameter",
	"(*bufio.Reader).ReadString":               "input read from a stream", "(*bufio.Scanner).Text": "input read from a stream",
}

// frameworkSources are the request accessors of the common web
// frameworks, by receiver type and method: gin, echo, fiber. Each returns
// data the client chose.
var frameworkSources = map[string][]string{
	"*github.com/gin-gonic/gin.Context": {"Query", "DefaultQuery", "GetQuery", "QueryArray", "GetQueryArray", "QueryMap", "GetQueryMap",
		"PostForm", "DefaultPostForm", "GetPostForm", "PostFormArray", "GetPostFormArray", "PostFormMap", "GetPostFormMap",
		"Param", "GetHeader", "Cookie", "GetRawData", "FormFile", "ClientIP", "ContentType", "FullPath"},
	"github.com/labstack/echo/v4.Context": {"QueryParam", "QueryParams", "QueryString", "Param", "ParamValues", "FormValue", "FormParams",
		"FormFile", "Cookie", "Cookies", "RealIP"},
	"*github.com/gofiber/fiber/v2.Ctx": {"Query", "Queries", "Params", "AllParams", "FormValue", "Get", "GetReqHeaders", "Cookies",
		"Body", "BodyRaw", "OriginalURL", "Path", "IP", "IPs", "Hostname", "FormFile"},
	"github.com/gofiber/fiber/v3.Ctx": {"Query", "Queries", "Params", "FormValue", "Get", "GetReqHeaders", "Cookies", "Body", "BodyRaw",
		"OriginalURL", "Path", "IP", "IPs", "Hostname", "FormFile"},
}

// frameworkBinds decode the request into what their pointer argument
// points to: c.ShouldBindJSON(&in), c.Bind(&in), c.BodyParser(&in).
var frameworkBinds = map[string][]string{
	"*github.com/gin-gonic/gin.Context": {"Bind", "BindJSON", "BindQuery", "BindUri", "BindHeader", "ShouldBind", "ShouldBindJSON",
		"ShouldBindQuery", "ShouldBindUri", "ShouldBindHeader", "ShouldBindWith", "BindWith", "ShouldBindBodyWith", "ShouldBindXML", "ShouldBindYAML"},
	"github.com/labstack/echo/v4.Context": {"Bind"},
	"*github.com/gofiber/fiber/v2.Ctx":    {"BodyParser", "QueryParser", "ParamsParser", "ReqHeaderParser", "CookieParser"},
}

// framework looks a call up in a table of framework methods by the type
// of its receiver: "QueryParam" of echo.Context, "Query" of *gin.Context.
func framework(c *ssa.CallCommon, table map[string][]string) bool {
	var recv types.Type
	var method string
	switch {
	case c.IsInvoke():
		recv, method = c.Value.Type(), c.Method.Name()
	default:
		f := c.StaticCallee()
		if f == nil || f.Signature.Recv() == nil {
			return false
		}
		recv, method = f.Signature.Recv().Type(), f.Name()
	}
	for _, m := range table[types.TypeString(recv, nil)] {
		if m == method {
			return true
		}
	}
	return false
}

// readCalls read outside input into what their pointer arguments point
// to: fmt.Scanln(&name).
var readCalls = map[string]string{"fmt.Scan": "input read from the terminal", "fmt.Scanln": "input read from the terminal",
	"fmt.Scanf": "input read from the terminal", "fmt.Fscan": "input read from a stream", "fmt.Fscanln": "input read from a stream",
	"fmt.Fscanf": "input read from a stream"}

// pointees returns the pointers a call receives in a, itself or, for a
// variadic ...any, each pointer stored into the slice.
func pointees(a ssa.Value) []ssa.Value {
	if mi, ok := a.(*ssa.MakeInterface); ok {
		a = mi.X // Bind(&in) through an any parameter
	}
	if _, ok := a.Type().Underlying().(*types.Pointer); ok {
		return []ssa.Value{a}
	}
	sl, ok := a.(*ssa.Slice)
	if !ok {
		return nil
	}
	var out []ssa.Value
	for _, r := range *sl.X.Referrers() {
		ia, ok := r.(*ssa.IndexAddr)
		if !ok {
			continue
		}
		for _, r := range *ia.Referrers() {
			st, ok := r.(*ssa.Store)
			if !ok || st.Addr != ia {
				continue
			}
			v := st.Val
			if mi, ok := v.(*ssa.MakeInterface); ok {
				v = mi.X
			}
			if _, ok := v.Type().Underlying().(*types.Pointer); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// sanitizers return values safe for the checks listed.
var sanitizers = map[string][]string{
	"strconv.Atoi": {"*"}, "strconv.ParseInt": {"*"}, "strconv.ParseUint": {"*"}, "strconv.ParseFloat": {"*"},
	"strconv.ParseBool": {"*"}, "strconv.Quote": {CheckCommandInjection},
	"html.EscapeString": {CheckXSS}, "html/template.HTMLEscapeString": {CheckXSS}, "html/template.JSEscapeString": {CheckXSS},
	"net/url.QueryEscape": {CheckXSS, CheckSSRF, CheckOpenRedirect, CheckSQLInjection}, "net/url.PathEscape": {CheckXSS, CheckSSRF, CheckPathTraversal},
	"path/filepath.Base": {CheckPathTraversal, CheckZipSlip}, "path.Base": {CheckPathTraversal, CheckZipSlip},
	"path/filepath.Clean": {CheckPathTraversal}, "path/filepath.Rel": {CheckZipSlip}, "path/filepath.IsLocal": {CheckZipSlip, CheckPathTraversal},
	"path/filepath.Localize": {CheckZipSlip, CheckPathTraversal},
}

// sink is a call that must not receive tainted data at the argument
// positions given (-1: any argument).
type sink struct {
	check string
	args  []int
}

var sinks = map[string]sink{
	"(*database/sql.DB).Query": {CheckSQLInjection, []int{0}}, "(*database/sql.DB).QueryContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.DB).QueryRow": {CheckSQLInjection, []int{0}}, "(*database/sql.DB).QueryRowContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.DB).Exec": {CheckSQLInjection, []int{0}}, "(*database/sql.DB).ExecContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.DB).Prepare": {CheckSQLInjection, []int{0}}, "(*database/sql.DB).PrepareContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.Tx).Query": {CheckSQLInjection, []int{0}}, "(*database/sql.Tx).QueryContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.Tx).QueryRow": {CheckSQLInjection, []int{0}}, "(*database/sql.Tx).QueryRowContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.Tx).Exec": {CheckSQLInjection, []int{0}}, "(*database/sql.Tx).ExecContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.Tx).Prepare": {CheckSQLInjection, []int{0}}, "(*database/sql.Tx).PrepareContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.Conn).QueryContext": {CheckSQLInjection, []int{1}}, "(*database/sql.Conn).ExecContext": {CheckSQLInjection, []int{1}},
	"(*database/sql.Conn).QueryRowContext": {CheckSQLInjection, []int{1}}, "(*database/sql.Conn).PrepareContext": {CheckSQLInjection, []int{1}},
	"(*gorm.io/gorm.DB).Raw": {CheckSQLInjection, []int{0}}, "(*gorm.io/gorm.DB).Exec": {CheckSQLInjection, []int{0}},
	"(*gorm.io/gorm.DB).Where": {CheckSQLInjection, []int{0}}, "(*gorm.io/gorm.DB).Order": {CheckSQLInjection, []int{0}},
	"(*gorm.io/gorm.DB).Group": {CheckSQLInjection, []int{0}}, "(*gorm.io/gorm.DB).Having": {CheckSQLInjection, []int{0}},
	"(*gorm.io/gorm.DB).Joins": {CheckSQLInjection, []int{0}}, "(*gorm.io/gorm.DB).Select": {CheckSQLInjection, []int{0}},
	"(*github.com/jmoiron/sqlx.DB).Select": {CheckSQLInjection, []int{1}}, "(*github.com/jmoiron/sqlx.DB).Get": {CheckSQLInjection, []int{1}},
	"(*github.com/jmoiron/sqlx.DB).Queryx": {CheckSQLInjection, []int{0}}, "(*github.com/jmoiron/sqlx.DB).QueryRowx": {CheckSQLInjection, []int{0}},
	"(*github.com/jmoiron/sqlx.DB).MustExec": {CheckSQLInjection, []int{0}}, "(*github.com/jmoiron/sqlx.DB).NamedExec": {CheckSQLInjection, []int{0}},
	"github.com/Masterminds/squirrel.Expr": {CheckSQLInjection, []int{0}},

	"os.Open": {CheckPathTraversal, []int{0}}, "os.OpenFile": {CheckPathTraversal, []int{0}}, "os.ReadFile": {CheckPathTraversal, []int{0}},
	"os.WriteFile": {CheckPathTraversal, []int{0}}, "os.Create": {CheckPathTraversal, []int{0}}, "os.Remove": {CheckPathTraversal, []int{0}},
	"os.RemoveAll": {CheckPathTraversal, []int{0}}, "os.ReadDir": {CheckPathTraversal, []int{0}}, "os.Mkdir": {CheckPathTraversal, []int{0}},
	"os.MkdirAll": {CheckPathTraversal, []int{0}}, "os.Rename": {CheckPathTraversal, []int{0, 1}}, "io/ioutil.ReadFile": {CheckPathTraversal, []int{0}},
	"io/ioutil.WriteFile": {CheckPathTraversal, []int{0}}, "net/http.ServeFile": {CheckPathTraversal, []int{2}},
	"net/http.ServeFileFS": {CheckPathTraversal, []int{3}},
	"os.DirFS":             {CheckPathTraversal, []int{0}}, "(*os.Root).Open": {CheckPathTraversal, []int{}},

	"net/http.Get": {CheckSSRF, []int{0}}, "net/http.Head": {CheckSSRF, []int{0}}, "net/http.Post": {CheckSSRF, []int{0}},
	"net/http.PostForm": {CheckSSRF, []int{0}}, "net/http.NewRequest": {CheckSSRF, []int{1}}, "net/http.NewRequestWithContext": {CheckSSRF, []int{2}},
	"(*net/http.Client).Get": {CheckSSRF, []int{0}}, "(*net/http.Client).Head": {CheckSSRF, []int{0}}, "(*net/http.Client).Post": {CheckSSRF, []int{0}},
	"(*net/http.Client).PostForm": {CheckSSRF, []int{0}}, "net.Dial": {CheckSSRF, []int{1}}, "net.DialTimeout": {CheckSSRF, []int{1}},

	"encoding/gob.NewDecoder": {CheckGobUntrusted, []int{0}},

	"(net/http.ResponseWriter).Write": {CheckXSS, []int{0}}, "net/http.Redirect": {CheckOpenRedirect, []int{2}},
}

// commandSinks start a program: the value is the position of the
// program among the arguments; the arguments follow it.
var commandSinks = map[string]int{
	"os/exec.Command": 0, "os/exec.CommandContext": 1, "golang.org/x/sys/execabs.Command": 0, "golang.org/x/sys/execabs.CommandContext": 1,
	"syscall.Exec": 0, "syscall.ForkExec": 0, "syscall.StartProcess": 0, "os.StartProcess": 0,
}

// writerSinks write to their first argument: XSS when it is an
// http.ResponseWriter.
var writerSinks = map[string]bool{"fmt.Fprintf": true, "fmt.Fprint": true, "fmt.Fprintln": true, "io.WriteString": true}

// htmlTypes are html/template types whose conversion trusts the content.
var htmlTypes = map[string]bool{"HTML": true, "JS": true, "URL": true, "HTMLAttr": true, "CSS": true, "JSStr": true, "Srcset": true}

// Finding is one flaw found by an analyzer.
type Finding struct {
	Check   string
	Pos     token.Pos
	Message string
}

func calleeName(c *ssa.CallCommon) string {
	if c.IsInvoke() {
		return c.Method.FullName()
	}
	if f := c.StaticCallee(); f != nil {
		if f.Signature.Recv() != nil || f.Parent() == nil {
			return f.String()
		}
	}
	if f, ok := c.Value.(*ssa.Function); ok {
		return f.String()
	}
	return ""
}

// carries reports whether a value of type t can carry text to a sink.
func carries(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Signature:
		return false
	}
	return true
}

func isRequest(t types.Type) bool {
	p, ok := t.(*types.Pointer)
	if !ok {
		return false
	}
	n, ok := p.Elem().(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "net/http" && n.Obj().Name() == "Request"
}

func isNamed(t types.Type, pkg, name string) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkg && n.Obj().Name() == name
}

// runTaint propagates taint over funcs to a fixed point and reports the
// sinks it reaches, and the tainted data it passes to other packages.
func runTaint(pass *analysis.Pass, funcs []*ssa.Function) ([]Finding, []Call) {
	t := &taint{values: map[ssa.Value]*origin{}, rets: map[*ssa.Function]*origin{}}
	local := propagate(t, funcs)
	r := &taintReport{t: t, seen: map[string]bool{}}
	r.walk(funcs, local)
	return r.out, r.calls
}

// summarize follows the text parameters of the package's exported
// functions and methods, which other packages call with their data, and
// returns where each goes: to a sink, or on to another package.
func summarize(funcs []*ssa.Function) map[Param][]Flow {
	t := &taint{values: map[ssa.Value]*origin{}, rets: map[*ssa.Function]*origin{}}
	for _, f := range funcs {
		if obj := f.Object(); obj == nil || !obj.Exported() {
			continue
		}
		for i, p := range f.Params {
			if text(p.Type()) {
				name := f.String()
				t.mark(p, &origin{what: fmt.Sprintf("parameter %s of %s", p.Name(), shortName(name)), pos: p.Pos(), param: &Param{Func: name, Index: i}})
			}
		}
	}
	local := propagate(t, funcs)
	r := &taintReport{t: t, seen: map[string]bool{}, flows: map[Param][]Flow{}}
	r.walk(funcs, local)
	return r.flows
}

// text reports types that hold text a caller controls: strings, bytes
// and lists of them.
func text(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Slice:
		return text(u.Elem()) || types.Identical(u.Elem(), types.Typ[types.Byte])
	}
	return false
}

// propagate runs the propagation rules over funcs to a fixed point and
// returns the set of funcs.
func propagate(t *taint, funcs []*ssa.Function) map[*ssa.Function]bool {
	local := map[*ssa.Function]bool{}
	for _, f := range funcs {
		local[f] = true
	}
	for iter := 0; iter < 50; iter++ {
		t.changed = false
		for _, f := range funcs {
			t.function(f, local)
		}
		if !t.changed {
			break
		}
	}
	return local
}

// walk reports the sinks tainted data reaches in funcs and the calls that
// take it to other packages.
func (r *taintReport) walk(funcs []*ssa.Function, local map[*ssa.Function]bool) {
	for _, f := range funcs {
		r.sanitized = sanitizedChecks(f, r.t)
		for _, b := range f.Blocks {
			for _, ins := range b.Instrs {
				switch ins := ins.(type) {
				case ssa.CallInstruction:
					r.sink(ins)
					r.outward(ins, local)
				case *ssa.Convert, *ssa.ChangeType:
					r.trusted(ins)
				}
			}
		}
	}
}

// taintReport turns tainted values that reach sinks into findings, one per
// check and position, leaving out the checks a function sanitizes for.
type taintReport struct {
	t         *taint
	sanitized map[string]bool
	seen      map[string]bool
	out       []Finding
	// flows, in summary mode, collects where parameters go.
	flows map[Param][]Flow
	// calls collects tainted data passed to other packages' functions.
	calls []Call
}

func appendFlow(fs []Flow, f Flow) []Flow {
	for _, g := range fs {
		if g.Check == f.Check && (g.Next == nil) == (f.Next == nil) && (g.Next == nil || *g.Next == *f.Next) {
			return fs
		}
	}
	return append(fs, f)
}

// outward records tainted arguments of a call to a function of another
// package: as flows of the parameters they came from in summary mode, as
// calls to resolve against that package's flows otherwise.
func (r *taintReport) outward(ins ssa.CallInstruction, local map[*ssa.Function]bool) {
	c := ins.Common()
	f := c.StaticCallee()
	if f == nil || local[f] {
		return
	}
	name := f.String()
	for i, a := range c.Args {
		o := r.t.of(a)
		if o == nil {
			continue
		}
		to := Param{Func: name, Index: i}
		switch {
		case o.param != nil && r.flows != nil:
			r.flows[*o.param] = appendFlow(r.flows[*o.param], Flow{Next: &to})
		case o.param == nil && r.flows == nil:
			r.calls = append(r.calls, Call{To: to, What: o.what, Pos: ins.Pos()})
		}
	}
}

func (r *taintReport) report(check string, pos token.Pos, o *origin, msg string) {
	if r.sanitized[check] {
		return
	}
	if o.param != nil {
		if r.flows != nil {
			r.flows[*o.param] = appendFlow(r.flows[*o.param], Flow{Check: check, Sink: msg})
		}
		return
	}
	key := fmt.Sprintf("%s@%d", check, pos)
	if !r.seen[key] {
		r.seen[key] = true
		r.out = append(r.out, Finding{Check: check, Pos: pos, Message: msg})
	}
}

// sink reports a call that takes tainted data where a sink reads it, or
// writes it to an HTTP response.
func (r *taintReport) sink(ins ssa.CallInstruction) {
	c := ins.Common()
	name := calleeName(c)
	// Sink positions count the arguments after the receiver; an interface
	// call's Args hold no receiver.
	args := c.Args
	if !c.IsInvoke() && c.Signature().Recv() != nil && len(args) > 0 {
		args = args[1:] // the receiver
	}
	if prog, ok := commandSinks[name]; ok && prog < len(args) {
		r.command(ins, name, args[prog], args[prog+1:])
	}
	if s, ok := sinks[name]; ok {
		for i, a := range args {
			if !wants(s.args, i) {
				continue
			}
			if o := r.t.of(a); o != nil {
				check := s.check
				if o.archive && check == CheckPathTraversal {
					check = CheckZipSlip
				}
				if r.sanitized[check] {
					continue
				}
				r.report(check, ins.Pos(), o, fmt.Sprintf("%s flows into %s", o.what, shortName(name)))
				break
			}
		}
	}
	if writerSinks[name] && len(args) > 1 && isResponseWriter(args[0]) {
		if o := r.t.anyOf(args[1:]...); o != nil {
			r.report(CheckXSS, ins.Pos(), o, fmt.Sprintf("%s is written to the HTTP response by %s", o.what, shortName(name)))
		}
	}
}

// command reports tainted data given to a program that a call starts.
// A tainted program is command injection: the data chooses what runs. So
// is a shell whose script or options are tainted; data after a constant
// script is the script's positional parameters ("$1"), the shell's safe
// way to take it. A tainted argument of a fixed program that is not a
// shell is argument injection, unless a constant "--" ends the options
// before it: no other program starts, but the data can add options.
func (r *taintReport) command(ins ssa.CallInstruction, name string, prog ssa.Value, args []ssa.Value) {
	if o := r.t.of(prog); o != nil {
		r.report(CheckCommandInjection, ins.Pos(), o, fmt.Sprintf("%s chooses the program %s runs", o.what, shortName(name)))
		return
	}
	// The argument list as written, when the call spells it out.
	var elems []ssa.Value
	if len(args) == 1 {
		elems = sliceElems(args[0])
	}
	o := r.t.anyOf(append(args, elems...)...)
	if o == nil {
		return
	}
	program := "a program"
	if s, ok := constStringValue(prog); ok {
		program = s
	}
	if opt, shell := shells[strings.ToLower(program[strings.LastIndexAny(program, `/\`)+1:])]; shell {
		if elems == nil || shellTainted(r.t, elems, opt) {
			r.report(CheckCommandInjection, ins.Pos(), o, fmt.Sprintf("%s reaches the shell %s run by %s: it can run any command", o.what, program, shortName(name)))
		}
		return
	}
	if elems != nil && !optionsTainted(r.t, elems) {
		return
	}
	r.report(CheckArgInjection, ins.Pos(), o, fmt.Sprintf("%s is an argument of %s run by %s: it cannot start another program but can add options to this one", o.what, program, shortName(name)))
}

// shellTainted reports whether tainted data reaches a shell's options or
// script (elems are its arguments; opt is its script option, -c).
func shellTainted(t *taint, elems []ssa.Value, opt string) bool {
	for i, e := range elems {
		if t.of(e) != nil {
			return true
		}
		if s, ok := constStringValue(e); ok && strings.EqualFold(s, opt) {
			return i+1 < len(elems) && t.of(elems[i+1]) != nil
		}
	}
	return false
}

// optionsTainted reports whether tainted data is among the arguments
// before a constant "--" (all of them when there is none).
func optionsTainted(t *taint, elems []ssa.Value) bool {
	for _, e := range elems {
		if s, ok := constStringValue(e); ok && s == "--" {
			return false
		}
		if t.of(e) != nil {
			return true
		}
	}
	return false
}

// sliceElems returns the elements of a slice built in place, as for the
// variadic arguments of a call (f("a", x)): the stores into the array it
// slices, by index. It returns nil when the slice comes from elsewhere or
// an element is not stored at a constant index.
func sliceElems(v ssa.Value) []ssa.Value {
	sl, ok := v.(*ssa.Slice)
	if !ok {
		return nil
	}
	arr, ok := sl.X.(*ssa.Alloc)
	if !ok || sl.Low != nil || sl.High != nil {
		return nil
	}
	at, ok := arr.Type().Underlying().(*types.Pointer)
	if !ok {
		return nil
	}
	a, ok := at.Elem().Underlying().(*types.Array)
	if !ok {
		return nil
	}
	elems := make([]ssa.Value, a.Len())
	for _, ref := range *arr.Referrers() {
		ia, ok := ref.(*ssa.IndexAddr)
		if !ok {
			continue
		}
		idx, ok := ia.Index.(*ssa.Const)
		if !ok || idx.Value == nil {
			return nil
		}
		i, exact := constant.Int64Val(idx.Value)
		if !exact || i < 0 || i >= a.Len() {
			return nil
		}
		for _, st := range *ia.Referrers() {
			if store, ok := st.(*ssa.Store); ok && store.Addr == ia {
				elems[i] = store.Val
			}
		}
	}
	for _, e := range elems {
		if e == nil {
			return nil
		}
	}
	return elems
}

// constStringValue is the value of a constant string.
func constStringValue(v ssa.Value) (string, bool) {
	c, ok := v.(*ssa.Const)
	if !ok || c.Value == nil || c.Value.Kind() != constant.String {
		return "", false
	}
	return constant.StringVal(c.Value), true
}

// trusted reports tainted data converted to an html/template type that
// is inserted unescaped.
func (r *taintReport) trusted(ins ssa.Instruction) {
	v := ins.(ssa.Value)
	if !isNamedIn(v.Type(), "html/template", htmlTypes) {
		return
	}
	if o := r.t.of(operand0(ins)); o != nil {
		r.report(CheckXSS, v.Pos(), o, fmt.Sprintf("%s is trusted as %s, unescaped", o.what, v.Type().String()))
	}
}

func wants(positions []int, i int) bool {
	for _, p := range positions {
		if p == -1 || p == i {
			return true
		}
	}
	return false
}

func shortName(n string) string { return strings.NewReplacer("(*", "", ")", "").Replace(n) }

func isNamedIn(t types.Type, pkg string, names map[string]bool) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkg && names[n.Obj().Name()]
}

func operand0(ins ssa.Instruction) ssa.Value {
	ops := ins.Operands(nil)
	if len(ops) == 0 || ops[0] == nil {
		return nil
	}
	return *ops[0]
}

// isResponseWriter reports whether v is an http.ResponseWriter, perhaps
// converted to an io.Writer.
func isResponseWriter(v ssa.Value) bool {
	if mi, ok := v.(*ssa.MakeInterface); ok {
		v = mi.X
	}
	if ci, ok := v.(*ssa.ChangeInterface); ok {
		v = ci.X
	}
	return isNamed(v.Type(), "net/http", "ResponseWriter")
}

// sanitizedChecks lists checks a function guards against by calling a
// validation on tainted data: a prefix check of a joined path (zip slip),
// strings.Contains(x, "..").
func sanitizedChecks(f *ssa.Function, t *taint) map[string]bool {
	out := map[string]bool{}
	for _, b := range f.Blocks {
		for _, ins := range b.Instrs {
			call, ok := ins.(*ssa.Call)
			if !ok {
				continue
			}
			switch calleeName(&call.Call) {
			case "strings.HasPrefix", "path/filepath.IsLocal", "strings.Contains", "path/filepath.Rel":
				if t.anyOf(call.Call.Args...) != nil {
					out[CheckZipSlip] = true
				}
			case "(net/http.Header).Set", "(net/http.Header).Add":
				if len(call.Call.Args) == 3 && inertContentType(call.Call.Args[1], call.Call.Args[2]) {
					out[CheckXSS] = true
				}
			}
		}
	}
	return out
}

// inertContentType reports whether a header set is a Content-Type under
// which a browser does not run script: a constant media type that is not
// HTML, XML or SVG (text/plain, application/json, image/png). Without one,
// net/http sniffs the body and may well serve it as text/html.
func inertContentType(key, value ssa.Value) bool {
	k, ok := constStringValue(key)
	if !ok || !strings.EqualFold(k, "Content-Type") {
		return false
	}
	v, ok := constStringValue(value)
	if !ok {
		return false
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	return !strings.Contains(mt, "html") && !strings.Contains(mt, "xml") && !strings.Contains(mt, "svg")
}

// function applies the propagation rules to one function's instructions.
func (t *taint) function(f *ssa.Function, local map[*ssa.Function]bool) {
	for _, p := range f.Params {
		if isRequest(p.Type()) {
			t.mark(p, &origin{what: "HTTP request data", pos: p.Pos()})
		}
	}
	for _, b := range f.Blocks {
		for _, ins := range b.Instrs {
			if x := operand(ins); x != nil {
				t.source(ins)
				t.mark(ins.(ssa.Value), t.of(x))
				continue
			}
			t.instruction(f, ins, local)
		}
	}
}

// operand is the one value a value-producing instruction derives from, so
// that its result carries that value's taint (nil for other instructions).
func operand(ins ssa.Instruction) ssa.Value {
	switch ins := ins.(type) {
	case *ssa.UnOp:
		return ins.X
	case *ssa.FieldAddr:
		return ins.X
	case *ssa.Field:
		return ins.X
	case *ssa.IndexAddr:
		return ins.X
	case *ssa.Index:
		return ins.X
	case *ssa.Lookup:
		return ins.X
	case *ssa.Slice:
		return ins.X
	case *ssa.Extract:
		return ins.Tuple
	case *ssa.Convert:
		return ins.X
	case *ssa.ChangeType:
		return ins.X
	case *ssa.MakeInterface:
		return ins.X
	case *ssa.ChangeInterface:
		return ins.X
	case *ssa.TypeAssert:
		return ins.X
	case *ssa.Range:
		return ins.X
	case *ssa.Next:
		return ins.Iter
	}
	return nil
}

// source marks the reads that bring outside data in: os.Args, fields of
// an HTTP request, names of archive entries.
func (t *taint) source(ins ssa.Instruction) {
	switch ins := ins.(type) {
	case *ssa.UnOp:
		if g, ok := ins.X.(*ssa.Global); ok && g.Pkg != nil && g.Pkg.Pkg.Path() == "os" && g.Name() == "Args" {
			t.mark(ins, &origin{what: "os.Args", pos: ins.Pos()})
		}
	case *ssa.FieldAddr:
		field := fieldName(ins)
		if isRequest(ins.X.Type()) && requestFields[field] {
			t.mark(ins, &origin{what: "HTTP request data (" + field + ")", pos: ins.Pos()})
		}
		archive := isNamed(ins.X.Type(), "archive/zip", "File") || isNamed(ins.X.Type(), "archive/zip", "FileHeader") || isNamed(ins.X.Type(), "archive/tar", "Header")
		if archive && (field == "Name" || field == "FileHeader" || field == "Linkname") {
			t.mark(ins, &origin{what: "an archive entry's name", pos: ins.Pos(), archive: true})
		}
	}
}

// fieldName is the name of the struct field an address points to ("" when
// the base is not a pointer to a struct).
func fieldName(ins *ssa.FieldAddr) string {
	ptr, ok := ins.X.Type().Underlying().(*types.Pointer)
	if !ok {
		return ""
	}
	st, ok := ptr.Elem().Underlying().(*types.Struct)
	if !ok || ins.Field >= st.NumFields() {
		return ""
	}
	return st.Field(ins.Field).Name()
}

// instruction applies the rules of the instructions that merge, store or
// return taint, and of calls.
func (t *taint) instruction(f *ssa.Function, ins ssa.Instruction, local map[*ssa.Function]bool) {
	switch ins := ins.(type) {
	case *ssa.BinOp:
		if carries(ins.Type()) {
			t.mark(ins, t.anyOf(ins.X, ins.Y))
		}
	case *ssa.Phi:
		t.mark(ins, t.anyOf(ins.Edges...))
	case *ssa.Store:
		if o := t.of(ins.Val); o != nil {
			t.mark(ins.Addr, o)
			t.mark(root(ins.Addr), o)
		}
	case *ssa.MapUpdate:
		if o := t.anyOf(ins.Key, ins.Value); o != nil {
			t.mark(ins.Map, o)
		}
	case *ssa.MakeClosure:
		if fn, ok := ins.Fn.(*ssa.Function); ok {
			for i, b := range ins.Bindings {
				if i < len(fn.FreeVars) {
					t.mark(fn.FreeVars[i], t.of(b))
				}
			}
		}
	case *ssa.Return:
		if o := t.anyOf(ins.Results...); o != nil {
			if _, ok := t.rets[f]; !ok {
				t.rets[f] = o
				t.changed = true
			}
		}
	case ssa.CallInstruction:
		t.call(ins, local)
	}
}

// root follows field and element addresses to the variable they are in.
func root(v ssa.Value) ssa.Value {
	for {
		switch x := v.(type) {
		case *ssa.FieldAddr:
			v = x.X
		case *ssa.IndexAddr:
			v = x.X
		default:
			return v
		}
	}
}

// call propagates taint through a call: sources, sanitizers, the
// package's own functions (into parameters and out of results), and
// other functions conservatively (tainted arguments taint the result
// and what pointer arguments point to).
func (t *taint) call(ins ssa.CallInstruction, local map[*ssa.Function]bool) {
	c := ins.Common()
	name := calleeName(c)
	v := ins.Value() // nil for go and defer
	if what, ok := sourceCalls[name]; ok && v != nil {
		t.mark(v, &origin{what: what, pos: ins.Pos()})
		return
	}
	if v != nil && framework(c, frameworkSources) {
		t.mark(v, &origin{what: "HTTP request data (" + shortName(name) + ")", pos: ins.Pos()})
		return
	}
	if framework(c, frameworkBinds) {
		o := &origin{what: "the decoded HTTP request (" + shortName(name) + ")", pos: ins.Pos()}
		for _, a := range c.Args {
			for _, p := range pointees(a) {
				t.mark(p, o)
				t.mark(root(p), o)
			}
		}
		return
	}
	if what, ok := readCalls[name]; ok {
		o := &origin{what: what, pos: ins.Pos()}
		for _, a := range c.Args {
			for _, p := range pointees(a) {
				t.mark(p, o)
				t.mark(root(p), o)
			}
		}
		return
	}
	if _, ok := sanitizers[name]; ok {
		return
	}
	args := c.Args
	if c.IsInvoke() {
		args = append([]ssa.Value{c.Value}, c.Args...)
	}
	if f := c.StaticCallee(); f != nil && local[f] {
		for i, a := range c.Args {
			if i < len(f.Params) {
				t.mark(f.Params[i], t.of(a))
			}
		}
		if o := t.rets[f]; o != nil && v != nil {
			t.mark(v, o)
		}
		return
	}
	o := t.anyOf(args...)
	if o == nil {
		return
	}
	if v != nil && carries(v.Type()) {
		t.mark(v, o)
	}
	for _, a := range c.Args {
		switch a.Type().Underlying().(type) {
		case *types.Pointer, *types.Slice, *types.Map:
			if _, isConst := a.(*ssa.Const); !isConst {
				t.mark(a, o)
				t.mark(root(a), o)
			}
		}
	}
}
