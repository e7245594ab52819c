// Package checkstest runs the failing and passing cases kept for each check
// in a scanner's testdata/cases.yaml.
package checkstest

import (
	"os"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/pkg/checks"
)

// Case is one failing and one passing input for a check.
type Case struct {
	Check string `json:"check"`
	Fail  string `json:"fail"`
	Pass  string `json:"pass"`
}

// Run loads the cases in file and, for each, asserts that scan reports the
// check on the failing input and not on the passing one. Every check in
// all must have at least one case that ran: a check whose every case
// skipped on this machine (it needs root, a tool that is missing) is
// untested here, and that fails too.
func Run(t *testing.T, file string, all []*checks.Check, scan func(t *testing.T, input string) map[string]int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []Case
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	covered, ran := map[string]bool{}, map[string]bool{}
	for _, c := range cases {
		covered[c.Check] = true
		t.Run(c.Check, func(t *testing.T) {
			defer func() {
				if !t.Skipped() {
					ran[c.Check] = true
				}
			}()
			if got := scan(t, c.Fail); got[c.Check] == 0 {
				t.Errorf("failing case not reported; got %v", got)
			}
			if got := scan(t, c.Pass); got[c.Check] != 0 {
				t.Errorf("passing case reported")
			}
		})
	}
	for _, c := range all {
		switch {
		case !covered[c.ID]:
			t.Errorf("check %s has no case in %s", c.ID, file)
		case !ran[c.ID]:
			t.Errorf("check %s: every case in %s was skipped on this machine; add one that runs anywhere", c.ID, file)
		}
	}
}
