package secret

import (
	"bytes"
	"regexp"
	"strings"
	"unicode"
)

// The generic rules find values assigned to credential-named settings in
// any syntax: assignments and key-value pairs (code, JSON, YAML, .env,
// properties), #define and %define, setter calls, XML elements and
// key/value attributes. The name decides the rule; the value must be a
// literal that is not a placeholder, a reference or a path.
var (
	genericPassword = &Rule{ID: "generic-password", Title: "Password", MinEntropy: 2.3}
	genericSecret   = &Rule{ID: "generic-secret", Title: "Secret, token or API key", MinEntropy: 3}
)

// genericKeywords gate the generic search: a file without any is skipped.
var genericKeywords = []string{"pass", "pwd", "psw", "pasw", "pssw", "pw", "cred", "secret", "token", "key", "auth", "salt", "nonce", "api", "bearer"}

const genericValue = `(?:(?:[bBrRuUfF]{1,2})?(?P<q>["'\x60])(?P<secret>[^"'\x60\r\n]{3,200})["'\x60]|(?P<bare>[^\s"'\x60,;(){}<>\[\]]{4,200}))`

var genericForms = []*regexp.Regexp{
	// name = value, name: value, "name": "value", name => value, name := value
	regexp.MustCompile(`(?:^|[\s"'{(,;/&?\[<>|*-])["']?(?P<name>[A-Za-z_$][A-Za-z0-9_.$-]{0,63})["']?[ \t]*(?:=|:|=>|:=|\?=)[ \t]*` + genericValue),
	// name: Type = value (Kotlin, Scala, TypeScript, Python annotations)
	regexp.MustCompile(`(?:^|[\s(,])(?P<name>[A-Za-z_$][A-Za-z0-9_$]{0,63})[ \t]*:[ \t]*[A-Za-z_][\w.<>\[\]|?]*[ \t]*=[ \t]*(?P<q>["'\x60])(?P<secret>[^"'\x60\r\n]{3,200})["'\x60]`),
	// define('NAME', 'value') (PHP), config.set("name", "value")
	regexp.MustCompile(`(?:define|set|put|setProperty|setenv|Setenv)[ \t]*\([ \t]*["'](?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,63})["'][ \t]*,[ \t]*(?P<q>["'])(?P<secret>[^"'\r\n]{3,200})["']`),
	// password == "value", "value" != password: a comparison with a literal
	regexp.MustCompile(`(?P<name>[A-Za-z_$][A-Za-z0-9_.$]{0,63})[ \t]*(?:===?|!==?)[ \t]*(?P<q>["'\x60])(?P<secret>[^"'\x60\r\n]{3,200})["'\x60]`),
	// "value" == password: the literal first
	regexp.MustCompile(`(?P<q>["'\x60])(?P<secret>[^"'\x60\r\n]{3,200})["'\x60][ \t]*(?:===?|!==?)[ \t]*(?P<name>[A-Za-z_$][A-Za-z0-9_.$]{0,63})`),
	// Secret Key: value (two-word names in prose and documents)
	regexp.MustCompile(`(?:^|[\s"'(-])(?P<name>[A-Za-z]{2,20} [A-Za-z]{2,20})[ \t]*[:=][ \t]*` + genericValue),
	// --password value, -Password 'value', --api-token "value" (command lines)
	regexp.MustCompile(`(?:^|[\s"'(])--?(?P<name>[A-Za-z][A-Za-z0-9_-]{1,40})[ \t]+(?:(?P<q>["'])(?P<secret>[^"'\r\n]{3,200})["']|(?P<bare>[^\s"'\x60,;(){}<>\[\]=-][^\s"'\x60,;(){}<>\[\]=]{3,199}={0,2}))`),
	// ?token=value&key=value in URLs
	regexp.MustCompile(`[?&](?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,40})=(?P<bare>[^&\s"'#<>]{8,200})`),
	// #define NAME value, %define name value, set NAME value
	regexp.MustCompile(`(?mi)^[ \t]*(?:%define|%global|#[ \t]*define|set|setx|export)[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,63})[ \t]+` + genericValue),
	// setPassword("value"), .password('value')
	regexp.MustCompile(`(?P<name>[A-Za-z_][A-Za-z0-9_]{0,63})\([ \t]*(?P<q>["'])(?P<secret>[^"'\r\n]{3,200})["'][ \t]*\)`),
	// <password>value</password>
	regexp.MustCompile(`<(?P<name>[A-Za-z_][A-Za-z0-9_.:-]{0,63})(?:[ \t][^>\r\n]*)?>(?P<secret>[^<\r\n]{3,200})</`),
	// <add key="ApiKey" value="…"/>, name="password" value="…"
	regexp.MustCompile(`(?i)(?:name|key)[ \t]*=[ \t]*["'](?P<name>[^"'\r\n]{1,64})["'][ \t]+value[ \t]*=[ \t]*(?P<q>["'])(?P<secret>[^"'\r\n]{3,200})["']`),
}

// formNeeds are, per generic form (same order), the bytes a text must
// hold for the form to match it: each string lists bytes of which at
// least one must occur. Checking them costs one pass over the text and
// spares most regexp runs: a line naming a credential word rarely has
// every piece of an assignment, call or element.
var formNeeds = [][]string{
	{"=:"},
	{":", "=", "\"'`"},
	{"(", ",", "\"'"},
	{"=", "\"'`"},
	{"=", "\"'`"},
	{":=", " "},
	{"-", " \t"},
	{"?&", "="},
	{" \t"},
	{"(", ")", "\"'"},
	{"<", "/"},
	{"=", "vV"},
}

// present is the set of bytes a text holds.
type present [4]uint64

func presentIn(data []byte) present {
	var p present
	for _, c := range data {
		p[c>>6] |= 1 << (c & 63)
	}
	return p
}

// meets reports whether p holds one byte of each of needs.
func (p *present) meets(needs []string) bool {
	for _, any := range needs {
		ok := false
		for i := 0; i < len(any) && !ok; i++ {
			c := any[i]
			ok = p[c>>6]&(1<<(c&63)) != 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// nameWords splits an identifier into lower-case words at separators and
// lower-to-upper case changes ("dbPassword_2" → db, password, 2).
func nameWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == '.' || r == '$' || r == ':' || r == ' ':
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(rs[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return words
}

var (
	passwordWords = map[string]bool{"password": true, "passwd": true, "pwd": true, "pass": true, "passphrase": true,
		"passwort": true, "pword": true, "userpwd": true, "pw": true, "pswd": true, "passw": true, "psswd": true, "pswrd": true,
		"psword": true, "psswrd": true, "pssword": true, "paswd": true, "paswrd": true, "pasword": true, "passwrd": true}
	secretWords = map[string]bool{"secret": true, "secrets": true, "token": true, "apikey": true, "credential": true,
		"credentials": true, "cred": true, "creds": true, "auth": true, "authorization": true, "authentication": true, "salt": true, "nonce": true,
		"privatekey": true, "signingkey": true, "accesskey": true, "secretkey": true, "clientsecret": true, "bearer": true,
		"jwt": true, "sessionkey": true, "encryptionkey": true, "masterkey": true, "apitoken": true, "authtoken": true}
	keyQualifiers = map[string]bool{"api": true, "access": true, "private": true, "secret": true, "auth": true, "client": true,
		"signing": true, "encryption": true, "master": true, "session": true, "license": true, "app": true, "account": true,
		"aes": true, "hmac": true, "crypt": true, "crypto": true, "shared": true, "storage": true, "subscription": true}
	passwordSuffixes = []string{"password", "passwd", "pwd", "pswd", "pass"}
	notPasswords     = map[string]bool{"bypass": true, "compass": true, "surpass": true, "overpass": true, "underpass": true, "trespass": true}
	secretSuffixes   = []string{"secret", "token", "apikey", "accesskey", "privatekey", "secretkey", "credential", "credentials"}
	// pointerWords end the names of settings that say where a secret is,
	// not what it is: passwordSecretRef, secretName, token_file.
	pointerWords = map[string]bool{"ref": true, "refs": true, "reference": true, "name": true, "names": true, "file": true,
		"path": true, "dir": true, "location": true, "selector": true}
)

// classify returns the generic rule a setting's name belongs to, or nil.
func classify(name string) *Rule {
	if name == "PWD" {
		return nil // the shell's working directory
	}
	words := nameWords(name)
	if len(words) == 0 || (len(words) > 1 && pointerWords[words[len(words)-1]]) {
		return nil
	}
	return ruleOfWords(words)
}

// ruleOfWords returns the generic rule the words of a name point to, or
// nil: a password word, a secret word, a qualified key, a trailing api.
func ruleOfWords(words []string) *Rule {
	for _, w := range words {
		if passwordWords[w] {
			return genericPassword
		}
		for _, suf := range passwordSuffixes {
			if len(w) > len(suf) && strings.HasSuffix(w, suf) && !notPasswords[w] {
				return genericPassword
			}
		}
	}
	for i, w := range words {
		if secretWords[w] {
			return genericSecret
		}
		if w == "key" && i > 0 && keyQualifiers[words[i-1]] {
			return genericSecret
		}
		for _, suf := range secretSuffixes {
			if len(w) > len(suf) && strings.HasSuffix(w, suf) {
				return genericSecret
			}
		}
	}
	if last := words[len(words)-1]; last == "api" && len(words) > 1 {
		return genericSecret
	}
	return nil
}

// plausibleValue rejects values that are not literals of a credential:
// URLs, paths, numbers, hex constants, booleans, versions.
func plausibleValue(v []byte) bool {
	s := strings.TrimSpace(string(v))
	switch {
	case strings.HasPrefix(s, "&"), strings.HasPrefix(s, "+"), strings.HasSuffix(s, ","), strings.HasSuffix(s, ", "),
		strings.HasPrefix(s, "urn:"): // an address-of, a concatenation, a URN
		return false
	case strings.Contains(s, "://"), strings.HasPrefix(s, "/"), strings.HasPrefix(s, "./"), strings.HasPrefix(s, "~/"),
		strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"), strings.HasPrefix(s, "@"), strings.HasPrefix(s, "#"),
		strings.HasPrefix(strings.ToLower(s), "enc("), strings.HasPrefix(strings.ToLower(s), "enc["):
		return false
	}
	if n := strings.TrimLeft(s, "-"); strings.HasPrefix(n, "0x") || strings.HasPrefix(n, "0X") {
		return false // a negative hex constant
	}
	if fileName.MatchString(s) {
		return false // where a key is kept ("client-key.pem"), not the key
	}
	digits := 0
	s = strings.TrimLeft(s, "-")
	for _, r := range s {
		if r >= '0' && r <= '9' || r == '.' {
			digits++
		}
	}
	return digits < len(s) // not a number or a version
}

var (
	hexValue = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	// wordValue: camelCase, snake_case, ENV_NAME, words with spaces,
	// kebab-case names ("gssapi-with-mic", "openssh-key-v1").
	wordValue = regexp.MustCompile(`^(?:[a-z]+(?:[A-Z][a-z]+)+|[a-z]+(?:_[a-z]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Za-z]+(?: [A-Za-z]+)+|[a-z]+(?:-[a-z]+)+(?:-v?\d+)?)$`)
	// fileName is a file name with an extension of keys, certificates,
	// keystores and configuration files.
	fileName   = regexp.MustCompile(`(?i)^[a-z0-9_.-]+\.(?:pem|key|crt|cer|csr|der|p8|p12|pfx|jks|keystore|pub|asc|gpg|json|ya?ml|conf|cfg|ini|env|properties|toml|txt)$`)
	printfVerb = regexp.MustCompile(`%[-+# 0-9.]*[vsdqxXfgtTw]`)
)

// fitsName rejects values that the setting's name makes unlikely to be
// credentials: hex nonces and salts (test vectors, public by design) and,
// for secrets and tokens, identifiers made of words ("userAuthRequest").
func fitsName(r *Rule, name string, v []byte) bool {
	for _, w := range nameWords(name) {
		if (w == "nonce" || w == "salt" || w == "iv") && hexValue.Match(v) {
			return false
		}
	}
	if printfVerb.Match(v) {
		return false // a format string
	}
	return r != genericSecret || !wordValue.Match(v)
}

// wholeLine marks the generic forms that must see the whole line: one
// anchored at its start, and one whose value comes before the name.
var wholeLine = map[int]bool{4: true, 8: true}

// nameContext is how far before the first keyword's token a name's
// context may start (define(', name=", <, --, ?).
const nameContext = 32

// genericMatches runs the generic forms over one line, which starts at
// offset base of the data emit reports on. A setting's name holds a
// generic keyword, so forms that read the name first search from a little
// before the first keyword's token, not from the start of the line.
func (s *Scanner) genericMatches(name string, line []byte, base int, emit func(r *Rule, loc []int, start, end int)) {
	if !s.mayName(line) {
		return
	}
	have := presentIn(line)
	from := 0
	if k := s.firstGeneric(line); k > 0 {
		from = max(tokenStart(line, k)-nameContext, 0)
	}
	for f, re := range genericForms {
		if !have.meets(formNeeds[f]) {
			continue
		}
		data, base := line[from:], base+from
		if wholeLine[f] {
			data, base = line, base-from
		}
		ni, si, bi := re.SubexpIndex("name"), re.SubexpIndex("secret"), re.SubexpIndex("bare")
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
			start, end, bare := -1, -1, false
			if si > 0 {
				start, end = loc[2*si], loc[2*si+1]
			}
			if start < 0 && bi > 0 {
				start, end, bare = loc[2*bi], loc[2*bi+1], true
			}
			// The next search starts inside the value, which may hold
			// another pair ("ID:master/PW:s3cret", "url?x=1&token=…").
			pos = max(loc[2*ni+1], loc[0]+1)
			r := classify(string(data[loc[2*ni]:loc[2*ni+1]]))
			if r == nil || start < 0 {
				continue
			}
			pos = max(end, pos)
			v := data[start:end]
			if !plausibleValue(v) || (bare && !plausibleBare(name, v)) || !fitsName(r, string(data[loc[2*ni]:loc[2*ni+1]]), v) {
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
}

// htmlEntities are the character references that hide quotes and angle
// brackets in HTML, XML attributes and diagrams.
var htmlEntities = []struct{ ref, char string }{
	{"&quot;", `"`}, {"&#34;", `"`}, {"&#39;", "'"}, {"&apos;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"},
}

// unescapeEntities replaces character references by their character and
// pads with spaces, so offsets (and lines) stay those of the original.
// It returns nil when data has no reference.
func unescapeEntities(data []byte) []byte {
	if bytes.IndexByte(data, '&') < 0 {
		return nil
	}
	var out []byte
	for i := 0; i < len(data); i++ {
		if data[i] != '&' {
			continue
		}
		for _, e := range htmlEntities {
			if bytes.HasPrefix(data[i:], []byte(e.ref)) {
				if out == nil {
					out = bytes.Clone(data)
				}
				copy(out[i:], e.char)
				for j := i + len(e.char); j < i+len(e.ref); j++ {
					out[j] = ' '
				}
				break
			}
		}
	}
	return out
}

// mayName reports whether some generic keyword of line sits in text that
// can name a credential: the run of name characters around it (letters,
// digits, _ . $ : - and blanks, so two-word names count) holds the words
// of one. Every generic form needs such a name, so a line without one
// ("Copyright The Go Authors", "func (k *Key) String()") is not searched.
func (s *Scanner) mayName(line []byte) bool {
	k := s.words
	st := int32(0)
	for i, b := range line {
		st = k.step(st, b)
		for _, id := range k.out[st] {
			if s.wordRules[id][0] >= 0 {
				continue
			}
			from, to := i+1-len(k.words[id]), i+1
			for n := 0; from > 0 && n < 64 && nameByte(line[from-1]); n++ {
				from--
			}
			for n := 0; to < len(line) && n < 64 && nameByte(line[to]); n++ {
				to++
			}
			run := strings.ReplaceAll(string(line[from:to]), "\t", " ")
			if ruleOfWords(nameWords(run)) != nil {
				return true
			}
		}
	}
	return false
}

// nameByte reports bytes a setting's name (or a two-word one) is made of.
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '$' || c == ':' || c == '-' || c == ' ' || c == '\t'
}

// firstGeneric is the offset at which the first generic keyword of line
// starts, -1 when there is none.
func (s *Scanner) firstGeneric(line []byte) int {
	k := s.words
	st := int32(0)
	for i, b := range line {
		st = k.step(st, b)
		for _, id := range k.out[st] {
			if s.wordRules[id][0] < 0 {
				return i + 1 - len(k.words[id])
			}
		}
	}
	return -1
}
