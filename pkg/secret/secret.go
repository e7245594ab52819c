// Package secret finds credentials in text: a rule per credential format,
// each with keywords that must appear before its expression is run. Matches
// leave the package only as a rule, a position, a redacted line and a keyed
// hash; the credential itself is never returned.
package secret

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rule is one credential format.
type Rule struct {
	ID    string
	Title string
	// Keywords are lower-case strings of which at least one occurs in any
	// text the rule can match; text without any is not searched.
	Keywords []string
	// Pattern finds the credential; the group named "secret" (or the whole
	// match) is the credential itself.
	Pattern *regexp.Regexp
	// MinEntropy, when set, drops matches whose secret has fewer bits of
	// Shannon entropy per character (placeholders like "changeme").
	MinEntropy float64
	// Validate, when set, checks the format's own structure or checksum
	// (a JWT's header, a card number's Luhn digit); match is the whole
	// match, secret the credential.
	Validate func(match, secret []byte) bool
	// AllowRuns keeps secrets with six or more of one character in a row,
	// normal in some formats (base64 key bodies, Twitter bearer tokens).
	AllowRuns bool
	// Multiline marks credentials that span lines (PEM blocks): their
	// expression runs on the text, not line by line.
	Multiline bool
	// MinRun, for a rule without keywords, is the length of the run of
	// ASCII letters and digits that is the credential; only runs of that
	// length are searched.
	MinRun int
}

// Match is one credential found: where it is and a keyed hash of it.
type Match struct {
	Rule *Rule
	// Line is 1-based; EndLine is the last line of a secret spanning
	// several (a PEM block), else Line.
	Line, EndLine int
	// Redacted is the line with the credential masked.
	Redacted string
	// Hash is the hex HMAC-SHA256 of the credential under the scanner's
	// key: the same secret in two places has the same hash.
	Hash string
	// Value is the credential itself, for masking its other occurrences
	// in the scan's findings (pipeline.NoteSecret). It is never stored,
	// sent or printed.
	Value string
	// off is the byte offset of the match in the searched text; ScanReader
	// uses it to give each match to one window.
	off int
}

// Scanner finds credentials with a fixed rule set and hash key.
type Scanner struct {
	rules []*Rule
	key   []byte
	// words holds every rule's keywords and the generic ones; wordRules[id]
	// are the rules of keyword id, -1 standing for the generic forms.
	words     *keywords
	wordRules [][]int
	// noKeywords are the rules searched on every line; minLen[i] is the
	// shortest text rule i can match, so shorter lines are not searched.
	noKeywords []int
	minLen     []int
	// runLen[i] is, when rule i's credential is one token (it holds no
	// byte that ends a token, see boundary), its shortest length: a line
	// whose longest token is shorter cannot hold it. 0 when not known.
	runLen []int
}

// New returns a scanner over the built-in rules. key keys the hashes of
// matches; scanners that share a key recognise the same secret.
func New(key []byte) *Scanner {
	s := &Scanner{rules: Rules(), key: append([]byte(nil), key...)}
	var all []string
	for i, r := range s.rules {
		if len(r.Keywords) == 0 {
			s.noKeywords = append(s.noKeywords, i)
		}
		for _, w := range r.Keywords {
			all = append(all, w)
			s.wordRules = append(s.wordRules, []int{i})
		}
		s.minLen = append(s.minLen, minLen(r.Pattern))
		s.runLen = append(s.runLen, tokenLen(r.Pattern))
	}
	for _, w := range genericKeywords {
		all = append(all, w)
		s.wordRules = append(s.wordRules, []int{-1})
	}
	s.words = newKeywords(all)
	return s
}

// genericHit reports whether one of the keywords ids is a generic one.
func (s *Scanner) genericHit(ids []int) bool {
	for _, id := range ids {
		if s.wordRules[id][0] < 0 {
			return true
		}
	}
	return false
}

// tokenLen is the shortest length of the credential re matches (its
// "secret" group, else the whole match) when no byte of it can end a
// token, else 0.
func tokenLen(re *regexp.Regexp) int {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return 0
	}
	t = t.Simplify()
	if sec := captureNamed(t, "secret"); sec != nil {
		t = sec
	}
	if canMatchBoundary(t) {
		return 0
	}
	return minLenOf(t)
}

// captureNamed finds the capture group called name in t.
func captureNamed(t *syntax.Regexp, name string) *syntax.Regexp {
	if t.Op == syntax.OpCapture && t.Name == name {
		return t
	}
	for _, sub := range t.Sub {
		if c := captureNamed(sub, name); c != nil {
			return c
		}
	}
	return nil
}

// canMatchBoundary reports whether t can match a byte that ends a token.
func canMatchBoundary(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return true
	case syntax.OpLiteral:
		for _, r := range t.Rune {
			if r < 0x80 && boundary(byte(r)) || t.Flags&syntax.FoldCase != 0 && r < 0x80 && boundary(byte(unicode.SimpleFold(r))) {
				return true
			}
		}
	case syntax.OpCharClass:
		for i := 0; i+1 < len(t.Rune); i += 2 {
			for c := 0; c < 0x80; c++ {
				if boundary(byte(c)) && rune(c) >= t.Rune[i] && rune(c) <= t.Rune[i+1] {
					return true
				}
			}
		}
	}
	for _, sub := range t.Sub {
		if canMatchBoundary(sub) {
			return true
		}
	}
	return false
}

// longestToken is the length of the longest run of line without a byte
// that ends a token.
func longestToken(line []byte) int {
	best, run := 0, 0
	for _, c := range line {
		if boundary(c) {
			run = 0
			continue
		}
		run++
		best = max(best, run)
	}
	return best
}

// minLen is the length of the shortest text re matches, in bytes (at
// least one per character).
func minLen(re *regexp.Regexp) int {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return 0
	}
	return minLenOf(t.Simplify())
}

func minLenOf(t *syntax.Regexp) int {
	switch t.Op {
	case syntax.OpLiteral:
		return len(t.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLenOf(t.Sub[0])
	case syntax.OpRepeat:
		return t.Min * minLenOf(t.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, sub := range t.Sub {
			n += minLenOf(sub)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, sub := range t.Sub {
			if m := minLenOf(sub); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0 // empty, anchors, star, quest
}

// Scan returns the credentials in data. Binary data (a NUL byte in the
// first 8 KiB) is not searched.
func (s *Scanner) Scan(data []byte) []Match { return s.ScanFile("", data) }

// ScanFile is Scan for the content of a named file: a value assigned
// without quotes that reads like an identifier is taken as a literal in
// configuration files (.env, YAML, properties) and as a variable in code.
func (s *Scanner) ScanFile(name string, data []byte) []Match {
	if Binary(data) {
		return nil
	}
	return s.scan(name, data)
}

// Binary reports content that is not text: a NUL byte in the first 8 KiB.
func Binary(data []byte) bool {
	head := data
	if len(head) > 8<<10 {
		head = head[:8<<10]
	}
	return bytes.IndexByte(head, 0) >= 0
}

// scan searches data, text or not.
func (s *Scanner) scan(name string, data []byte) []Match {
	// Single-line rules run on the lines that hold one of their keywords
	// (short inputs keep the regexp engine on its fast paths); rules whose
	// credential spans lines run on the text from the first such line.
	sc := &search{s: s, name: name, data: data, seenAt: map[[2]int]bool{}, ruleAt: make([]int, len(s.rules)), wholeFrom: make([]int, len(s.rules))}
	sc.report = sc.emit // one func value for every rule run, not one per call
	for i := range sc.wholeFrom {
		sc.wholeFrom[i] = -1
	}
	s.words.lines(data, sc.line)
	for i, from := range sc.wholeFrom {
		if from >= 0 {
			s.runRule(name, s.rules[i], data[from:], from, sc.report)
		}
	}
	// One order whatever the search order: occurrence numbers depend on it.
	slices.SortStableFunc(sc.out, func(a, b Match) int {
		if a.off != b.off {
			return a.off - b.off
		}
		return strings.Compare(a.Rule.ID, b.Rule.ID)
	})
	return sc.out
}

// search is one scan of one input.
type search struct {
	s          *Scanner
	name       string
	data       []byte
	out        []Match
	lineStarts []int           // computed at the first match
	seenAt     map[[2]int]bool // one finding per secret span
	ruleAt     []int           // line number+1 a rule last ran on
	wholeFrom  []int           // where a multi-line rule runs from, -1: not at all
	report     func(r *Rule, loc []int, start, end int)
}

// emit reports the secret data[start:end] that rule r matched at loc,
// unless it is a placeholder, fails the rule's validation, was reported
// already or is allowed by a marker.
func (sc *search) emit(r *Rule, loc []int, start, end int) {
	data := sc.data
	secret := data[start:end]
	if sc.seenAt[[2]int{start, end}] {
		return
	}
	if r.MinEntropy > 0 && entropy(secret) < r.MinEntropy {
		return
	}
	if placeholder(secret, r.generic(), r.AllowRuns) {
		return
	}
	if r.Validate != nil && !r.Validate(data[loc[0]:loc[1]], secret) {
		return
	}
	sc.seenAt[[2]int{start, end}] = true // also when ignored: no other rule reports it
	if ignoredLine(data, loc[0], r.ID) {
		return
	}
	if sc.lineStarts == nil {
		sc.lineStarts = indexLines(data)
	}
	// The line is where the match starts (a PEM block's BEGIN line).
	ms0 := loc[0]
	for ms0 < start && (data[ms0] == '\n' || data[ms0] == '\r') {
		ms0++ // a boundary character of the previous line
	}
	line := lineOf(sc.lineStarts, ms0)
	ls := sc.lineStarts[line-1]
	le := len(data)
	if line < len(sc.lineStarts) {
		le = sc.lineStarts[line] - 1
	}
	ms, me := max(start, ls), min(end, le)
	if ms > me {
		ms, me = le, le // the secret starts on a later line
	}
	endLine := lineOf(sc.lineStarts, max(end-1, ms0))
	sc.out = append(sc.out, Match{Rule: r, Line: line, EndLine: endLine, Redacted: redactLine(data[ls:le], ms-ls, me-ls), Hash: sc.s.hash(secret), Value: string(secret), off: ms0})
}

// line runs the rules whose keywords the line data[ls:le] holds (ids),
// the rules without keywords, and the generic assignments.
func (sc *search) line(ls, le int, ids []int) {
	s, line := sc.s, sc.data[ls:le]
	if len(line) > longLine {
		s.scanLong(sc.name, line, ls, ids, sc.wholeFrom, sc.report)
		return
	}
	stamp := ls + 1
	longest := -1 // the line's longest token, once a rule asks
	for _, id := range ids {
		for _, i := range s.wordRules[id] {
			if i < 0 || sc.ruleAt[i] == stamp {
				continue
			}
			sc.ruleAt[i] = stamp
			switch r := s.rules[i]; {
			case r.Multiline:
				if sc.wholeFrom[i] < 0 {
					sc.wholeFrom[i] = ls
				}
			case len(line) >= s.minLen[i]:
				if s.runLen[i] > 0 {
					if longest < 0 {
						longest = longestToken(line)
					}
					if longest < s.runLen[i] {
						continue
					}
				}
				s.runRule(sc.name, r, line, ls, sc.report)
			}
		}
	}
	for _, i := range s.noKeywords {
		if len(line) >= s.minLen[i] {
			s.runKeywordless(sc.name, s.rules[i], line, ls, sc.report)
		}
	}
	if s.genericHit(ids) {
		s.genericMatches(sc.name, line, ls, sc.report)
		sc.entities(line, ls)
	}
}

// entities searches values in HTML and XML attributes: the unescaped
// text, at the same offsets, without the padding.
func (sc *search) entities(line []byte, ls int) {
	dec := unescapeEntities(line)
	if dec == nil {
		return
	}
	sc.s.genericMatches(sc.name, dec, ls, func(r *Rule, loc []int, start, end int) {
		for start < end && dec[start-ls] == ' ' {
			start++
		}
		for end > start && dec[end-1-ls] == ' ' {
			end--
		}
		if end-start >= 3 {
			sc.emit(r, loc, start, end)
		}
	})
}

// longLine is the length from which a line is searched only around its
// keywords (minified code, data URIs, generated tables).
const longLine = 4 << 10

// scanLong searches a long line in windows around each keyword, rather
// than whole once per rule: a credential and the name it is assigned to
// are never far from the keyword that selects the rule.
func (s *Scanner) scanLong(name string, line []byte, base int, ids []int, wholeFrom []int, emit func(r *Rule, loc []int, start, end int)) {
	// A name holding the keyword starts shortly before it, and its value
	// follows within a few hundred bytes (long tokens such as JWTs
	// included); multi-line rules run on the whole text instead.
	const before, after = 64, 512
	lower := bytes.ToLower(line)
	spans := map[int][][2]int{} // rule index (-1: generic) → windows
	for _, id := range ids {
		w := []byte(s.words.words[id])
		for off := 0; ; {
			p := bytes.Index(lower[off:], w)
			if p < 0 {
				break
			}
			p += off
			off = p + len(w)
			for _, i := range s.wordRules[id] {
				if i >= 0 && s.rules[i].Multiline {
					if wholeFrom[i] < 0 {
						wholeFrom[i] = base
					}
					continue
				}
				spans[i] = append(spans[i], [2]int{tokenStart(line, max(p-before, 0)), tokenEnd(line, min(p+len(w)+after, len(line)))})
			}
		}
	}
	for i, ws := range spans {
		slices.SortFunc(ws, func(a, b [2]int) int { return a[0] - b[0] })
		// Overlapping windows merge up to maxSpan: the regexp engine is
		// fast on short texts and slow on long ones, and a match found in
		// two overlapping windows is one match (emit keeps one per span).
		merged := ws[:1]
		for _, w := range ws[1:] {
			if last := &merged[len(merged)-1]; w[0] <= last[1] && max(last[1], w[1])-last[0] <= maxSpan {
				last[1] = max(last[1], w[1])
			} else {
				merged = append(merged, w)
			}
		}
		for _, w := range merged {
			text := line[w[0]:w[1]]
			if i < 0 {
				s.genericMatches(name, text, base+w[0], emit)
			} else {
				s.runRule(name, s.rules[i], text, base+w[0], emit)
			}
		}
	}
	for _, i := range s.noKeywords {
		s.runKeywordless(name, s.rules[i], line, base, emit)
	}
}

// maxSpan bounds the text one rule searches at once on a long line.
const maxSpan = 4 << 10

// tokenStart moves a window's start back to a token boundary, at most 128
// bytes, so a window never begins inside a credential and reports a
// shorter, different token; tokenEnd does the same for its end.
func tokenStart(line []byte, i int) int {
	for n := 0; i > 0 && n < 128 && !boundary(line[i-1]); n++ {
		i--
	}
	return i
}

func tokenEnd(line []byte, i int) int {
	for n := 0; i < len(line) && n < 128 && !boundary(line[i]); n++ {
		i++
	}
	return i
}

// boundary reports bytes that end a token in code and configuration.
func boundary(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '`', ';', ',', '(', ')', '{', '}', '[', ']', '<', '>':
		return true
	}
	return false
}

// runKeywordless runs a rule without keywords on a line: around each run
// of exactly MinRun letters and digits when the rule has one, else on all
// of it.
func (s *Scanner) runKeywordless(name string, r *Rule, line []byte, base int, emit func(r *Rule, loc []int, start, end int)) {
	if r.MinRun == 0 {
		s.runRule(name, r, line, base, emit)
		return
	}
	alnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	for i := 0; i < len(line); {
		if !alnum(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && alnum(line[j]) {
			j++
		}
		if j-i == r.MinRun {
			// One boundary character each side, for the rule's own edges.
			ws, we := max(i-1, 0), min(j+1, len(line))
			s.runRule(name, r, line[ws:we], base+ws, emit)
		}
		i = j
	}
}

// runRule reports the matches of r in text, which starts at offset base
// of the data emit reports on.
func (s *Scanner) runRule(name string, r *Rule, text []byte, base int, emit func(r *Rule, loc []int, start, end int)) {
	for _, loc := range findAll(r.Pattern, text) {
		var start, end int
		bare := false
		switch {
		case r.group("secret", loc, &start, &end), r.group("q2", loc, &start, &end), r.group("q3", loc, &start, &end):
		case r.group("bare", loc, &start, &end), r.group("bare3", loc, &start, &end):
			bare = true
		default:
			start, end = loc[0], loc[1]
		}
		if bare && !plausibleBare(name, text[start:end]) {
			continue
		}
		for i := range loc {
			if loc[i] >= 0 {
				loc[i] += base
			}
		}
		emit(r, loc, start+base, end+base)
	}
}

// group sets start and end to the span of the named group of a match, and
// reports whether the group took part in it.
func (r *Rule) group(name string, loc []int, start, end *int) bool {
	i := r.Pattern.SubexpIndex(name)
	if i <= 0 || loc[2*i] < 0 {
		return false
	}
	*start, *end = loc[2*i], loc[2*i+1]
	return true
}

// findAll is FindAllSubmatchIndex, except that the next search starts
// where the secret ends rather than where the match ends: the boundary
// character after one token ("\n", " ", ",") is also the boundary before
// the next, so tokens one per line are all found.
func findAll(re *regexp.Regexp, data []byte) [][]int {
	var out [][]int
	si := re.SubexpIndex("secret")
	for pos := 0; pos < len(data); {
		loc := re.FindSubmatchIndex(data[pos:])
		if loc == nil {
			break
		}
		for i := range loc {
			if loc[i] >= 0 {
				loc[i] += pos
			}
		}
		out = append(out, loc)
		next := loc[1]
		if si > 0 && loc[2*si+1] > loc[0] {
			next = loc[2*si+1]
		}
		pos = max(next, loc[0]+1)
	}
	return out
}

func (s *Scanner) hash(secret []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write(secret)
	return hex.EncodeToString(m.Sum(nil))
}

func indexLines(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf returns the 1-based line holding offset.
func lineOf(starts []int, off int) int {
	lo, hi := 0, len(starts)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if starts[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

// snippetMax is the longest snippet a match carries.
const snippetMax = 200

// redactLine masks line[start:end], keeping two characters of a long
// secret, and trims the line to 200 bytes around it.
func redactLine(line []byte, start, end int) string {
	if len(line) > 2*snippetMax {
		// Only the text around the secret can reach the snippet.
		from := max(0, start-snippetMax/2)
		to := min(len(line), max(end, from+snippetMax)+snippetMax)
		line, start, end = line[from:to], start-from, end-from
	}
	secret := string(line[start:end])
	if secret == "" {
		return strings.ToValidUTF8(strings.TrimSpace(string(line)), "\uFFFD")
	}
	masked := "****"
	if len(secret) > 8 {
		masked = secret[:2] + strings.Repeat("*", 8)
	}
	// Snippets travel in protobuf strings, which must be UTF-8.
	s := strings.ToValidUTF8(strings.TrimSpace(string(line[:start])+masked+string(line[end:])), "\uFFFD")
	if len(s) > snippetMax {
		cut := snippetMax
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
