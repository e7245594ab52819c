package pipeline

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Secrets is what one scan knows to be secret values. Analyzers note the
// credentials they match (NoteSecret); Finish also learns the values of
// URL user-info and of password, token and secret flags in any finding.
// Every occurrence of every value is then masked in every string of every
// finding of the scan and in the ledger's texts, whichever analyzer wrote
// it. The values live in memory for the scan only, and are never sent,
// stored or logged. A Secrets is safe for concurrent use.
type Secrets struct {
	mu     sync.Mutex
	values map[string]bool
	// holders are, per value, the findings that report it (NoteSecretOf):
	// what lets Finish keep one finding per secret and place.
	holders map[string][]holder
}

// holder is a finding that reports a secret value, and the rule of the
// secret scanner that matched it ("" for a check that declared it).
type holder struct {
	fingerprint, rule string
}

// minSecret is the shortest value masked everywhere: a shorter one would
// mask unrelated text across the whole scan.
const minSecret = 6

// Add records a secret value.
func (s *Secrets) Add(v string) {
	v = strings.TrimSpace(strings.ToValidUTF8(v, "\uFFFD")) // as it reads in a sanitized finding
	if len(v) < minSecret || strings.Contains(v, "****") {  // too short, or masked already
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]bool{}
	}
	s.values[v] = true
}

// hold records that the finding fp reports value v.
func (s *Secrets) hold(v, fp, rule string) {
	s.Add(v)
	v = strings.TrimSpace(strings.ToValidUTF8(v, "\uFFFD"))
	if len(v) < minSecret || fp == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holders == nil {
		s.holders = map[string][]holder{}
	}
	s.holders[v] = append(s.holders[v], holder{fingerprint: fp, rule: rule})
}

// Len is the number of values known.
func (s *Secrets) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.values)
}

type secretsKey struct{}

// WithSecrets gives the analyzers called with ctx the scan's secret set.
func WithSecrets(ctx context.Context, s *Secrets) context.Context {
	return context.WithValue(ctx, secretsKey{}, s)
}

// NoteSecret adds a value an analyzer found to be secret to the set of
// the scan ctx belongs to (nothing, outside a scan).
func NoteSecret(ctx context.Context, v string) {
	if s, ok := ctx.Value(secretsKey{}).(*Secrets); ok {
		s.Add(v)
	}
}

// NoteSecretOf adds a value to the scan's secrets, as NoteSecret does,
// and records that finding f reports it. rule names the secret rule that
// matched the value, or is "" when a check declared the value a secret
// (an ENV of a Dockerfile, a literal environment variable of a pod). One
// value reported in one file by a check and by the secret rules is one
// root cause: Finish keeps the check's finding and names the rule in it.
func NoteSecretOf(ctx context.Context, f *vigilv1.Finding, v, rule string) {
	if s, ok := ctx.Value(secretsKey{}).(*Secrets); ok {
		s.hold(v, f.GetFingerprint(), rule)
	}
}

var (
	// userInfo is the user-info of a URL: user:password, or a lone token.
	userInfo = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://([^/\s:@"'<>]+)(?::([^/\s@"'<>]+))?@`)
	// secretFlag is a command-line flag whose name says its value is a
	// credential, with the value after '=' or a space.
	secretFlag = regexp.MustCompile(`(?i)(?:^|[\s"'\[,])--?([a-z0-9._-]*(?:password|passwd|secret|token|api-?key|apikey|access-?key|private-?key)[a-z0-9._-]*)(?:=|\s+)["']?([^\s"',\]]+)`)
	// pathFlag names flags whose value is where a credential is kept, or
	// a setting about credentials, not a credential.
	pathFlag = regexp.MustCompile(`(?i)(?:file|path|dir|ttl|expiration|duration|mode|name|ref|webhook[a-z-]*|auth|enabled?|lookup|provider|issuer|audiences?|extend-[a-z-]*)$`)
)

// Learn adds the secrets a finding shows by their form alone: the password
// (or lone token) of a URL's user-info, the value of a --password, --token
// or --secret style flag, and the credentials in the snippet of a finding
// about one.
func (s *Secrets) Learn(f *vigilv1.Finding) {
	finding.MapStrings(f, func(v string) string {
		s.learnText(v)
		return v
	})
	if slices.Contains(f.GetTags(), finding.SecretTag) {
		for _, v := range finding.SecretValues(f.GetLocation().GetSnippet()) {
			s.Add(v)
		}
	}
}

func (s *Secrets) learnText(v string) {
	if strings.Contains(v, "://") && strings.Contains(v, "@") {
		for _, m := range userInfo.FindAllStringSubmatch(v, -1) {
			switch {
			case m[2] != "":
				s.Add(m[2])
			case len(m[1]) >= 16:
				s.Add(m[1]) // https://TOKEN@host
			}
		}
	}
	if strings.Contains(v, "-") && hasCredentialWord(v) {
		for _, m := range secretFlag.FindAllStringSubmatch(v, -1) {
			if !pathFlag.MatchString(m[1]) && credentialLike(m[2]) {
				s.Add(m[2])
			}
		}
	}
}

// credentialWords are the words secretFlag needs in a flag's name.
var credentialWords = []string{"passw", "secret", "token", "key"}

// hasCredentialWord reports, without allocating, whether v holds one of
// credentialWords in any case: most strings do not, and skip the regexp.
func hasCredentialWord(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] | 0x20 {
		case 'p', 's', 't', 'k':
			for _, w := range credentialWords {
				if len(v)-i >= len(w) && strings.EqualFold(v[i:i+len(w)], w) {
					return true
				}
			}
		}
	}
	return false
}

// credentialLike rules out flag values that are settings: booleans,
// numbers, durations, paths and references to the environment.
func credentialLike(v string) bool {
	if len(v) < minSecret || strings.ContainsAny(v[:1], "/.~$<{-") {
		return false
	}
	if _, err := strconv.ParseBool(v); err == nil {
		return false
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return false
	}
	if _, err := time.ParseDuration(v); err == nil {
		return false
	}
	return true
}

// redactor masks every known value; nil when none is known.
func (s *Secrets) redactor() func(string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.values) == 0 {
		return nil
	}
	vals := make([]string, 0, len(s.values))
	for v := range s.values {
		vals = append(vals, v)
	}
	// Longer values first: the replacer tries them in argument order, so a
	// secret holding another is masked whole.
	slices.SortFunc(vals, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, finding.Mask(v))
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// fold keeps one finding per secret and file. Where a check reports a
// value it declares a credential and the secret rules match the same value
// in the same file, the rules' findings are dropped: the check's finding
// says how the value is exposed, and takes the rules' names, the secret's
// hash and the higher severity. Findings about values no check declared
// are left as they are.
func (s *Secrets) fold(groups map[string][]*vigilv1.Finding) {
	s.mu.Lock()
	holders := s.holders
	s.mu.Unlock()
	if len(holders) == 0 {
		return
	}
	byFP := map[string]*vigilv1.Finding{}
	for _, fs := range groups {
		for _, f := range fs {
			byFP[f.GetFingerprint()] = f
		}
	}
	drop := map[string]bool{}
	rules := map[*vigilv1.Finding][]string{}
	var owners []*vigilv1.Finding
	for _, hs := range holders {
		owner := map[string]*vigilv1.Finding{} // per file, the first check's finding
		for _, h := range hs {
			if f := byFP[h.fingerprint]; f != nil && h.rule == "" && owner[f.GetLocation().GetPath()] == nil {
				owner[f.GetLocation().GetPath()] = f
			}
		}
		for _, h := range hs {
			f := byFP[h.fingerprint]
			o := owner[f.GetLocation().GetPath()]
			if f == nil || h.rule == "" || o == nil {
				continue
			}
			drop[h.fingerprint] = true
			if _, seen := rules[o]; !seen {
				owners = append(owners, o)
			}
			if !slices.Contains(rules[o], h.rule) {
				rules[o] = append(rules[o], h.rule)
			}
			o.SecretHash = cmp.Or(o.SecretHash, f.SecretHash)
			o.Severity = max(o.Severity, f.Severity)
		}
	}
	for _, o := range owners {
		slices.Sort(rules[o])
		o.Message += " (secret rule " + strings.Join(rules[o], ", ") + ")"
	}
	if len(drop) == 0 {
		return
	}
	for name, fs := range groups {
		groups[name] = slices.DeleteFunc(fs, func(f *vigilv1.Finding) bool { return drop[f.GetFingerprint()] })
	}
}
