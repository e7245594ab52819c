package secret

import "testing"

// TestRuleSet keeps the rule set's promises: more than 100 credential
// formats, unique ids, every rule with a pattern that compiles and
// keywords in lower case (the prefilter folds case).
func TestRuleSet(t *testing.T) {
	rules := append(Rules(), genericPassword, genericSecret)
	if len(rules) < 100 {
		t.Fatalf("%d rules, want at least 100", len(rules))
	}
	ids := map[string]bool{}
	for _, r := range rules {
		if ids[r.ID] {
			t.Errorf("rule id %s twice", r.ID)
		}
		ids[r.ID] = true
		for _, k := range r.Keywords {
			for _, c := range k {
				if c >= 'A' && c <= 'Z' {
					t.Errorf("rule %s: keyword %q is not lower case", r.ID, k)
				}
			}
		}
	}
	t.Logf("%d rules", len(rules))
}
