package cluster

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/pkg/checks"
)

// rootVar is the variable a check's field is relative to, per iterator.
func rootVar(each string) string {
	if each == "" {
		return "obj"
	}
	return each
}

// narrow finds, for a check that fails on a list or map field, the entry
// that makes it fail, and returns its line. The check is evaluated again
// with the field empty, where it must pass (else the failure is about
// what the field lacks, and the field is the right place), and with each
// entry alone: the first entry in the document that fails alone is the
// place. 0 when there is no such entry.
func narrow(c *checks.Check, el element, node *yaml.Node) int {
	if c.Field == "" || strings.ContainsAny(c.Field, ":[") {
		return 0
	}
	name := rootVar(c.Each)
	root, ok := el.vars[name].(map[string]any)
	if !ok {
		return 0
	}
	var entries []string // path suffixes of the entries
	var alone []any      // the field holding only that entry
	var empty any
	switch v := lookup(root, c.Field).(type) {
	case map[string]any:
		empty = map[string]any{}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			entries = append(entries, "["+strconv.Quote(k)+"]")
			alone = append(alone, map[string]any{k: v[k]})
		}
	case []any:
		empty = []any{}
		for i, e := range v {
			entries = append(entries, fmt.Sprintf("[%d]", i))
			alone = append(alone, []any{e})
		}
	default:
		return 0
	}
	if len(entries) == 0 {
		return 0
	}
	fails := func(field any) bool {
		vars := make(map[string]any, len(el.vars))
		for k, v := range el.vars {
			vars[k] = v
		}
		vars[name] = withField(root, strings.Split(c.Field, "."), field)
		f, err := c.Fails(vars)
		return err == nil && f
	}
	if fails(empty) {
		return 0
	}
	best := 0
	base := el.fieldPath(c.Field)
	for i, e := range entries {
		if !fails(alone[i]) {
			continue
		}
		if l := lineOf(node, base+e); l > 0 && (best == 0 || l < best) {
			best = l
		}
	}
	return best
}

// withField returns a copy of m with the field at path set to v, copying
// only the maps along the path.
func withField(m map[string]any, path []string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[k] = e
	}
	if len(path) == 1 {
		out[path[0]] = v
		return out
	}
	child, _ := m[path[0]].(map[string]any)
	if child == nil {
		child = map[string]any{}
	}
	out[path[0]] = withField(child, path[1:], v)
	return out
}
