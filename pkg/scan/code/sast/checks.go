package sast

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"

	"github.com/vigilsec/vigil/pkg/checks"
	"golang.org/x/tools/go/ssa"
)

// Syntactic and type-based check ids.
const (
	CheckWeakCrypto     = "VGL-CODE-120"
	CheckTLSNoVerify    = "VGL-CODE-121"
	CheckTLSVersion     = "VGL-CODE-122"
	CheckWeakRandom     = "VGL-CODE-123"
	CheckFilePerms      = "VGL-CODE-124"
	CheckBindAll        = "VGL-CODE-125"
	CheckDecompression  = "VGL-CODE-126"
	CheckIntOverflow    = "VGL-CODE-127"
	CheckHardcodedIV    = "VGL-CODE-128"
	CheckWeakRSA        = "VGL-CODE-129"
	CheckSSHHostKey     = "VGL-CODE-130"
	CheckPprof          = "VGL-CODE-131"
	CheckHTTPTimeouts   = "VGL-CODE-132"
	CheckInsecureCookie = "VGL-CODE-133"
	CheckTempFile       = "VGL-CODE-134"
	CheckHTTPDirRoot    = "VGL-CODE-135"
	CheckTrojanSource   = "VGL-CODE-136"
	CheckCGI            = "VGL-CODE-137"
)

// funcName is the package-qualified name of a called function or method
// ("crypto/md5.New", "(*net/http.Client).Get").
func funcName(info *types.Info, call *ast.CallExpr) string {
	return funcNameIn(info, call, nil)
}

// funcNameIn is funcName with a fallback for calls into packages that did
// not type-check (not in the module cache): "pkg.Func" is resolved through
// the file's imports.
func funcNameIn(info *types.Info, call *ast.CallExpr, imports map[string]string) string {
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && imports != nil {
		if x, ok := sel.X.(*ast.Ident); ok && info.Uses[sel.Sel] == nil {
			if path, ok := imports[x.Name]; ok {
				return path + "." + sel.Sel.Name
			}
		}
	}
	var id *ast.Ident
	switch fn := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = fn
	case *ast.SelectorExpr:
		id = fn.Sel
	case *ast.IndexExpr:
		if s, ok := fn.X.(*ast.SelectorExpr); ok {
			id = s.Sel
		}
	}
	if id == nil {
		return ""
	}
	f, ok := info.Uses[id].(*types.Func)
	if !ok || f.Pkg() == nil {
		return ""
	}
	return f.FullName()
}

// typeInfo is the package's type information, plus the local variables
// that hold one constant all their life: initialised with it, never
// assigned again, never addressed ("v := tls.VersionTLS10").
type typeInfo struct {
	*types.Info
	fixed map[*types.Var]constant.Value
}

func newTypeInfo(info *types.Info, files []*ast.File) *typeInfo {
	w := &varWrites{info: info, value: map[*types.Var]constant.Value{}, writes: map[*types.Var]int{}}
	for _, f := range files {
		ast.Inspect(f, w.node)
	}
	fixed := map[*types.Var]constant.Value{}
	for v, c := range w.value {
		// Exported package variables can be set from other packages.
		if w.writes[v] == 1 && !(v.Exported() && v.Parent() == v.Pkg().Scope()) {
			fixed[v] = c
		}
	}
	return &typeInfo{Info: info, fixed: fixed}
}

// varWrites counts the writes of each variable and the constant it was
// declared with. A write that may happen any number of times (an
// increment, a range, taking the address) counts two.
type varWrites struct {
	info   *types.Info
	value  map[*types.Var]constant.Value
	writes map[*types.Var]int
}

func (w *varWrites) varOf(e ast.Expr) *types.Var {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return nil
	}
	obj := w.info.Defs[id]
	if obj == nil {
		obj = w.info.Uses[id]
	}
	v, _ := obj.(*types.Var)
	return v
}

// write counts n writes of e when it is a variable.
func (w *varWrites) write(e ast.Expr, n int) {
	if v := w.varOf(e); v != nil {
		w.writes[v] += n
	}
}

// declare counts the write of a declaration and records the constant it
// is declared with, if any.
func (w *varWrites) declare(name ast.Expr, value ast.Expr, declares bool) {
	v := w.varOf(name)
	if v == nil {
		return
	}
	w.writes[v]++
	if !declares || value == nil {
		return
	}
	if tv := w.info.Types[value]; tv.Value != nil {
		w.value[v] = tv.Value
	}
}

func (w *varWrites) node(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.ValueSpec:
		for i, name := range n.Names {
			w.declare(name, nth(n.Values, i, len(n.Names)), true)
		}
	case *ast.AssignStmt:
		for i, lhs := range n.Lhs {
			id, _ := ast.Unparen(lhs).(*ast.Ident)
			declared := n.Tok == token.DEFINE && id != nil && w.info.Defs[id] != nil
			w.declare(lhs, nth(n.Rhs, i, len(n.Lhs)), declared)
		}
	case *ast.IncDecStmt:
		w.write(n.X, 2)
	case *ast.UnaryExpr:
		if n.Op == token.AND {
			w.write(n.X, 2)
		}
	case *ast.RangeStmt:
		w.write(n.Key, 2)
		w.write(n.Value, 2)
	}
	return true
}

// nth is es[i] when es pairs one to one with n names, else nil.
func nth(es []ast.Expr, i, n int) ast.Expr {
	if len(es) != n {
		return nil
	}
	return es[i]
}

// constValue is the constant value of e, or nil.
func (info *typeInfo) constValue(e ast.Expr) constant.Value {
	if tv, ok := info.Types[e]; ok && tv.Value != nil {
		return tv.Value
	}
	if id, ok := ast.Unparen(e).(*ast.Ident); ok {
		if v, ok := info.Uses[id].(*types.Var); ok {
			return info.fixed[v]
		}
	}
	return nil
}

func constInt(info *typeInfo, e ast.Expr) (int64, bool) {
	c := info.constValue(e)
	if c == nil {
		return 0, false
	}
	v, ok := constant.Int64Val(constant.ToInt(c))
	return v, ok
}

func constString(info *typeInfo, e ast.Expr) (string, bool) {
	c := info.constValue(e)
	if c == nil || c.Kind() != constant.String {
		return "", false
	}
	return constant.StringVal(c), true
}

var weakCrypto = map[string]string{
	"crypto/md5.New": "MD5", "crypto/md5.Sum": "MD5", "crypto/sha1.New": "SHA-1", "crypto/sha1.Sum": "SHA-1",
	"crypto/des.NewCipher": "DES", "crypto/des.NewTripleDESCipher": "3DES", "crypto/rc4.NewCipher": "RC4",
	"golang.org/x/crypto/md4.New": "MD4", "golang.org/x/crypto/ripemd160.New": "RIPEMD-160", "golang.org/x/crypto/blowfish.NewCipher": "Blowfish",
}

var weakRandom = map[string]bool{"Int": true, "Intn": true, "Int31": true, "Int31n": true, "Int63": true, "Int63n": true,
	"Uint32": true, "Uint64": true, "Float32": true, "Float64": true, "Read": true, "Perm": true, "Shuffle": true, "IntN": true,
	"Int32": true, "Int32N": true, "Int64": true, "Int64N": true, "Uint32N": true, "Uint64N": true, "UintN": true, "Uint": true, "N": true, "NormFloat64": true, "ExpFloat64": true}

// filePermCalls give the position of the mode argument and the most
// permissive mode that is acceptable.
var filePermCalls = map[string][2]int64{
	"os.WriteFile": {2, 0o600}, "io/ioutil.WriteFile": {2, 0o600}, "os.OpenFile": {2, 0o600}, "os.Chmod": {1, 0o600},
	"os.Mkdir": {1, 0o750}, "os.MkdirAll": {1, 0o750},
}

var cipherIVCalls = map[string]int{"crypto/cipher.NewCBCEncrypter": 1, "crypto/cipher.NewCBCDecrypter": 1, "crypto/cipher.NewCTR": 1,
	"crypto/cipher.NewOFB": 1, "crypto/cipher.NewCFBEncrypter": 1, "crypto/cipher.NewCFBDecrypter": 1}

// shells take a script after their "-c" option ("/c" for cmd.exe).
var shells = map[string]string{"sh": "-c", "bash": "-c", "zsh": "-c", "dash": "-c", "ksh": "-c", "ash": "-c",
	"cmd": "/c", "cmd.exe": "/c", "powershell": "-command", "powershell.exe": "-command", "pwsh": "-command"}

// shellScript returns the index in args of a shell's script (sh -c X)
// when X is not a constant, else -1.
func shellScript(info *typeInfo, args []ast.Expr) int {
	if len(args) < 3 {
		return -1
	}
	prog, ok := constString(info, args[0])
	if !ok {
		return -1
	}
	opt, ok := shells[strings.ToLower(prog[strings.LastIndexAny(prog, `/\`)+1:])]
	if !ok {
		return -1
	}
	for i := 1; i+1 < len(args); i++ {
		a, ok := constString(info, args[i])
		if !ok {
			return -1 // a computed option: not a script position we know
		}
		if strings.EqualFold(a, opt) {
			if _, isConst := constString(info, args[i+1]); isConst {
				return -1
			}
			return i + 1
		}
	}
	return -1
}

// runSyntax runs the checks that need syntax and types only.
func runSyntax(pass *analysis.Pass) []Finding {
	sp := &syntaxPass{info: newTypeInfo(pass.TypesInfo, pass.Files)}
	for _, file := range pass.Files {
		sp.readImports(file)
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sp.call(n)
			case *ast.CompositeLit:
				sp.literal(n)
			case *ast.AssignStmt:
				sp.assign(n)
			}
			return true
		})
	}
	return sp.out
}

// syntaxPass holds what the syntax checks share while they walk a file:
// the types, the file's imports by local name and the findings so far.
type syntaxPass struct {
	info    *typeInfo
	imports map[string]string
	out     []Finding
}

func (sp *syntaxPass) add(check string, pos token.Pos, format string, args ...any) {
	sp.out = append(sp.out, Finding{Check: check, Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// readImports records the file's imports and flags the packages that are
// a risk by being imported at all.
func (sp *syntaxPass) readImports(file *ast.File) {
	sp.imports = map[string]string{}
	for _, imp := range file.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		local := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			local = imp.Name.Name
		}
		sp.imports[local] = path
		switch path {
		case "net/http/pprof":
			sp.add(CheckPprof, imp.Pos(), "net/http/pprof is imported: it serves profiling data of the process on the default mux")
		case "net/http/cgi":
			sp.add(CheckCGI, imp.Pos(), "net/http/cgi is imported: CGI handlers run with the request's headers in their environment (httpoxy)")
		}
	}
}

// call checks a call by the function it calls.
func (sp *syntaxPass) call(n *ast.CallExpr) {
	info := sp.info
	sp.dirRoot(n)
	name := funcNameIn(info.Info, n, sp.imports)
	if algo, ok := weakCrypto[name]; ok {
		sp.add(CheckWeakCrypto, n.Pos(), "%s is a broken algorithm (%s)", algo, name)
	}
	// Package functions and the methods of a *rand.Rand alike.
	if strings.HasPrefix(name, "math/rand.") || strings.HasPrefix(name, "math/rand/v2.") ||
		strings.HasPrefix(name, "(*math/rand.Rand).") || strings.HasPrefix(name, "(*math/rand/v2.Rand).") {
		if fn := name[strings.LastIndex(name, ".")+1:]; weakRandom[fn] {
			sp.add(CheckWeakRandom, n.Pos(), "%s is not a cryptographic random source; use crypto/rand for keys, tokens and nonces", name)
		}
	}
	if p, ok := filePermCalls[name]; ok && int(p[0]) < len(n.Args) {
		if mode, ok := constInt(info, n.Args[p[0]]); ok && mode&^p[1] != 0 {
			sp.add(CheckFilePerms, n.Pos(), "%s with mode %#o grants more than %#o", name, mode, p[1])
		}
	}
	sp.namedCall(name, n)
}

// namedCall checks the calls whose risk depends on one constant argument.
func (sp *syntaxPass) namedCall(name string, n *ast.CallExpr) {
	info := sp.info
	switch name {
	case "os/exec.Command", "os/exec.CommandContext", "golang.org/x/sys/execabs.Command", "golang.org/x/sys/execabs.CommandContext":
		args := n.Args
		if strings.HasSuffix(name, "Context") && len(args) > 0 {
			args = args[1:]
		}
		if i := shellScript(info, args); i >= 0 {
			sp.add(CheckCommandInjection, n.Pos(), "%s runs a shell on a command string that is not a constant: whatever reaches it is run as shell code; pass the program and its arguments separately", name)
		}
	case "net.Listen", "crypto/tls.Listen", "net.ListenPacket":
		if addr, ok := constArg(info, n, 1); ok && allInterfaces(addr) {
			sp.add(CheckBindAll, n.Pos(), "%s listens on all interfaces (%q)", name, addr)
		}
	case "crypto/rsa.GenerateKey":
		if len(n.Args) > 1 {
			if bits, ok := constInt(info, n.Args[1]); ok && bits < 2048 {
				sp.add(CheckWeakRSA, n.Pos(), "RSA key of %d bits; use at least 2048", bits)
			}
		}
	case "golang.org/x/crypto/ssh.InsecureIgnoreHostKey":
		sp.add(CheckSSHHostKey, n.Pos(), "ssh.InsecureIgnoreHostKey accepts any host key: the connection can be intercepted")
	case "net/http.ListenAndServe", "net/http.ListenAndServeTLS", "net/http.Serve", "net/http.ServeTLS":
		sp.add(CheckHTTPTimeouts, n.Pos(), "%s runs a server without read timeouts (slowloris); use an http.Server with ReadHeaderTimeout", name)
	case "os.Create", "os.WriteFile", "io/ioutil.WriteFile":
		if p, ok := constArg(info, n, 0); ok && (strings.HasPrefix(p, "/tmp/") || strings.HasPrefix(p, "/var/tmp/")) {
			sp.add(CheckTempFile, n.Pos(), "a file at a fixed path in a shared temporary folder (%s) can be pre-created or linked by another user; use os.CreateTemp", p)
		}
	}
}

// constArg is the constant string value of argument i of a call.
func constArg(info *typeInfo, n *ast.CallExpr, i int) (string, bool) {
	if i >= len(n.Args) {
		return "", false
	}
	return constString(info, n.Args[i])
}

// dirRoot flags http.Dir("/"), which serves the whole file system.
func (sp *syntaxPass) dirRoot(call *ast.CallExpr) {
	if len(call.Args) != 1 {
		return
	}
	if tv := sp.info.Types[call.Fun]; tv.IsType() && isNamed(tv.Type, "net/http", "Dir") {
		if s, ok := constString(sp.info, call.Args[0]); ok && s == "/" {
			sp.add(CheckHTTPDirRoot, call.Pos(), `http.Dir("/") serves the root of the file system`)
		}
	}
}

// literal checks composite literals of the types with risky defaults.
func (sp *syntaxPass) literal(n *ast.CompositeLit) {
	info := sp.info
	tv := info.Types[n]
	switch {
	case tv.Type == nil:
	case isNamed(tv.Type, "crypto/tls", "Config"):
		tlsConfig(info, n, sp.add)
	case isNamed(tv.Type, "net/http", "Server"):
		if !hasField(n, "ReadHeaderTimeout") && !hasField(n, "ReadTimeout") {
			sp.add(CheckHTTPTimeouts, n.Pos(), "http.Server without ReadHeaderTimeout or ReadTimeout (slowloris)")
		}
	case isNamed(tv.Type, "net/http", "Cookie"):
		if !fieldTrue(info.Info, n, "Secure") || !fieldTrue(info.Info, n, "HttpOnly") {
			sp.add(CheckInsecureCookie, n.Pos(), "http.Cookie without Secure and HttpOnly")
		}
	}
}

// assign checks fields of a tls.Config set one at a time.
func (sp *syntaxPass) assign(n *ast.AssignStmt) {
	for i, lhs := range n.Lhs {
		sel, ok := lhs.(*ast.SelectorExpr)
		if !ok || i >= len(n.Rhs) {
			continue
		}
		recv := sp.info.Types[sel.X].Type
		if recv == nil || !isNamed(recv, "crypto/tls", "Config") {
			continue
		}
		tlsField(sp.info, sel.Sel.Name, n.Rhs[i], sel.Pos(), sp.add)
	}
}

func allInterfaces(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "" || host == "0.0.0.0" || host == "::"
}

func tlsConfig(info *typeInfo, lit *ast.CompositeLit, add func(string, token.Pos, string, ...any)) {
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if key, ok := kv.Key.(*ast.Ident); ok {
			tlsField(info, key.Name, kv.Value, kv.Pos(), add)
		}
	}
}

func tlsField(info *typeInfo, field string, value ast.Expr, pos token.Pos, add func(string, token.Pos, string, ...any)) {
	switch field {
	case "InsecureSkipVerify":
		if c := info.constValue(value); c != nil && c.Kind() == constant.Bool && constant.BoolVal(c) {
			add(CheckTLSNoVerify, pos, "InsecureSkipVerify: true accepts any certificate: the connection can be intercepted")
		}
	case "MinVersion", "MaxVersion":
		// 0 means the default: TLS 1.2 at least, for clients and servers.
		if v, ok := constInt(info, value); ok && v != 0 && v < 0x0303 {
			add(CheckTLSVersion, pos, "TLS %s %#04x is below TLS 1.2", field, v)
		}
	case "CipherSuites":
		lit, ok := ast.Unparen(value).(*ast.CompositeLit)
		if !ok {
			return
		}
		for _, el := range lit.Elts {
			if sel, ok := el.(*ast.SelectorExpr); ok && strings.HasPrefix(sel.Sel.Name, "TLS_") && checks.WeakCipherSuite(sel.Sel.Name) {
				add(CheckTLSVersion, el.Pos(), "cipher suite %s lacks forward secrecy or uses a weak cipher", sel.Sel.Name)
			}
		}
	}
}

func hasField(lit *ast.CompositeLit, name string) bool {
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == name {
				return true
			}
		}
	}
	return false
}

func fieldTrue(info *types.Info, lit *ast.CompositeLit, name string) bool {
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == name {
				tv := info.Types[kv.Value]
				return tv.Value == nil || constant.BoolVal(tv.Value)
			}
		}
	}
	return false
}

// bidi are the Unicode bidirectional controls of Trojan Source
// (CVE-2021-42574), and the invisible direction marks (LRM, RLM, ALM)
// that reorder the neutral characters around them just as silently.
var bidi = []string{"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"}

// runTrojan reports bidirectional control characters in the source.
func runTrojan(pass *analysis.Pass, read func(string) ([]byte, error)) []Finding {
	var out []Finding
	for _, f := range pass.Files {
		tf := pass.Fset.File(f.Pos())
		if tf == nil {
			continue
		}
		data, err := read(tf.Name())
		if err != nil {
			continue
		}
		s := string(data)
		for _, c := range bidi {
			if i := strings.Index(s, c); i >= 0 {
				out = append(out, Finding{Check: CheckTrojanSource, Pos: tf.Pos(i), Message: fmt.Sprintf("Unicode bidirectional control %U can make code read differently than it compiles (Trojan Source)", []rune(c)[0])})
				break
			}
		}
	}
	return out
}

// decompressors return readers whose output can be far larger than their input.
var decompressors = map[string]bool{"compress/gzip.NewReader": true, "compress/zlib.NewReader": true, "compress/flate.NewReader": true,
	"compress/bzip2.NewReader": true, "compress/lzw.NewReader": true, "(*archive/zip.File).Open": true, "archive/zip.OpenReader": true}

// runSSAChecks runs the checks that follow values: decompression without
// a limit, narrowing conversions of parsed integers.
func runSSAChecks(funcs []*ssa.Function) []Finding {
	var out []Finding
	flow := newIVFlow(funcs)
	for _, f := range funcs {
		for _, b := range f.Blocks {
			for _, ins := range b.Instrs {
				switch ins := ins.(type) {
				case *ssa.Call:
					name := calleeName(&ins.Call)
					iv := -1
					if i, ok := cipherIVCalls[name]; ok {
						iv = i
					} else if name == "(crypto/cipher.AEAD).Seal" || name == "(crypto/cipher.AEAD).Open" {
						iv = 1
					}
					if iv >= 0 && iv < len(ins.Call.Args) && flow.fixed(ins.Call.Args[iv], 0) {
						out = append(out, Finding{Check: CheckHardcodedIV, Pos: ins.Pos(), Message: fmt.Sprintf("%s is given an IV or nonce fixed in the program; generate a random one per message", shortName(name))})
					}
					if (name == "io.Copy" || name == "io.CopyBuffer") && len(ins.Call.Args) > 1 && fromDecompressor(ins.Call.Args[1], 0) {
						out = append(out, Finding{Check: CheckDecompression, Pos: ins.Pos(), Message: "io.Copy from a decompressing reader without io.LimitReader: a small archive can expand without bound"})
					}
				case *ssa.Convert:
					if narrowed(ins) {
						out = append(out, Finding{Check: CheckIntOverflow, Pos: ins.Pos(), Message: fmt.Sprintf("an integer parsed from text is converted to %s without a range check; it can wrap around", ins.Type())})
					}
				}
			}
		}
	}
	return out
}

func fromDecompressor(v ssa.Value, depth int) bool {
	if depth > 6 {
		return false
	}
	switch x := v.(type) {
	case *ssa.MakeInterface:
		return fromDecompressor(x.X, depth+1)
	case *ssa.ChangeInterface:
		return fromDecompressor(x.X, depth+1)
	case *ssa.Extract:
		return fromDecompressor(x.Tuple, depth+1)
	case *ssa.UnOp:
		return fromDecompressor(x.X, depth+1)
	case *ssa.Phi:
		for _, e := range x.Edges {
			if fromDecompressor(e, depth+1) {
				return true
			}
		}
	case *ssa.Call:
		return decompressors[calleeName(&x.Call)]
	}
	return false
}

// narrowed reports a conversion to a smaller integer type of a value from
// strconv.Atoi or strconv.ParseInt/ParseUint with a wider bit size, with
// no comparison of the value in the function (a range check).
func narrowed(c *ssa.Convert) bool {
	dst, ok := c.Type().Underlying().(*types.Basic)
	if !ok || dst.Info()&types.IsInteger == 0 {
		return false
	}
	src, ok := c.X.Type().Underlying().(*types.Basic)
	if !ok || src.Info()&types.IsInteger == 0 {
		return false
	}
	sizes := map[types.BasicKind]int{types.Int8: 8, types.Uint8: 8, types.Int16: 16, types.Uint16: 16, types.Int32: 32, types.Uint32: 32,
		types.Int: 64, types.Int64: 64, types.Uint: 64, types.Uint64: 64, types.Uintptr: 64}
	if sizes[dst.Kind()] >= sizes[src.Kind()] {
		return false
	}
	ex, ok := c.X.(*ssa.Extract)
	if !ok {
		return false
	}
	call, ok := ex.Tuple.(*ssa.Call)
	if !ok {
		return false
	}
	switch calleeName(&call.Call) {
	case "strconv.Atoi", "strconv.ParseInt", "strconv.ParseUint":
	default:
		return false
	}
	for _, ref := range *c.X.Referrers() {
		if bin, ok := ref.(*ssa.BinOp); ok {
			switch bin.Op {
			case token.LSS, token.LEQ, token.GTR, token.GEQ:
				return false
			}
		}
	}
	return true
}

// callSites maps each function of the package to the calls of it.
func callSites(funcs []*ssa.Function) map[*ssa.Function][]*ssa.CallCommon {
	out := map[*ssa.Function][]*ssa.CallCommon{}
	for _, f := range funcs {
		for _, b := range f.Blocks {
			for _, ins := range b.Instrs {
				if c, ok := ins.(ssa.CallInstruction); ok {
					if callee := c.Common().StaticCallee(); callee != nil {
						out[callee] = append(out[callee], c.Common())
					}
				}
			}
		}
	}
	return out
}

// ivFlow answers whether byte slices are fixed, with the package's call
// sites and the values stored into its package variables.
type ivFlow struct {
	callers map[*ssa.Function][]*ssa.CallCommon
	globals map[*ssa.Global][]ssa.Value
}

func newIVFlow(funcs []*ssa.Function) *ivFlow {
	fl := &ivFlow{callers: callSites(funcs), globals: map[*ssa.Global][]ssa.Value{}}
	for _, f := range funcs {
		for _, b := range f.Blocks {
			for _, ins := range b.Instrs {
				if st, ok := ins.(*ssa.Store); ok {
					if g, ok := st.Addr.(*ssa.Global); ok {
						fl.globals[g] = append(fl.globals[g], st.Val)
					}
				}
			}
		}
	}
	return fl
}

// fixed reports whether a byte slice is the same on every run: a
// converted string constant, a literal of constants, a zeroed make that
// nothing fills, or such a value through phis, parameters, results and
// package variables.
func (fl *ivFlow) fixed(v ssa.Value, depth int) bool {
	if depth > 8 || v == nil {
		return false
	}
	switch x := v.(type) {
	case *ssa.Const:
		return true
	case *ssa.Convert:
		return fl.fixed(x.X, depth+1)
	case *ssa.ChangeType:
		return fl.fixed(x.X, depth+1)
	case *ssa.UnOp:
		g, ok := x.X.(*ssa.Global)
		if !ok || x.Op != token.MUL {
			return false
		}
		return fl.allFixed(fl.globals[g], depth)
	case *ssa.Slice:
		if base, ok := x.X.(*ssa.Alloc); ok {
			return filledOnlyWithConstants(base)
		}
		return fl.fixed(x.X, depth+1)
	case *ssa.MakeSlice:
		return filledOnlyWithConstants(x)
	case *ssa.Phi:
		return fl.allFixed(x.Edges, depth)
	case *ssa.Parameter:
		return fl.allFixed(fl.arguments(x), depth)
	case *ssa.Call:
		return fl.allFixed(returned(x), depth)
	}
	return false
}

// allFixed reports whether there are values and every one is fixed.
func (fl *ivFlow) allFixed(vs []ssa.Value, depth int) bool {
	for _, v := range vs {
		if !fl.fixed(v, depth+1) {
			return false
		}
	}
	return len(vs) > 0
}

// arguments are the values passed for a parameter at every call site of
// its function in the package (nil when one call site passes none).
func (fl *ivFlow) arguments(p *ssa.Parameter) []ssa.Value {
	f := p.Parent()
	idx := slices.Index(f.Params, p)
	if idx < 0 {
		return nil
	}
	var out []ssa.Value
	for _, c := range fl.callers[f] {
		if idx >= len(c.Args) {
			return nil
		}
		out = append(out, c.Args[idx])
	}
	return out
}

// returned are the values the called function returns, when it is known
// and returns one value.
func returned(call *ssa.Call) []ssa.Value {
	f := call.Call.StaticCallee()
	if f == nil {
		if mc, ok := call.Call.Value.(*ssa.MakeClosure); ok {
			f, _ = mc.Fn.(*ssa.Function)
		}
	}
	if f == nil {
		return nil
	}
	var out []ssa.Value
	for _, b := range f.Blocks {
		for _, ins := range b.Instrs {
			if r, ok := ins.(*ssa.Return); ok && len(r.Results) == 1 {
				out = append(out, r.Results[0])
			}
		}
	}
	return out
}

// filledOnlyWithConstants reports whether an array or slice is written
// only with constants and never handed to a call that could fill it
// (rand.Read, io.ReadFull, copy), following re-slicings.
func filledOnlyWithConstants(v ssa.Value) bool {
	refs := v.Referrers()
	if refs == nil {
		return true
	}
	for _, r := range *refs {
		switch r := r.(type) {
		case *ssa.IndexAddr:
			for _, rr := range *r.Referrers() {
				switch rr := rr.(type) {
				case *ssa.Store:
					if _, ok := rr.Val.(*ssa.Const); !ok {
						return false
					}
				case *ssa.UnOp, *ssa.DebugRef:
				default:
					return false
				}
			}
		case *ssa.Slice:
			if !filledOnlyWithConstants(r) {
				return false
			}
		case ssa.CallInstruction:
			if fills(r.Common(), v) {
				return false
			}
		case *ssa.UnOp, *ssa.DebugRef, *ssa.Return:
		default:
			return false
		}
	}
	return true
}

// fills reports whether a call may write into the slice v it is given:
// copy into it, a Read method or io.ReadFull/ReadAtLeast, or a function of
// the package (which may do anything with it).
func fills(c *ssa.CallCommon, v ssa.Value) bool {
	if ivSinks[calleeName(c)] {
		return false
	}
	if b, ok := c.Value.(*ssa.Builtin); ok {
		return b.Name() == "copy" && len(c.Args) > 0 && c.Args[0] == v
	}
	name := calleeName(c)
	if strings.HasSuffix(name, ".Read") || strings.HasSuffix(name, ".ReadFull") || strings.HasSuffix(name, ".ReadAtLeast") {
		return true
	}
	if f := c.StaticCallee(); f != nil && f.Blocks != nil {
		return true
	}
	return c.StaticCallee() == nil // a function value or an interface method
}

// ivSinks take an IV or nonce without changing it.
var ivSinks = map[string]bool{"(crypto/cipher.AEAD).Seal": true, "(crypto/cipher.AEAD).Open": true, "crypto/cipher.NewCBCEncrypter": true,
	"crypto/cipher.NewCBCDecrypter": true, "crypto/cipher.NewCTR": true, "crypto/cipher.NewOFB": true, "crypto/cipher.NewCFBEncrypter": true,
	"crypto/cipher.NewCFBDecrypter": true}
