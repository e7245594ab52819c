package secret

import (
	"strings"
	"testing"
)

func TestRulesFindAndRedact(t *testing.T) {
	s := New([]byte("k"))
	cases := map[string]struct{ text, secret string }{
		"aws-access-key-id":     {"id = AKIAQYLPMN5HHHFPZAM2\n", "AKIAQYLPMN5HHHFPZAM2"},
		"github-token":          {"token: ghp_R8fT2kLq9ZmW4xVb7NcH3jPs6YdGa1UeKo5Q\n", "ghp_R8fT2kLq9ZmW4xVb7NcH3jPs6YdGa1UeKo5Q"},
		"slack-token":           {"SLACK=xoxb-2461938475-7881029384756-Zx8yw7vu6ts5rq4po3nm2lk1\n", "xoxb-2461938475-7881029384756-Zx8yw7vu6ts5rq4po3nm2lk1"},
		"stripe-key":            {`key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"` + "\n", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		"private-key":           {"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aumfm9ReVZ0lYK3kB3ESbUb3yQEYYo\nq3Zt7WmLp2Rk9Xv4Bn8Jc6Hf1Dg5Sa0Qe3Ty7Ui2Op4As6Df8Gh1Jk3Lz5Xc7Vb9\n-----END RSA PRIVATE KEY-----\n", "MIIEpAIBAAKCAQEA"},
		"database-url-password": {"DATABASE_URL=postgres://svc:Vx9!qLr2mZ@db.internal:5432/app\n", "Vx9!qLr2mZ"},
		"generic-password":      {"admin_password: 'Tr0ub4dor&3xQ9'\n", "Tr0ub4dor&3xQ9"},
		"jwt":                   {"Authorization: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIi"},
	}
	for id, c := range cases {
		ms := s.Scan([]byte("first line\n" + c.text))
		found := false
		for _, m := range ms {
			if m.Rule.ID != id {
				continue
			}
			found = true
			if m.Line != 2 {
				t.Errorf("%s: line %d, want 2", id, m.Line)
			}
			if len(m.Hash) != 64 {
				t.Errorf("%s: hash %q", id, m.Hash)
			}
			if strings.Contains(m.Redacted, c.secret[2:]) {
				t.Errorf("%s: redacted line %q still holds the secret", id, m.Redacted)
			}
		}
		if !found {
			t.Errorf("%s: not found in %q (got %v)", id, c.text, ms)
		}
	}
}

func TestNoFalsePositives(t *testing.T) {
	s := New(nil)
	for _, text := range []string{
		"password: changeme\n",                // too little entropy
		"password_file: /run/secrets/db\n",    // a path
		"token: ${TOKEN}\n",                   // a reference
		"AKIAIOSFODNN7EXAMPLEX is too long\n", // not a key id
		"\x00\x01binary AKIAQYLPMN5HHHFPZAM2",
	} {
		if ms := s.Scan([]byte(text)); len(ms) > 0 {
			t.Errorf("%q: %s reported", text, ms[0].Rule.ID)
		}
	}
}

func TestHashIsKeyed(t *testing.T) {
	text := []byte("AKIAQYLPMN5HHHFPZAM2")
	a, b, c := New([]byte("one")).Scan(text), New([]byte("one")).Scan(text), New([]byte("two")).Scan(text)
	if a[0].Hash != b[0].Hash || a[0].Hash == c[0].Hash {
		t.Fatal("hash not stable under one key or not different under another")
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("password = 'Xy7#kLm9Qz'\nAKIAQYLPMN5HHHFPZAM2"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nabc"))
	s := New([]byte("k"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range s.Scan(data) {
			if m.Line < 1 || len(m.Redacted) > 200 {
				t.Fatalf("bad match %+v", m)
			}
		}
	})
}

func TestKeywordsMatchLikeContains(t *testing.T) {
	words := []string{"he", "she", "his", "hers", "aws", "akia", "sk_live_", "://", "a"}
	k := newKeywords(words)
	for _, text := range []string{"ushers", "AKIA1234", "no match here?", "x sk_live_y", "postgres://u:p@h", "", "HiS"} {
		seen := make([]bool, len(words))
		k.find([]byte(text), seen)
		for i, w := range words {
			if want := strings.Contains(strings.ToLower(text), w); seen[i] != want {
				t.Errorf("%q: keyword %q found=%v, want %v", text, w, seen[i], want)
			}
		}
	}
}
