package cloud

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
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

// PublicPolicy reports whether a policy document (JSON text or decoded)
// allows principal "*" in a statement without a condition.
func PublicPolicy(doc any) bool {
	switch doc.(type) {
	case nil, Unknown:
		return false
	}
	stmts, err := ParsePolicy(doc)
	if err != nil {
		return false
	}
	for _, s := range stmts {
		st := s.(map[string]any)
		if st["effect"] != "Allow" || st["conditional"] == true {
			continue
		}
		for _, p := range st["principals"].([]any) {
			if p == "*" {
				return true
			}
		}
	}
	return false
}

// CustomerKey returns a KMS key reference, or "" for AWS-managed keys
// named by alias ("alias/aws/s3"): those are not the customer's.
func CustomerKey(k string) string {
	if strings.HasPrefix(k, "alias/aws/") || strings.Contains(k, ":alias/aws/") {
		return ""
	}
	return k
}

// TLSVersion reads the minimum TLS version of a provider's security
// policy name ("ELBSecurityPolicy-TLS13-1-2-2021-06", "TLSv1.2_2021",
// "TLS_1_2"): "1.0", "1.1", "1.2", or "" for none.
func TLSVersion(policy string) string {
	p := strings.ToUpper(policy)
	switch {
	case p == "":
		return ""
	case strings.Contains(p, "TLS-1-2") || strings.Contains(p, "TLS13") || strings.Contains(p, "TLS-1-3") ||
		strings.Contains(p, "TLS12") || strings.Contains(p, "TLSV1.2") || strings.Contains(p, "TLS_1_2"):
		return "1.2"
	case strings.Contains(p, "TLSV1.1") || strings.Contains(p, "TLS-1-1") || strings.Contains(p, "TLS_1_1"):
		return "1.1"
	}
	return "1.0"
}
