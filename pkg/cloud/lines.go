package cloud

import (
	"strings"
)

// SourceLines are the lines of a resource's definition: the line of each
// attribute or nested block its source sets, by path ("versioning",
// "server_side_encryption_configuration.rule", "Properties.BucketName").
type SourceLines map[string]int

// noise are words of attribute names too common to tie a normalised
// attribute to a source one.
var noise = map[string]bool{"is": true, "id": true, "enabled": true, "enable": true, "required": true, "config": true,
	"configuration": true, "properties": true, "the": true, "of": true, "settings": true, "setting": true, "block": true}

// alias are words of normalised names that sources spell otherwise: a
// security group's rules are its ingress and egress blocks, IMDS is the
// instance metadata service.
var alias = map[string][]string{
	"rules": {"ingress", "egress", "rule"},
	"imds":  {"metadata", "tokens"},
}

// Locate sets r.Lines from the lines of r's source: each normalised
// attribute of r's kind gets the line of the source attribute whose name
// shares the most words with it ("encrypted" and "storage_encrypted",
// "kms_key" and "KmsKeyId"), top-level attributes preferred at a tie. An
// attribute no source name shares a word with gets none: a finding about
// it points at the resource.
func (r *Resource) Locate(src SourceLines) {
	k, ok := Kinds[r.Kind]
	if !ok || len(src) == 0 {
		return
	}
	type cand struct {
		line  int
		words map[string]bool
		depth int
	}
	cands := make([]cand, 0, len(src))
	for path, line := range src {
		cands = append(cands, cand{line, words(path), strings.Count(path, ".")})
	}
	for name := range k.Attrs {
		want := words(name)
		best, bestScore, bestDepth := 0, 0, 0
		for _, c := range cands {
			score := 0
			for w := range want {
				if c.words[w] {
					score++
					continue
				}
				for _, a := range alias[w] {
					if c.words[a] {
						score++
						break
					}
				}
			}
			if score > bestScore || score == bestScore && score > 0 && (c.depth < bestDepth || c.depth == bestDepth && c.line < best) {
				best, bestScore, bestDepth = c.line, score, c.depth
			}
		}
		if bestScore > 0 {
			if r.Lines == nil {
				r.Lines = map[string]int{}
			}
			r.Lines[name] = best
		}
	}
}

// words splits a name into its lower-case words at separators and case
// changes, leaving out noise.
func words(name string) map[string]bool {
	out := map[string]bool{}
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			if w := strings.ToLower(string(cur)); !noise[w] {
				out[w] = true
			}
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, c := range rs {
		switch {
		case c == '_' || c == '.' || c == '-' || c == ' ' || c == '[' || c == ']':
			flush()
		case c >= 'A' && c <= 'Z' && i > 0 && rs[i-1] >= 'a' && rs[i-1] <= 'z':
			flush()
			cur = append(cur, c)
		default:
			cur = append(cur, c)
		}
	}
	flush()
	return out
}

// LineFor is the line a finding about the attributes reads points at: the
// first of them the source sets, else the resource's own line.
func (r *Resource) LineFor(reads []string) int {
	for _, a := range reads {
		if l := r.Lines[a]; l > 0 {
			return l
		}
	}
	return r.Line
}
