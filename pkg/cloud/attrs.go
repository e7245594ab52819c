package cloud

import (
	"strconv"
	"strings"
)

// Unknown stands for a value only apply or deployment would know (an
// unset variable or parameter, a resource id, a function the evaluator
// lacks). Adapters treat it as "cannot tell", never as the insecure default.
type Unknown struct{}

// Attrs reads the attributes of an IaC resource, decoded to Go values.
// Every getter takes the value to use when the attribute is unknown, which
// adapters choose so that an unknown value never raises a finding alone.
type Attrs map[string]any

func (a Attrs) Has(name string) bool {
	v, ok := a[name]
	return ok && v != nil
}

func (a Attrs) IsUnknown(name string) bool {
	_, ok := a[name].(Unknown)
	return ok
}

// Str returns a known string (numbers and bools as written), else def,
// or ifUnknown when the value is unknown.
func (a Attrs) Str(name, def, ifUnknown string) string {
	switch v := a[name].(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case Unknown:
		return ifUnknown
	}
	return def
}

func (a Attrs) Bool(name string, def, ifUnknown bool) bool {
	switch v := a[name].(type) {
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
		return ifUnknown
	case Unknown:
		return ifUnknown
	}
	return def
}

func (a Attrs) Num(name string, def, ifUnknown int64) int64 {
	switch v := a[name].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return n
		}
		return ifUnknown
	case Unknown:
		return ifUnknown
	}
	return def
}

// Strs returns the known strings of a list (or a single string).
func (a Attrs) Strs(name string) []string { return Strings(a[name]) }

// Blocks returns the nested blocks (or object values) of name.
func (a Attrs) Blocks(name string) []Attrs {
	var out []Attrs
	switch v := a[name].(type) {
	case []any:
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case map[string]any:
		out = append(out, v)
	}
	return out
}

// Block returns the first nested block of name, or an empty one.
func (a Attrs) Block(name string) Attrs {
	if bs := a.Blocks(name); len(bs) > 0 {
		return bs[0]
	}
	return Attrs{}
}

// Path follows nested blocks: Path("vpc_config", "endpoint_public_access").
func (a Attrs) Path(names ...string) Attrs {
	cur := a
	for _, n := range names {
		cur = cur.Block(n)
	}
	return cur
}
