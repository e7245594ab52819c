package pipeline

import (
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
