package code

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// pattern is one line-level rule of the JavaScript/TypeScript and Python
// checks.
type pattern struct {
	check string
	langs string // "js", "py" or "js py"
	re    *regexp.Regexp
	why   string
}

const sqlWords = `(?i:select|insert|update|delete|where|from|into|values|order\s+by)`

var patterns = []pattern{
	{"VGL-CODE-201", "js", regexp.MustCompile(`(?:query|execute|exec|raw|run|all|get|prepare)\s*\(\s*` + "`" + `[^` + "`" + `]*` + sqlWords + `[^` + "`" + `]*\$\{`), "an SQL template literal with ${…} is run"},
	{"VGL-CODE-201", "js", regexp.MustCompile(`(?:query|execute|raw|prepare)\s*\(\s*["'][^"']*` + sqlWords + `[^"']*["']\s*\+\s*[A-Za-z_$]`), "an SQL string concatenated with a variable is run"},
	{"VGL-CODE-201", "py", regexp.MustCompile(`(?:execute|executemany|executescript|raw|text|read_sql(?:_query)?)\s*\(\s*f(?:"[^"]*` + sqlWords + `[^"]*\{|'[^']*` + sqlWords + `[^']*\{)`), "an SQL f-string is run"},
	{"VGL-CODE-201", "py", regexp.MustCompile(`(?:execute|executemany|raw|text)\s*\(\s*(?:"[^"]*` + sqlWords + `[^"]*"|'[^']*` + sqlWords + `[^']*')\s*(?:%\s*[A-Za-z_(]|\.format\(|\+\s*[A-Za-z_])`), "an SQL string formatted with % , .format or + is run"},
	{"VGL-CODE-202", "js", regexp.MustCompile(`\.(?:find|findOne|findOneAndUpdate|update|updateOne|updateMany|deleteOne|deleteMany|remove|count|countDocuments|aggregate)\s*\(\s*\{[^}]*:\s*req\.(?:body|query|params)\b`), "a query document takes a request value unchecked"},
	{"VGL-CODE-202", "js", regexp.MustCompile(`\$where\s*:\s*[^'"\s]`), "$where runs JavaScript built from data"},
	{"VGL-CODE-203", "js", regexp.MustCompile(`(?:^|[^.\w])eval\s*\(\s*[^"'\x60)\s]|new\s+Function\s*\(|(?:setTimeout|setInterval)\s*\(\s*(?:["'\x60]|[A-Za-z_$][\w$]*\s*\+)`), "code is evaluated from a string"},
	{"VGL-CODE-203", "py", regexp.MustCompile(`(?:^|[^.\w])(?:eval|exec)\s*\(\s*[^"')\s]`), "eval or exec runs a computed string"},
	{"VGL-CODE-204", "js", regexp.MustCompile(`(?:exec|execSync)\s*\(\s*(?:` + "`" + `[^` + "`" + `]*\$\{|["'][^"']*["']\s*\+|[A-Za-z_$][\w$.]*\s*[,)])`), "a shell command line is built from variables"},
	{"VGL-CODE-204", "py", regexp.MustCompile(`os\.(?:system|popen)\s*\(\s*(?:f["']|[A-Za-z_][\w.]*\s*[,)+]|["'][^"']*["']\s*(?:%|\+|\.format))`), "os.system or os.popen runs a computed command line"},
	{"VGL-CODE-204", "py", regexp.MustCompile(`subprocess\.\w+\s*\(\s*(?:f["']|[A-Za-z_][\w.\[\]'"]*\s*[,+%]|["'][^"']*["']\s*(?:%|\+|\.format)).*shell\s*=\s*True`), "subprocess runs a computed command line through a shell (shell=True)"},
	// Formats that rebuild arbitrary objects: loading untrusted data runs
	// code.
	{"VGL-CODE-208", "py", regexp.MustCompile(`\b(?:c?[Pp]ickle|_pickle|dill|cloudpickle|marshal|jsonpickle|shelve)\.(?:loads?|decode|open|Unpickler)\s*\(|\byaml\.(?:load|load_all)\s*\((?:[^)]*Loader\s*=\s*(?:yaml\.)?(?:Unsafe|Full)?Loader\b|[^)=]*\))|\byaml\.unsafe_load(?:_all)?\s*\(|\bnumpy\.load\s*\([^)]*allow_pickle\s*=\s*True|\btorch\.load\s*\((?:[^)]*weights_only\s*=\s*False|[^)=]*\))`), "data is loaded with a format that can run code (pickle, yaml.load without SafeLoader, marshal)"},
	{"VGL-CODE-208", "js", regexp.MustCompile(`\b(?:serialize|nodeSerialize|node_serialize)\.unserialize\s*\(|require\s*\(\s*["']node-serialize["']\s*\)\s*\.unserialize\s*\(|\b(?:js-?yaml|jsyaml|yaml)\.load\s*\([^)]*schema\s*:\s*(?:yaml\.)?DEFAULT_FULL_SCHEMA`), "data is deserialized with a format that can run code (node-serialize, js-yaml full schema)"},
	{"VGL-CODE-205", "js", regexp.MustCompile(`\.(?:innerHTML|outerHTML)\s*[+]?=\s*[^"'\x60\s;]|document\.write(?:ln)?\s*\(\s*[^"'\x60)]|dangerouslySetInnerHTML\s*=\s*\{\s*\{\s*__html\s*:\s*[^"'\x60\s}]|\bv-html\s*=|bypassSecurityTrust(?:Html|Script|Style|Url|ResourceUrl)\s*\(|\.html\s*\(\s*[A-Za-z_$][\w$.]*\s*\)|insertAdjacentHTML\s*\(`), "markup is written without escaping"},
	{"VGL-CODE-205", "py", regexp.MustCompile(`(?:Markup|mark_safe|SafeString)\s*\(\s*[^"')\s]|\|\s*safe\b|render_template_string\s*\(\s*[^"')\s]`), "markup is trusted without escaping"},
	{"VGL-CODE-206", "js", regexp.MustCompile(`\.redirect\s*\(\s*(?:\d+\s*,\s*)?req\.(?:query|body|params)\b`), "the redirect target comes from the request"},
	// A URL judged by a substring: "https://evil.example/?https://shop.example"
	// contains the trusted address, and "https://shop.example.evil.example"
	// starts with it.
	{"VGL-CODE-206", "js", regexp.MustCompile(`(?i)\b\w*(?:url|uri|href|redirect|returnto|target|destination)\w*\s*\.\s*(?:includes|indexOf)\s*\(|\b\w*(?:url|uri|href|redirect|returnto|target|destination)\w*\s*\.\s*startsWith\s*\(\s*["'\x60]https?://[^/"'\x60]+["'\x60]`), "a URL is checked by a substring, so an address that merely contains or extends the trusted one passes"},
	{"VGL-CODE-206", "py", regexp.MustCompile(`redirect\s*\(\s*request\.(?:args|form|values|GET|POST)`), "the redirect target comes from the request"},
	{"VGL-CODE-207", "js", regexp.MustCompile(`\bserveIndex\s*\(|\bexpress\.directory\s*\(|require\s*\(\s*["']serve-index["']\s*\)\s*\(`), "a folder is served with its file listing (serve-index)"},
	{"VGL-CODE-207", "py", regexp.MustCompile(`SimpleHTTPRequestHandler|show_indexes["']?\s*[:=]\s*True`), "a folder is served with its file listing"},
}

// Patterns runs the JavaScript/TypeScript and Python pattern checks.
type Patterns struct {
	checks map[string]*checks.Check
}

// NewPatterns returns the pattern scanner over the catalog.
func NewPatterns(cat *checks.Catalog) *Patterns {
	p := &Patterns{checks: map[string]*checks.Check{}}
	for _, pt := range patterns {
		if c, ok := cat.Get(pt.check); ok {
			p.checks[pt.check] = c
		}
	}
	return p
}

// Name is the scanner name used in scopes.
func (p *Patterns) Name() string { return "sast-patterns" }

// Describe declares the analyzer: version 1 is its first declared version.
func (p *Patterns) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: p.Name(), Version: 1, Reads: []string{pipeline.File}}
}

func language(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".vue", ".html":
		return "js"
	case ".py":
		return "py"
	}
	return ""
}

// Match selects JavaScript, TypeScript, Vue, HTML and Python sources, not
// minified bundles.
func (p *Patterns) Match(path string) bool {
	return language(path) != "" && !strings.HasSuffix(path, ".min.js")
}

// ScanFile reports each line a pattern matches, once per check.
func (p *Patterns) ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	lang := language(path)
	lines := bytes.Split(data, []byte("\n"))
	var out []*vigilv1.Finding
	for i, line := range lines {
		if len(line) > 4000 {
			continue // minified or generated
		}
		if i%512 == 0 && ctx.Err() != nil {
			return out, ctx.Err()
		}
		seen := map[string]bool{}
		// A call whose arguments run over several lines is read whole.
		stmt := statement(lines, i, lang)
		for _, pt := range patterns {
			if !strings.Contains(pt.langs, lang) || seen[pt.check] || !pt.re.Match(stmt) {
				continue
			}
			c := p.checks[pt.check]
			if c == nil || suppressed(lines, i+1, pt.check) {
				continue
			}
			seen[pt.check] = true
			snippet := finding.Snippet(lines, i+1)
			out = append(out, c.NewFinding(fmt.Sprintf("%s (line %d)", pt.why, i+1), finding.Site{
				Scanner:  p.Name(),
				Resource: &vigilv1.Resource{Tenant: tenant, Provider: "filesystem", Kind: "File", Name: path, Uri: path},
				Location: &vigilv1.Location{Path: path, StartLine: int32(i + 1), EndLine: int32(i + 1), Snippet: snippet},
				Path:     path,
				Key:      strings.TrimSpace(snippet),
			}))
		}
	}
	return out, nil
}

// maxStatement bounds the lines statement joins.
const maxStatement = 8

// statement is line i, or, when it leaves a bracket open, the line and
// those after it up to the one that closes it (at most maxStatement
// lines), trailing comments removed and joined by spaces.
func statement(lines [][]byte, i int, lang string) []byte {
	depth := brackets(lines[i])
	if depth <= 0 {
		return lines[i]
	}
	out := append([]byte(nil), bytes.TrimSpace(stripComment(lines[i], lang))...)
	for j := i + 1; j < len(lines) && j < i+maxStatement && depth > 0; j++ {
		if len(lines[j]) > 4000 {
			break
		}
		depth += brackets(lines[j])
		out = append(append(out, ' '), bytes.TrimSpace(stripComment(lines[j], lang))...)
	}
	return out
}

// brackets is the number of (, [ and { a line opens minus those it closes.
func brackets(line []byte) int {
	n := 0
	for _, b := range line {
		switch b {
		case '(', '[', '{':
			n++
		case ')', ']', '}':
			n--
		}
	}
	return n
}

// stripComment removes a trailing comment: "//" (JavaScript) or "#"
// (Python) after a space, so that "http://" in a string stays.
func stripComment(line []byte, lang string) []byte {
	mark := []byte(" //")
	if lang == "py" {
		mark = []byte(" #")
	}
	if k := bytes.Index(line, mark); k >= 0 {
		return line[:k]
	}
	return line
}
