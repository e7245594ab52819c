package finding

import "testing"

func TestAuthIsAWordNotAPrefix(t *testing.T) {
	for text, want := range map[string]bool{
		"--authorization-mode=Node,RBAC": false,
		"basic_auth: hunter22":           true,
		"auth = s3cr3tvalue":             true,
		"AUTH_TOKEN=abcd1234":            true,
		"authority: example.com":         false,
	} {
		if got := LooksLikeSecret(text); got != want {
			t.Errorf("LooksLikeSecret(%q) = %v, want %v", text, got, want)
		}
	}
	if got := Redact("--authorization-mode=Node,RBAC"); got != "--authorization-mode=Node,RBAC" {
		t.Errorf("a setting was masked: %q", got)
	}
}
