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
	// unless, when set, clears a statement re matched (Go's regexp has no
	// negative lookahead): md5 called with usedforsecurity=False.
	unless *regexp.Regexp
}

const sqlWords = `(?i:select|insert|update|delete|where|from|into|values|order\s+by)`

var patterns = []pattern{
	{check: "VGL-CODE-201", langs: "js", re: regexp.MustCompile(`(?:query|execute|exec|raw|run|all|get|prepare)\s*\(\s*` + "`" + `[^` + "`" + `]*` + sqlWords + `[^` + "`" + `]*\$\{`), why: "an SQL template literal with ${…} is run"},
	{check: "VGL-CODE-201", langs: "js", re: regexp.MustCompile(`(?:query|execute|raw|prepare)\s*\(\s*["'][^"']*` + sqlWords + `[^"']*["']\s*\+\s*[A-Za-z_$]`), why: "an SQL string concatenated with a variable is run"},
	{check: "VGL-CODE-201", langs: "py", re: regexp.MustCompile(`(?:execute|executemany|executescript|raw|text|read_sql(?:_query)?)\s*\(\s*f(?:"[^"]*` + sqlWords + `[^"]*\{|'[^']*` + sqlWords + `[^']*\{)`), why: "an SQL f-string is run"},
	{check: "VGL-CODE-201", langs: "py", re: regexp.MustCompile(`(?:execute|executemany|raw|text)\s*\(\s*(?:"[^"]*` + sqlWords + `[^"]*"|'[^']*` + sqlWords + `[^']*')\s*(?:%\s*[A-Za-z_(]|\.format\(|\+\s*[A-Za-z_])`), why: "an SQL string formatted with % , .format or + is run"},
	{check: "VGL-CODE-202", langs: "js", re: regexp.MustCompile(`\.(?:find|findOne|findOneAndUpdate|update|updateOne|updateMany|deleteOne|deleteMany|remove|count|countDocuments|aggregate)\s*\(\s*\{[^}]*:\s*req\.(?:body|query|params)\b`), why: "a query document takes a request value unchecked"},
	{check: "VGL-CODE-202", langs: "js", re: regexp.MustCompile(`\$where\s*:\s*[^'"\s]`), why: "$where runs JavaScript built from data"},
	{check: "VGL-CODE-203", langs: "js", re: regexp.MustCompile(`(?:^|[^.\w])eval\s*\(\s*[^"'\x60)\s]|new\s+Function\s*\(|(?:setTimeout|setInterval)\s*\(\s*(?:["'\x60]|[A-Za-z_$][\w$]*\s*\+)`), why: "code is evaluated from a string"},
	{check: "VGL-CODE-203", langs: "py", re: regexp.MustCompile(`(?:^|[^.\w])(?:eval|exec)\s*\(\s*[^"')\s]`), why: "eval or exec runs a computed string"},
	{check: "VGL-CODE-204", langs: "js", re: regexp.MustCompile(`(?:exec|execSync)\s*\(\s*(?:` + "`" + `[^` + "`" + `]*\$\{|["'][^"']*["']\s*\+|[A-Za-z_$][\w$.]*\s*[,)])`), why: "a shell command line is built from variables"},
	{check: "VGL-CODE-204", langs: "py", re: regexp.MustCompile(`os\.(?:system|popen)\s*\(\s*(?:f["']|[A-Za-z_][\w.]*\s*[,)+]|["'][^"']*["']\s*(?:%|\+|\.format))`), why: "os.system or os.popen runs a computed command line"},
	{check: "VGL-CODE-204", langs: "py", re: regexp.MustCompile(`subprocess\.\w+\s*\(\s*(?:f["']|[A-Za-z_][\w.\[\]'"]*\s*[,+%]|["'][^"']*["']\s*(?:%|\+|\.format)).*shell\s*=\s*True`), why: "subprocess runs a computed command line through a shell (shell=True)"},
	// Formats that rebuild arbitrary objects: loading untrusted data runs
	// code.
	{check: "VGL-CODE-208", langs: "py", re: regexp.MustCompile(`\b(?:c?[Pp]ickle|_pickle|dill|cloudpickle|marshal|jsonpickle|shelve)\.(?:loads?|decode|open|Unpickler)\s*\(|\byaml\.(?:load|load_all)\s*\((?:[^)]*Loader\s*=\s*(?:yaml\.)?(?:Unsafe|Full)?Loader\b|[^)=]*\))|\byaml\.unsafe_load(?:_all)?\s*\(|\bnumpy\.load\s*\([^)]*allow_pickle\s*=\s*True|\btorch\.load\s*\((?:[^)]*weights_only\s*=\s*False|[^)=]*\))`), why: "data is loaded with a format that can run code (pickle, yaml.load without SafeLoader, marshal)"},
	{check: "VGL-CODE-208", langs: "js", re: regexp.MustCompile(`\b(?:serialize|nodeSerialize|node_serialize)\.unserialize\s*\(|require\s*\(\s*["']node-serialize["']\s*\)\s*\.unserialize\s*\(|\b(?:js-?yaml|jsyaml|yaml)\.load\s*\([^)]*schema\s*:\s*(?:yaml\.)?DEFAULT_FULL_SCHEMA`), why: "data is deserialized with a format that can run code (node-serialize, js-yaml full schema)"},
	{check: "VGL-CODE-205", langs: "js", re: regexp.MustCompile(`\.(?:innerHTML|outerHTML)\s*[+]?=\s*[^"'\x60\s;]|document\.write(?:ln)?\s*\(\s*[^"'\x60)]|dangerouslySetInnerHTML\s*=\s*\{\s*\{\s*__html\s*:\s*[^"'\x60\s}]|\bv-html\s*=|bypassSecurityTrust(?:Html|Script|Style|Url|ResourceUrl)\s*\(|\.html\s*\(\s*[A-Za-z_$][\w$.]*\s*\)|insertAdjacentHTML\s*\(`), why: "markup is written without escaping"},
	{check: "VGL-CODE-205", langs: "py", re: regexp.MustCompile(`(?:Markup|mark_safe|SafeString)\s*\(\s*[^"')\s]|\|\s*safe\b|render_template_string\s*\(\s*[^"')\s]`), why: "markup is trusted without escaping"},
	{check: "VGL-CODE-206", langs: "js", re: regexp.MustCompile(`\.redirect\s*\(\s*(?:\d+\s*,\s*)?req\.(?:query|body|params)\b`), why: "the redirect target comes from the request"},
	// A URL judged by a substring: "https://evil.example/?https://shop.example"
	// contains the trusted address, and "https://shop.example.evil.example"
	// starts with it.
	{check: "VGL-CODE-206", langs: "js", re: regexp.MustCompile(`(?i)\b\w*(?:url|uri|href|redirect|returnto|target|destination)\w*\s*\.\s*(?:includes|indexOf)\s*\(|\b\w*(?:url|uri|href|redirect|returnto|target|destination)\w*\s*\.\s*startsWith\s*\(\s*["'\x60]https?://[^/"'\x60]+["'\x60]`), why: "a URL is checked by a substring, so an address that merely contains or extends the trusted one passes"},
	{check: "VGL-CODE-206", langs: "py", re: regexp.MustCompile(`redirect\s*\(\s*request\.(?:args|form|values|GET|POST)`), why: "the redirect target comes from the request"},
	{check: "VGL-CODE-207", langs: "js", re: regexp.MustCompile(`\bserveIndex\s*\(|\bexpress\.directory\s*\(|require\s*\(\s*["']serve-index["']\s*\)\s*\(`), why: "a folder is served with its file listing (serve-index)"},
	{check: "VGL-CODE-207", langs: "py", re: regexp.MustCompile(`SimpleHTTPRequestHandler|show_indexes["']?\s*[:=]\s*True`), why: "a folder is served with its file listing"},
	// Certificate checks turned off for outgoing TLS.
	{check: "VGL-CODE-209", langs: "py", re: regexp.MustCompile(`\b(?:requests|httpx|session|sess|client|http|s)\.(?:get|post|put|patch|delete|head|options|request|send|Client|AsyncClient|stream)\s*\(.*\bverify\s*=\s*False\b|\bssl\._create_unverified_context\s*\(|\bverify_mode\s*=\s*(?:ssl\.)?CERT_NONE\b|\bcert_reqs\s*=\s*(?:ssl\.)?CERT_NONE\b|\.check_hostname\s*=\s*False\b`), why: "TLS certificate verification is turned off"},
	{check: "VGL-CODE-209", langs: "js", re: regexp.MustCompile(`\brejectUnauthorized\s*:\s*false\b|NODE_TLS_REJECT_UNAUTHORIZED["'\]]*\s*=\s*["'\x60]?0|\bcheckServerIdentity\s*:\s*\(\s*\)\s*=>\s*(?:undefined|null|\{\s*\})|\bstrictSSL\s*:\s*false\b`), why: "TLS certificate verification is turned off"},
	// A file opened, served or removed at a path the request names.
	{check: "VGL-CODE-210", langs: "py", re: regexp.MustCompile(`(?:^|[^.\w])(?:open|send_file|FileResponse|os\.remove|os\.unlink|os\.rmdir|shutil\.rmtree|shutil\.copy\w*|pathlib\.Path)\s*\(\s*(?:request\.(?:args|form|values|files|GET|POST|json|data|path_params|query_params)|f["'][^"']*\{request\.|[\w."'/]+\s*\+\s*request\.|os\.path\.join\s*\([^)]*request\.)`), why: "a file path comes from the request"},
	{check: "VGL-CODE-210", langs: "js", re: regexp.MustCompile(`(?:\bres\.(?:sendFile|download)|\bfs\.(?:readFile|readFileSync|createReadStream|writeFile|writeFileSync|appendFile|unlink|unlinkSync|rm|rmSync)|\bfs\.promises\.(?:readFile|writeFile|unlink|rm))\s*\(\s*(?:req\.(?:query|params|body)|[\w."'\x60/]+\s*\+\s*req\.(?:query|params|body)|\x60[^\x60]*\$\{req\.(?:query|params|body)|path\.(?:join|resolve)\s*\([^)]*req\.(?:query|params|body))`), why: "a file path comes from the request"},
	// An outgoing request to an address the request names (SSRF).
	{check: "VGL-CODE-211", langs: "py", re: regexp.MustCompile(`\b(?:requests|httpx|session|urllib\.request|urllib3|http)\.(?:get|post|put|patch|delete|head|request|urlopen|Request)\s*\(\s*(?:["']\w+["']\s*,\s*)?(?:request\.(?:args|form|values|GET|POST|json|data|query_params)|f["'](?:https?://)?\{request\.)|(?:^|[^.\w])urlopen\s*\(\s*request\.`), why: "an outgoing request goes to an address from the request"},
	{check: "VGL-CODE-211", langs: "js", re: regexp.MustCompile(`(?:\baxios(?:\.(?:get|post|put|patch|delete|head|request))?|(?:^|[^.\w])fetch|\bgot|\bneedle(?:\.get)?|\bsuperagent\.get|\bhttps?\.(?:get|request))\s*\(\s*(?:req\.(?:query|params|body)|\x60(?:https?://)?\$\{req\.(?:query|params|body))`), why: "an outgoing request goes to an address from the request"},
	// Broken hashes and ciphers.
	{check: "VGL-CODE-212", langs: "py", re: regexp.MustCompile(`\bhashlib\.(?:md5|sha1)\s*\(|\bhashlib\.new\s*\(\s*["'](?:md5|sha1|MD5|SHA1)["']|\b(?:DES|DES3|ARC2|ARC4|Blowfish|XOR)\.new\s*\(|\bAES\.MODE_ECB\b|\bmodes\.ECB\s*\(|\balgorithms\.(?:TripleDES|Blowfish|ARC4|IDEA|CAST5|SEED)\s*\(`), unless: regexp.MustCompile(`usedforsecurity\s*=\s*False`), why: "a broken hash or cipher is used (MD5, SHA-1, DES, RC4, ECB mode)"},
	{check: "VGL-CODE-212", langs: "js", re: regexp.MustCompile(`\bcreateHash\s*\(\s*["'\x60](?:md5|sha1|md4|MD5|SHA1)["'\x60]|\bcreateCipher\s*\(|\bcreateCipheriv\s*\(\s*["'\x60](?:des|des-ede|des-ede3|des-ecb|rc4|rc2|bf|blowfish|aes-\d+-ecb)[\w-]*["'\x60]`), why: "a broken hash or cipher is used (MD5, SHA-1, DES, RC4, ECB mode, createCipher without an IV)"},
	// A web framework's debugger left on: it shows source and, for
	// Werkzeug, runs code from the browser.
	{check: "VGL-CODE-213", langs: "py", re: regexp.MustCompile(`\.run\s*\(.*\bdebug\s*=\s*True\b|^\s*DEBUG\s*=\s*True\b|\bDebuggedApplication\s*\(`), why: "the web framework's debug mode is on"},
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
			if !strings.Contains(pt.langs, lang) || seen[pt.check] || !pt.re.Match(stmt) || pt.unless != nil && pt.unless.Match(stmt) {
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
