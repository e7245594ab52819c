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
	"strings"
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
}

// Scanner finds credentials with a fixed rule set and hash key.
type Scanner struct {
	rules []*Rule
	key   []byte
	// words holds every rule's keywords; ruleWords[i] are rule i's ids.
	words     *keywords
	nwords    int
	ruleWords [][]int
}

// New returns a scanner over the built-in rules. key keys the hashes of
// matches; scanners that share a key recognise the same secret.
func New(key []byte) *Scanner {
	s := &Scanner{rules: Rules(), key: append([]byte(nil), key...)}
	var all []string
	for _, r := range s.rules {
		var ids []int
		for _, w := range r.Keywords {
			ids = append(ids, len(all))
			all = append(all, w)
		}
		s.ruleWords = append(s.ruleWords, ids)
	}
	s.words, s.nwords = newKeywords(all), len(all)
	return s
}

// Scan returns the credentials in data. Binary data (a NUL byte in the
// first 8 KiB) is not searched.
func (s *Scanner) Scan(data []byte) []Match { return s.ScanFile("", data) }

// ScanFile is Scan for the content of a named file: a value assigned
// without quotes that reads like an identifier is taken as a literal in
// configuration files (.env, YAML, properties) and as a variable in code.
func (s *Scanner) ScanFile(name string, data []byte) []Match {
	head := data
	if len(head) > 8<<10 {
		head = head[:8<<10]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return nil
	}
	seen := make([]bool, s.nwords)
	s.words.find(data, seen)
	var out []Match
	var lineStarts []int
	seenAt := map[[2]int]bool{} // one finding per secret span
	emit := func(r *Rule, loc []int, start, end int) {
		secret := data[start:end]
		if seenAt[[2]int{start, end}] {
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
		seenAt[[2]int{start, end}] = true // also when ignored: no other rule reports it
		if ignoredLine(data, loc[0], r.ID) {
			return
		}
		if lineStarts == nil {
			lineStarts = indexLines(data)
		}
		// The line is where the match starts (a PEM block's BEGIN line).
		ms0 := loc[0]
		for ms0 < start && (data[ms0] == '\n' || data[ms0] == '\r') {
			ms0++ // a boundary character of the previous line
		}
		line := lineOf(lineStarts, ms0)
		ls := lineStarts[line-1]
		le := len(data)
		if line < len(lineStarts) {
			le = lineStarts[line] - 1
		}
		ms, me := max(start, ls), min(end, le)
		if ms > me {
			ms, me = le, le // the secret starts on a later line
		}
		endLine := lineOf(lineStarts, max(end-1, ms0))
		out = append(out, Match{Rule: r, Line: line, EndLine: endLine, Redacted: redactLine(data[ls:le], ms-ls, me-ls), Hash: s.hash(secret)})
	}
	for i, r := range s.rules {
		hit := len(s.ruleWords[i]) == 0 // no keywords: always searched
		for _, id := range s.ruleWords[i] {
			hit = hit || seen[id]
		}
		if !hit {
			continue
		}
		for _, loc := range r.Pattern.FindAllSubmatchIndex(data, -1) {
			start, end := loc[0], loc[1]
			bare := false
			if i := r.Pattern.SubexpIndex("secret"); i > 0 && loc[2*i] >= 0 {
				start, end = loc[2*i], loc[2*i+1]
			} else if i := r.Pattern.SubexpIndex("bare"); i > 0 && loc[2*i] >= 0 {
				start, end, bare = loc[2*i], loc[2*i+1], true
			} else if i := r.Pattern.SubexpIndex("q2"); i > 0 && loc[2*i] >= 0 {
				start, end = loc[2*i], loc[2*i+1]
			}
			if bare && !plausibleBare(name, data[start:end]) {
				continue
			}
			emit(r, loc, start, end)
		}
	}
	s.genericMatches(name, data, emit)
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

// redactLine masks line[start:end], keeping two characters of a long
// secret, and trims the line to 200 bytes around it.
func redactLine(line []byte, start, end int) string {
	secret := string(line[start:end])
	if secret == "" {
		return strings.TrimSpace(string(line))
	}
	masked := "****"
	if len(secret) > 8 {
		masked = secret[:2] + strings.Repeat("*", 8)
	}
	s := strings.TrimSpace(string(line[:start]) + masked + string(line[end:]))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
