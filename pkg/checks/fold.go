package checks

import (
	"slices"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// Folds are, per check id, the checks it subsumes (Check.Subsumes).
type Folds map[string][]string

// FoldsOf collects the subsumptions among cs.
func FoldsOf(cs []*Check) Folds {
	fo := Folds{}
	for _, c := range cs {
		if len(c.Subsumes) > 0 {
			fo[c.ID] = c.Subsumes
		}
	}
	return fo
}

// Fold keeps one finding per root cause. fs are findings on one object
// and elems[i] names the element fs[i] was found on (a rule, a container).
// When a check fails on an element together with checks it subsumes, their
// findings are dropped and the subsuming finding names what they found,
// takes their tags and references, and the highest severity. fs is
// rewritten in place; the kept findings keep their order.
func (fo Folds) Fold(fs []*vigilv1.Finding, elems []string) []*vigilv1.Finding {
	if len(fo) == 0 {
		return fs
	}
	at := map[string]int{} // element + check → index in fs
	for i, f := range fs {
		at[elems[i]+"\x00"+f.GetCheckId()] = i
	}
	drop := make([]bool, len(fs))
	for i, f := range fs {
		subsumes := fo[f.GetCheckId()]
		if len(subsumes) == 0 || drop[i] {
			continue
		}
		var also []string
		for _, id := range subsumes {
			j, ok := at[elems[i]+"\x00"+id]
			if !ok || drop[j] {
				continue
			}
			drop[j] = true
			g := fs[j]
			also = append(also, g.GetMessage())
			f.Severity = max(f.Severity, g.Severity)
			for _, t := range g.Tags {
				if !slices.Contains(f.Tags, t) {
					f.Tags = append(f.Tags, t)
				}
			}
			for _, r := range g.References {
				if !slices.Contains(f.References, r) {
					f.References = append(f.References, r)
				}
			}
		}
		if len(also) > 0 {
			f.Message += " (includes: " + strings.Join(also, "; ") + ")"
		}
	}
	out := fs[:0]
	for i, f := range fs {
		if !drop[i] {
			out = append(out, f)
		}
	}
	return out
}
