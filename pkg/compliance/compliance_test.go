package compliance

import (
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
)

// builtins loads the shipped frameworks and the check catalog.
func builtins(t *testing.T) ([]*Framework, *checks.Catalog) {
	t.Helper()
	fws, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return fws, cat
}

func TestBuiltinFrameworks(t *testing.T) {
	fws, cat := builtins(t)
	if len(fws) == 0 {
		t.Fatal("no frameworks")
	}
	for _, f := range fws {
		if err := f.Verify(cat); err != nil {
			t.Error(err)
		}
	}
}

// TestCISAWS3 holds the CIS AWS Foundations 3.0 file to the benchmark's
// shape: every one of its 62 controls, in its sections, each accounted for.
func TestCISAWS3(t *testing.T) {
	fws, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var f *Framework
	for _, x := range fws {
		if x.ID == "cis-aws-foundations-3.0" {
			f = x
		}
	}
	if f == nil {
		t.Fatal("CIS AWS Foundations 3.0 missing")
	}
	sections := map[string]int{}
	for _, c := range f.Controls {
		sections[strings.SplitN(c.ID, ".", 2)[0]]++
	}
	want := map[string]int{"1": 22, "2": 9, "3": 9, "4": 16, "5": 6}
	for s, n := range want {
		if sections[s] != n {
			t.Errorf("section %s has %d controls, the benchmark %d", s, sections[s], n)
		}
	}
	if auto, manual := f.Counts(); auto+manual != 62 || auto == 0 {
		t.Errorf("counts %d automated + %d manual", auto, manual)
	}
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"no id":       "controls: [{id: '1', checks: [X]}]",
		"both":        "id: f\ncontrols: [{id: '1', checks: [X], manual: why}]",
		"neither":     "id: f\ncontrols: [{id: '1'}]",
		"twice":       "id: f\ncontrols: [{id: '1', manual: a}, {id: '1', manual: b}]",
		"unknown key": "id: f\ncontrols: [{id: '1', manual: a, chekcs: [X]}]",
	} {
		if _, err := Parse(name, []byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	f, err := Parse("ok", []byte("id: f\ncontrols: [{id: '1', checks: [VGL-NOPE]}]"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if f.Verify(cat) == nil {
		t.Error("a control naming an unknown check verified")
	}
}

// TestReferencesAgree keeps the checks' CIS AWS references and the
// framework file in step: a check citing control X is mapped to X.
func TestReferencesAgree(t *testing.T) {
	fws, cat := builtins(t)
	mapped := map[string]map[string]bool{}
	for _, f := range fws {
		if f.ID != "cis-aws-foundations-3.0" {
			continue
		}
		for _, c := range f.Controls {
			mapped[c.ID] = map[string]bool{}
			for _, id := range c.Checks {
				mapped[c.ID][id] = true
			}
		}
	}
	for _, c := range cat.All() {
		for _, r := range c.References {
			ctl, ok := strings.CutPrefix(r, "CIS-AWS-")
			if ok && !mapped[ctl][c.ID] {
				t.Errorf("%s cites CIS AWS %s, which the framework does not map to it", c.ID, ctl)
			}
		}
	}
}
