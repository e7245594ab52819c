package terraform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// IsPlan reports whether data looks like `terraform show -json` output.
func IsPlan(data []byte) bool {
	head := data[:min(len(data), 4096)]
	return bytes.Contains(head, []byte(`"format_version"`)) &&
		(bytes.Contains(data, []byte(`"planned_values"`)) || bytes.Contains(data, []byte(`"terraform_version"`)))
}

type planModule struct {
	Address      string          `json:"address"`
	Resources    []planResource  `json:"resources"`
	ChildModules []planModule    `json:"child_modules"`
	ModuleCalls  map[string]call `json:"module_calls"`
}

type call struct {
	Module planConfigModule `json:"module"`
}

type planResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Values  map[string]any `json:"values"`
}

type planConfigModule struct {
	Resources []struct {
		Address     string                     `json:"address"`
		Expressions map[string]json.RawMessage `json:"expressions"`
	} `json:"resources"`
	ModuleCalls map[string]call `json:"module_calls"`
}

type plan struct {
	PlannedValues struct {
		RootModule planModule `json:"root_module"`
	} `json:"planned_values"`
	Configuration struct {
		RootModule planConfigModule `json:"root_module"`
	} `json:"configuration"`
}

// Plan reads the planned values of a `terraform show -json` plan into
// blocks. Values only apply will know are null in a plan; for those the
// configuration's references stand in, so links between resources hold.
func Plan(path string, data []byte) (*Config, error) {
	var p plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: plan: %w", path, err)
	}
	refs := map[string]map[string]string{} // resource address → attribute → referenced address
	var walkConfig func(prefix string, m planConfigModule)
	walkConfig = func(prefix string, m planConfigModule) {
		for _, r := range m.Resources {
			for attr, raw := range r.Expressions {
				var e struct {
					References []string `json:"references"`
				}
				if json.Unmarshal(raw, &e) != nil || len(e.References) == 0 {
					continue
				}
				ref := e.References[len(e.References)-1]
				for _, x := range e.References {
					if strings.Count(x, ".") == 1 || (strings.HasPrefix(x, "data.") && strings.Count(x, ".") == 2) {
						ref = x
					}
				}
				addr := prefix + r.Address
				if refs[addr] == nil {
					refs[addr] = map[string]string{}
				}
				refs[addr][attr] = prefix + ref
			}
		}
		for name, c := range m.ModuleCalls {
			walkConfig(prefix+"module."+name+".", c.Module)
		}
	}
	walkConfig("", p.Configuration.RootModule)
	cfg := &Config{}
	var walk func(m planModule)
	walk = func(m planModule) {
		for _, r := range m.Resources {
			attrs := map[string]any{}
			for k, v := range r.Values {
				attrs[k] = planValue(v)
			}
			// Addresses of instances ("aws_s3_bucket.b[0]") share the
			// configuration's references of the resource.
			base := r.Address
			if i := strings.IndexByte(base, '['); i >= 0 {
				base = base[:i]
			}
			for attr, ref := range refs[base] {
				if attrs[attr] == nil {
					attrs[attr] = ref
				}
			}
			mode := "resource"
			if r.Mode == "data" {
				mode = "data"
			}
			cfg.Blocks = append(cfg.Blocks, &Block{Mode: mode, Type: r.Type, Name: r.Name, Address: r.Address, Path: path, Attrs: attrs})
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(p.PlannedValues.RootModule)
	return cfg, nil
}

// planValue converts JSON numbers that are whole to int64, as the HCL
// evaluator gives them.
func planValue(v any) any {
	switch v := v.(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v)
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = planValue(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = planValue(x)
		}
		return out
	}
	return v
}
