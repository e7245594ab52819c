package code

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/vigilsec/vigil/pkg/checks"
)

// FuzzPatterns runs the pattern analyzers on arbitrary source in each
// language they know.
func FuzzPatterns(f *testing.F) {
	f.Add("app.py", []byte("import os\nos.system('ls ' + request.args['x'])\n"))
	f.Add("app.js", []byte("const q = `SELECT * FROM t WHERE id = ${req.query.id}`; db.query(q)\n"))
	f.Add("Main.java", []byte("Runtime.getRuntime().exec(request.getParameter(\"c\"));\n"))
	f.Add("a.rb", []byte("eval(params[:x])\n"))
	cat, err := checks.Builtin()
	if err != nil {
		f.Fatal(err)
	}
	p := NewPatterns(cat)
	f.Fuzz(func(t *testing.T, name string, src []byte) {
		if !p.Match(name) {
			return
		}
		fs, _ := p.ScanFile(context.Background(), name, src, "t")
		for _, fd := range fs {
			if fd.CheckId == "" || fd.Fingerprint == "" || fd.GetLocation().GetStartLine() < 1 {
				t.Fatalf("malformed finding %v", fd)
			}
			if !utf8.ValidString(fd.GetLocation().GetSnippet()) && utf8.Valid(src) {
				t.Fatalf("snippet of valid source is not UTF-8")
			}
		}
	})
}
