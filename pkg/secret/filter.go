package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"hash/crc32"
	"path/filepath"
	"regexp"
	"strings"
)

func (r *Rule) generic() bool { return strings.HasPrefix(r.ID, "generic-") }

// placeholderWords mark documentation values rather than credentials.
var placeholderWords = []string{"example", "xxxxx", "*****", "fake", "dummy", "sample", "placeholder", "changeme", "change_me",
	"change-me", "your_", "your-", "<", ">", "${", "{{", "%s", "%(", "0123456", "1234567", "2345678", "3456789", "9876543",
	"6543210", "abcdefg", "redacted", "qwerty", "notreal", "not_real", "lorem", "insert", "replace"}

// genericWords mark values of credential-named settings that are not
// credentials: words, types and references.
var genericWords = []string{"test", "password", "secret", "token", "string", "null", "none", "true", "false", "undefined",
	"required", "optional", "env.", "environ", "getenv", "process.", "config.", "settings.", "args.", "params.", "request.",
	"self.", "this.", "vault:", "secretref", "valuefrom", "file:", "/run/secrets", "arn:aws:"}

// placeholder reports whether a secret reads like documentation.
func placeholder(secret []byte, generic, allowRuns bool) bool {
	l := strings.ToLower(string(secret))
	for _, w := range placeholderWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	if generic {
		for _, w := range genericWords {
			if strings.Contains(l, w) {
				return true
			}
		}
		if plainWord(secret) {
			return true
		}
	}
	return !allowRuns && hasRun(l)
}

// plainWord reports a value of eight lowercase letters or fewer
// ("client", "admin", "hunter"): a test fixture's stand-in, too common a
// string to mask everywhere it occurs, and no credential a scanner can
// tell from the word.
func plainWord(v []byte) bool {
	if len(v) > 8 {
		return false
	}
	for _, c := range v {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// hasRun reports six or more of one character in a row.
func hasRun(s string) bool {
	n := 1
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			n++
			if n >= 6 {
				return true
			}
		} else {
			n = 1
		}
	}
	return false
}

// configExts are files whose unquoted values are literals.
var configExts = map[string]bool{"": true, ".env": true, ".properties": true, ".ini": true, ".cfg": true, ".conf": true,
	".yaml": true, ".yml": true, ".toml": true, ".txt": true, ".sh": true, ".bash": true, ".zsh": true, ".ps1": true,
	".bat": true, ".cmd": true, ".tfvars": true, ".hcl": true, ".xml": true, ".json": true, ".md": true, ".log": true,
	".template": true, ".tpl": true, ".cnf": true, ".npmrc": true, ".pypirc": true, ".netrc": true}

var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

// plausibleBare reports whether an unquoted value can be a literal
// credential: in code it must not read like an identifier or a call.
func plausibleBare(name string, v []byte) bool {
	ext := strings.ToLower(filepath.Ext(name))
	base := strings.ToLower(filepath.Base(name))
	config := configExts[ext] || strings.HasPrefix(base, ".env") || strings.HasPrefix(base, "dockerfile")
	if identifier.Match(v) {
		if !config || bytes.Contains(v, []byte(".")) {
			return false
		}
		// A bare word in configuration: a credential has digits or mixed case.
		return bytes.ContainsAny(v, "0123456789") && bytes.IndexFunc(v, func(r rune) bool { return r >= 'A' && r <= 'Z' }) >= 0 ||
			entropy(v) >= 3.5
	}
	return true
}

// ignoredLine reports an inline allowlist marker on the line of off or the
// line before it: "vigil:ignore" (every rule) or "vigil:ignore RULE-ID".
// markerReach is how far from a match on a long line an allowlist marker
// counts; markerArgs bounds the text read as a marker's arguments.
const (
	markerReach = 1 << 10
	markerArgs  = 128
)

func ignoredLine(data []byte, off int, id string) bool {
	// The line around off, searched no further than longLine each way: on
	// a long line (minified code, a file without line breaks) a marker
	// counts only near the match, as one far away is about something else.
	lo, hi := max(0, off-longLine), min(len(data), off+longLine)
	ls, le := lo, hi
	if i := bytes.LastIndexByte(data[lo:off], '\n'); i >= 0 || lo == 0 {
		ls = lo + i + 1
	}
	if i := bytes.IndexByte(data[off:hi], '\n'); i >= 0 {
		le = off + i
	}
	if le-ls >= longLine {
		return markerAllows(data[max(ls, off-markerReach):min(le, off+markerReach)], id)
	}
	if markerAllows(data[ls:le], id) {
		return true
	}
	if ls > 0 {
		lo := max(0, ls-1-longLine)
		ps := bytes.LastIndexByte(data[lo:ls-1], '\n') + 1 + lo
		prev := data[ps : ls-1]
		if bytes.Contains(prev, []byte("vigil:ignore-next-line")) && markerAllows(prev, id) {
			return true
		}
	}
	return blockMarker(data, ls, id)
}

// markerAllows reports whether a line carries a marker that allows a
// secret of rule id: #nosec, gitleaks:allow, or vigil:ignore bare or
// naming the rule, "secret" or VGL-CODE-010.
func markerAllows(line []byte, id string) bool {
	// Markers of other scanners that a code base may already carry.
	if bytes.Contains(line, []byte("#nosec")) || bytes.Contains(line, []byte("gitleaks:allow")) {
		return true
	}
	i := bytes.Index(line, []byte("vigil:ignore"))
	if i < 0 {
		return false
	}
	after := line[i+len("vigil:ignore"):]
	if len(after) > markerArgs {
		after = after[:markerArgs] // the marker's own arguments, not the rest of the line
	}
	rest := strings.TrimSpace(string(after))
	rest = strings.TrimPrefix(rest, "-next-line")
	rest = strings.TrimSpace(strings.TrimLeft(rest, ":"))
	if rest == "" || strings.HasPrefix(rest, "*/") || strings.HasPrefix(rest, "-->") {
		return true
	}
	for _, f := range strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == ',' || r == ';' }) {
		if f == id || f == "secret" || f == "VGL-CODE-010" {
			return true
		}
	}
	return false
}

// blockMarker reports a marker on a line above ls that opens a block still
// open at ls, as #nosec on a statement covers all of it:
// "cfg := Config{ // #nosec".
func blockMarker(data []byte, ls int, id string) bool {
	open := 0 // brackets opened and not closed between a line and the match
	for n, end := 0, ls; n < 50 && end > 0; n++ {
		lo := max(0, end-1-longLine)
		start := bytes.LastIndexByte(data[lo:end-1], '\n') + 1 + lo
		if start == lo && lo > 0 {
			return false // a line longer than any block opener worth reading
		}
		line := data[start : end-1]
		open += bytes.Count(line, []byte("{")) + bytes.Count(line, []byte("(")) + bytes.Count(line, []byte("[")) -
			bytes.Count(line, []byte("}")) - bytes.Count(line, []byte(")")) - bytes.Count(line, []byte("]"))
		if open > 0 && markerAllows(line, id) {
			return true
		}
		end = start
	}
	return false
}

// unencryptedPEM rejects private keys that are encrypted (a passphrase
// protects them) and key bodies that are not base64.
func unencryptedPEM(match, _ []byte) bool {
	return !bytes.Contains(match, []byte("ENCRYPTED"))
}

// validJWT checks that the header decodes to a JSON object with "alg".
func validJWT(_, secret []byte) bool {
	head, _, _ := bytes.Cut(secret, []byte("."))
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(string(head), "="))
	if err != nil {
		return false
	}
	var h map[string]any
	if json.Unmarshal(raw, &h) != nil {
		return false
	}
	_, ok := h["alg"]
	return ok
}

// validBasicAuth checks that the value decodes to user:password.
func validBasicAuth(_, secret []byte) bool {
	raw, err := base64.StdEncoding.DecodeString(string(secret))
	if err != nil {
		return false
	}
	user, pass, ok := bytes.Cut(raw, []byte(":"))
	return ok && len(user) > 0 && len(pass) > 0 && !placeholder(pass, true, false)
}

// luhn checks a payment card number's check digit.
func luhn(_, secret []byte) bool {
	sum, n := 0, 0
	for i := len(secret) - 1; i >= 0; i-- {
		c := secret[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n >= 13 && sum%10 == 0
}

// validAgeKey checks the bech32 checksum of an age secret key.
func validAgeKey(_, secret []byte) bool {
	s := strings.ToLower(string(secret))
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || len(s)-sep < 7 {
		return false
	}
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	var values []int
	for _, c := range s[:sep] {
		values = append(values, int(c)>>5)
	}
	values = append(values, 0)
	for _, c := range s[:sep] {
		values = append(values, int(c)&31)
	}
	for _, c := range s[sep+1:] {
		i := strings.IndexRune(charset, c)
		if i < 0 {
			return false
		}
		values = append(values, i)
	}
	gen := []int{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := 1
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ v
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk == 1
}

// base64PEM decodes a base64 blob and accepts it when it holds an
// unencrypted PEM private key.
func base64PEM(_, secret []byte) bool {
	raw, err := base64.StdEncoding.DecodeString(string(secret))
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(string(secret), "="))
		if err != nil {
			return false
		}
	}
	return bytes.Contains(raw, []byte("-----BEGIN")) && bytes.Contains(raw, []byte("PRIVATE KEY")) && !bytes.Contains(raw, []byte("ENCRYPTED"))
}

// validJFrog accepts AKCp keys and reference tokens that decode to
// "reftkn:01:…".
func validJFrog(_, secret []byte) bool {
	if bytes.HasPrefix(secret, []byte("AKCp")) {
		return true
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(string(secret), "="))
	return err == nil && bytes.HasPrefix(raw, []byte("reftkn:01:"))
}

// validJiraPAT accepts 44 base64 characters that decode to a 12-digit id,
// a colon and random bytes, the shape of Atlassian Data Center tokens.
func validJiraPAT(_, secret []byte) bool {
	raw, err := base64.StdEncoding.DecodeString(string(secret))
	if err != nil || len(raw) < 14 {
		return false
	}
	for _, c := range raw[:12] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return raw[12] == ':'
}

// base62 is the alphabet of the checksum in GitHub and npm tokens.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// validTokenChecksum checks the last six characters of a GitHub
// (ghp_, gho_, ghu_, ghs_, ghr_) or npm (npm_) token: the CRC-32 (IEEE) of
// the random part before them, in base 62, padded with zeros. Hand-made
// look-alikes fail it; real tokens, even ones full of zeros, pass.
func validTokenChecksum(_, secret []byte) bool {
	_, body, ok := bytes.Cut(secret, []byte("_"))
	if !ok || len(body) <= 6 {
		return false
	}
	random, sum := body[:len(body)-6], body[len(body)-6:]
	n := crc32.ChecksumIEEE(random)
	var want [6]byte
	for i := 5; i >= 0; i-- {
		want[i] = base62[n%62]
		n /= 62
	}
	return n == 0 && bytes.Equal(want[:], sum)
}
