package checks

import "testing"

func TestWildcardMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "Microsoft.Authorization/roleDefinitions/write", true},
		{"Microsoft.Authorization/*", "microsoft.authorization/roledefinitions/write", true},
		{"Microsoft.Authorization/*/write", "Microsoft.Authorization/roleDefinitions/write", true},
		{"Microsoft.Authorization/roleDefinitions/read", "Microsoft.Authorization/roleDefinitions/write", false},
		{"Microsoft.Storage/*", "Microsoft.Authorization/roleDefinitions/write", false},
		{"s3:Get*", "s3:GetObject", true},
		{"*a*a", "a", false},
		{"*ab*b", "abab", true},
		{"", "", true},
	} {
		if got := WildcardMatch(c.pattern, c.s); got != c.want {
			t.Errorf("WildcardMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}
