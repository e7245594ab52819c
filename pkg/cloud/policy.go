package cloud

import (
	"encoding/json"
	"fmt"
	"sort"
)

// ParsePolicy reads an AWS policy document, as JSON text or as a decoded
// value, into statements (see Statement). Principal "*" and {"AWS": "*"}
// both read as "*".
func ParsePolicy(doc any) ([]any, error) {
	if s, ok := doc.(string); ok {
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			return nil, fmt.Errorf("policy document: %w", err)
		}
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("policy document is not an object")
	}
	var stmts []any
	switch s := m["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	}
	out := make([]any, 0, len(stmts))
	for _, raw := range stmts {
		st, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		effect, _ := st["Effect"].(string)
		_, cond := st["Condition"]
		out = append(out, Statement(effect, Strings(st["Action"]), Strings(st["NotAction"]), Strings(st["Resource"]),
			Principals(st["Principal"]), cond))
	}
	return out, nil
}

// Strings reads a string or a list of strings.
func Strings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

// Principals flattens a policy principal: "*" or {"AWS": [...],
// "Service": ..., "Federated": ...}.
func Principals(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			out = append(out, Strings(v[k])...)
		}
		return out
	}
	return nil
}
