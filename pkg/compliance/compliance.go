// Package compliance holds the compliance frameworks Vigil reports on, as
// data: each control of a framework lists the checks that assess it, or
// says why it is assessed by hand. Code never decides membership.
package compliance

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/pkg/checks"
)

//go:embed frameworks/*.yaml
var builtin embed.FS

// Framework is one benchmark or standard at one version.
type Framework struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Version  string    `json:"version"`
	Controls []Control `json:"controls"`
}

// Control is one requirement: assessed by Checks, or by hand for the
// reason in Manual. Exactly one of the two is set.
type Control struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Checks []string `json:"checks,omitempty"`
	Manual string   `json:"manual,omitempty"`
}

// Builtin returns the frameworks shipped with Vigil, sorted by id.
func Builtin() ([]*Framework, error) {
	names, err := fs.Glob(builtin, "frameworks/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("compliance: %w", err)
	}
	var out []*Framework
	for _, n := range names {
		data, err := builtin.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("compliance: %s: %w", n, err)
		}
		f, err := Parse(path.Base(n), data)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Parse reads one framework file and checks its shape: an id, controls
// with unique ids, each with checks or a manual reason but not both.
func Parse(name string, data []byte) (*Framework, error) {
	var f Framework
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("compliance: %s: %w", name, err)
	}
	if f.ID == "" || len(f.Controls) == 0 {
		return nil, fmt.Errorf("compliance: %s: a framework needs an id and controls", name)
	}
	seen := map[string]bool{}
	for _, c := range f.Controls {
		switch {
		case c.ID == "":
			return nil, fmt.Errorf("compliance: %s: a control has no id", name)
		case seen[c.ID]:
			return nil, fmt.Errorf("compliance: %s: control %s is listed twice", name, c.ID)
		case (len(c.Checks) == 0) == (c.Manual == ""):
			return nil, fmt.Errorf("compliance: %s: control %s needs either checks or a manual reason", name, c.ID)
		}
		seen[c.ID] = true
	}
	return &f, nil
}

// Verify reports controls that name checks the catalog does not have.
func (f *Framework) Verify(cat *checks.Catalog) error {
	for _, c := range f.Controls {
		for _, id := range c.Checks {
			if _, ok := cat.Get(id); !ok {
				return fmt.Errorf("compliance: %s control %s: no check %s", f.ID, c.ID, id)
			}
		}
	}
	return nil
}

// Counts returns how many controls checks assess and how many are manual.
func (f *Framework) Counts() (automated, manual int) {
	for _, c := range f.Controls {
		if len(c.Checks) > 0 {
			automated++
		} else {
			manual++
		}
	}
	return automated, manual
}

// Checks returns the distinct checks the framework maps, sorted.
func (f *Framework) Checks() []string {
	set := map[string]bool{}
	for _, c := range f.Controls {
		for _, id := range c.Checks {
			set[id] = true
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
