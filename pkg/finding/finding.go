// Package finding holds the helpers every scanner and the server share about
// findings: identity (fingerprints, scope ids, set digests) and parsing of
// severities and pillars.
package finding

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// fingerprintVersion is mixed into every fingerprint; bump it only with a
// store migration, since it changes every finding's identity.
const fingerprintVersion = "vigil-fp-v1"

// Fingerprint returns the hex SHA-256 identity of a finding: the check, the
// resource identity and a stable location key (file path plus a hash of the
// matched text). Line numbers are deliberately left out so that moving code
// does not create a new finding.
func Fingerprint(checkID string, r *vigilv1.Resource, path, matchKey string) string {
	h := sha256.New()
	write := func(s string) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	write(fingerprintVersion)
	write(checkID)
	if r == nil {
		r = &vigilv1.Resource{}
	}
	for _, s := range []string{r.GetTenant(), r.GetProvider(), r.GetAccount(), r.GetRegion(), r.GetNamespace(), r.GetKind(), r.GetName(), r.GetUri()} {
		write(s)
	}
	write(path)
	mk := sha256.Sum256([]byte(matchKey))
	h.Write(mk[:])
	return hex.EncodeToString(h.Sum(nil))
}

// ScopeIDLen is the length in bytes of a scope id.
const ScopeIDLen = 8

// ScopeID is the short fixed-length hash of (tenant, agent, scanner, target)
// that prefixes store keys so that one scan's findings sit together.
func ScopeID(s *vigilv1.Scope) [ScopeIDLen]byte {
	h := sha256.New()
	for _, v := range []string{s.GetTenant(), s.GetAgent(), s.GetScanner(), s.GetTarget()} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	var id [ScopeIDLen]byte
	copy(id[:], h.Sum(nil))
	return id
}

// Digest is an order-independent digest of a set of fingerprints: the XOR of
// SHA-256 of each. Adding and removing a member are the same operation, so
// the server keeps it up to date incrementally and compares it with the
// agent's at every ScanCompleted.
type Digest [sha256.Size]byte

// Toggle adds fp to the set if absent, or removes it if present.
func (d *Digest) Toggle(fp string) {
	s := sha256.Sum256([]byte(fp))
	for i := range d {
		d[i] ^= s[i]
	}
}

// DigestOf returns the digest of a set of fingerprints.
func DigestOf(fps []string) Digest {
	var d Digest
	for _, fp := range fps {
		d.Toggle(fp)
	}
	return d
}

// ParseSeverity accepts "high", "HIGH", "SEVERITY_HIGH" and the like.
func ParseSeverity(s string) (vigilv1.Severity, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "" {
		return vigilv1.Severity_SEVERITY_UNSPECIFIED, nil
	}
	if !strings.HasPrefix(u, "SEVERITY_") {
		u = "SEVERITY_" + u
	}
	v, ok := vigilv1.Severity_value[u]
	if !ok {
		return 0, fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", s)
	}
	return vigilv1.Severity(v), nil
}

// ParsePillar accepts "cluster", "CLUSTER", "PILLAR_CLUSTER" and the like.
func ParsePillar(s string) (vigilv1.Pillar, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "" {
		return vigilv1.Pillar_PILLAR_UNSPECIFIED, nil
	}
	if !strings.HasPrefix(u, "PILLAR_") {
		u = "PILLAR_" + u
	}
	v, ok := vigilv1.Pillar_value[u]
	if !ok {
		return 0, fmt.Errorf("unknown pillar %q (want code, container, cluster or cloud)", s)
	}
	return vigilv1.Pillar(v), nil
}

// ParseStatus accepts "open", "RESOLVED", "STATUS_REOPENED" and the like.
func ParseStatus(s string) (vigilv1.Status, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(u, "STATUS_") {
		u = "STATUS_" + u
	}
	v, ok := vigilv1.Status_value[u]
	if !ok || v == 0 {
		return 0, fmt.Errorf("unknown status %q (want open, resolved, reopened or suppressed)", s)
	}
	return vigilv1.Status(v), nil
}

// SeverityName is the short lower-case name of a severity ("high").
func SeverityName(s vigilv1.Severity) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "SEVERITY_"))
}

// PillarName is the short lower-case name of a pillar ("cluster").
func PillarName(p vigilv1.Pillar) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PILLAR_"))
}

// StatusName is the short lower-case name of a status ("open").
func StatusName(s vigilv1.Status) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "STATUS_"))
}

// secretAssignment matches "name = value" and "name: value" where the name
// looks like a credential; the value is what Redact masks. "auth" counts
// only as a word of its own ("basic_auth", "auth.user"), so
// "authorization-mode=Node" is a setting, not a credential.
var secretAssignment = regexp.MustCompile(`(?i)((?:[A-Za-z0-9_.-]*(?:pass(?:word|wd)?|secret|token|api_?key|access_?key|private_?key|credential)[A-Za-z0-9_.-]*|[A-Za-z0-9_.-]*[_.-]auth|auth(?:[_.-][A-Za-z0-9_.-]*)?)["']?\s*[:=]\s*["']?)([^\s"',;]+)`)

// SecretTag marks checks whose findings are about a credential; their
// snippets are redacted before they leave the scanner.
const SecretTag = "hardcoded-secret"

// Redact masks credential values in a snippet, keeping at most the first
// two characters of each so a reader can tell which value it was.
func Redact(snippet string) string {
	for _, re := range secretValues {
		snippet = re.ReplaceAllStringFunc(snippet, mask)
	}
	return secretAssignment.ReplaceAllStringFunc(snippet, func(m string) string {
		sub := secretAssignment.FindStringSubmatch(m)
		return sub[1] + mask(sub[2])
	})
}

// Mask hides a secret value, keeping at most its first two characters.
func Mask(v string) string { return mask(v) }

// SecretValues returns the credential values Redact would mask in text.
func SecretValues(text string) []string {
	var out []string
	for _, re := range secretValues {
		out = append(out, re.FindAllString(text, -1)...)
	}
	for _, m := range secretAssignment.FindAllStringSubmatch(text, -1) {
		out = append(out, m[2])
	}
	return out
}

func mask(v string) string {
	if len(v) <= 4 {
		return "****"
	}
	p := v[:2]
	if !utf8.ValidString(p) {
		p = "" // half a character
	}
	return p + strings.Repeat("*", 8)
}

// RedactSecrets redacts the snippet of a finding from a secret check.
func RedactSecrets(f *vigilv1.Finding) {
	for _, t := range f.GetTags() {
		if t == SecretTag && f.GetLocation() != nil {
			f.Location.Snippet = Redact(f.Location.Snippet)
			return
		}
	}
}

// Snippet returns the trimmed text of a 1-based line of a file, at most
// 200 bytes, for a finding's location ("" when the line is out of range).
func Snippet(lines [][]byte, line int) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	s := strings.TrimSpace(string(lines[line-1]))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// SortSummary orders summary groups by tenant, account and pillar, and the
// most severe first within them: the order every summary is shown in.
func SortSummary(gs []*vigilv1.SummaryGroup) {
	sort.Slice(gs, func(i, j int) bool {
		a, b := gs[i], gs[j]
		if a.Tenant != b.Tenant {
			return a.Tenant < b.Tenant
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Pillar != b.Pillar {
			return a.Pillar < b.Pillar
		}
		return a.Severity > b.Severity
	})
}
