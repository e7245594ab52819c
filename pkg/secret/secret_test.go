package secret

import (
	"strings"
	"testing"
)

func TestRulesFindAndRedact(t *testing.T) {
	s := New([]byte("k"))
	cases := map[string]struct{ text, secret string }{
		"aws-access-key-id":     {"id = AKIAQYLPMN5HHHFPZAM2\n", "AKIAQYLPMN5HHHFPZAM2"},
		"github-token":          {"token: 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\n", "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"},
		"npm-token":             {"//registry.npmjs.org/:_authToken=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\n", "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"},
		"sql-password":          {"CREATE ROLE app WITH LOGIN PASSWORD 'Qm7vT2xLp9';\n", "Qm7vT2xLp9"},
		"newrelic-license-key":  {"license: eu01x7c3a9b0d2e4f6a8c1b3d5e7f9a0c2e4NRAL\n", "7c3a9b0d2e4f6a8c1b3d5e7f9a0c2e4"},
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
		`o.Password = "client"` + "\n",              // one lowercase word: a fixture's stand-in
		"readonly CLIENT_KEY=client-key.pem\n",      // where the key is kept
		`api_key_file = "deploy-token.json"` + "\n", // a file name
	} {
		if ms := s.Scan([]byte(text)); len(ms) > 0 {
			t.Errorf("%q: %s reported", text, ms[0].Rule.ID)
		}
	}
}

// TestWordsWithMoreAreSecrets keeps the values the plain-word and
// file-name filters must not drop.
func TestWordsWithMoreAreSecrets(t *testing.T) {
	s := New(nil)
	for _, text := range []string{
		`o.Password = "clientpass9"` + "\n",
		`o.Password = "Kl1ent!x"` + "\n",
		`clientSecret := "q8Zt3.pemVx2Lw9"` + "\n",
	} {
		if ms := s.Scan([]byte(text)); len(ms) == 0 {
			t.Errorf("%q: not reported", text)
		}
	}
}

// lineRules scans text and returns, per line, the ids of the rules found.
func lineRules(text string) map[int][]string {
	out := map[int][]string{}
	for _, m := range New(nil).Scan([]byte(text)) {
		out[m.Line] = append(out[m.Line], m.Rule.ID)
	}
	return out
}

func TestTokensOnAdjacentLines(t *testing.T) {
	// The newline after one token is also the boundary before the next.
	got := lineRules("figd_h65Ugiu76WD3xf233a6KAmo9ZmbWNnNrny9Q6IHl\nfigd_Zq2Wm8LpXv4Rt7Ny1Kb6Hc3Jd9Fs5Ga0Ue8Io2Pa\nAKIAQYLPMN5HHHFPZAM2 AKIAZXCVBNM234567ABC\n")
	for line, want := range map[int]int{1: 1, 2: 1, 3: 2} {
		if len(got[line]) != want {
			t.Errorf("line %d: %v, want %d findings", line, got[line], want)
		}
	}
}

func TestTokenChecksum(t *testing.T) {
	// A real GitHub token carries the CRC-32 of its random part; a
	// hand-made look-alike does not, and is not reported as one.
	for text, want := range map[string]bool{
		"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":  true,
		"ghp_00000000000000000000000000000004WZ4EQ": true, // zeros, but the checksum holds
		"ghp_R8fT2kLq9ZmW4xVb7NcH3jPs6YdGa12Y6EBC":  false,
		"ghp_iR54dhCYg9Tfmoywi9xLmmKZrrnAw438BYh3":  false,
		"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":  true,
		"npm_Vb7NcH3jPs6YdGa1R8fT2kLq9ZmW4x3t5ZBm":  false,
	} {
		if got := validTokenChecksum(nil, []byte(text)); got != want {
			t.Errorf("%s: checksum valid=%v, want %v", text, got, want)
		}
	}
}

func TestGenericForms(t *testing.T) {
	for _, text := range []string{
		"gpg --decrypt --passphrase N1DdkUD3E73 --output out.txt in.gpg\n",
		"Connect-Server -Domain 'localhost' -Password 'Sjdn43ss@!'\n",
		"ID:master/PW:dipPr15Gg!\n",
		"PSSWRD:=FlUgeGeHeImEn07\n",
		`if "f62e5bcda4fae4f82370da0c6f20697b8f8447ef" == password {` + "\n",
		`const pw = "KjasdlkjapoIKLlka98098sdf012U/rL2sLdBqOHQ=="` + "\n",
		`cred = "Rt5yHn8UjM3kIo0LpQ2w"` + "\n",
		`<mxCell value="&lt;div&gt;password: Nq7&amp;Gd4xKp&lt;/div&gt;" />` + "\n",
		`<a href="http://example.com?token=&quot;g1re0g1T0keN3zWx&quot;">x</a>` + "\n",
	} {
		if got := lineRules(text); len(got[1]) == 0 {
			t.Errorf("%q: nothing found", text)
		}
	}
	for _, text := range []string{
		"tar --password-file /etc/pw --verbose\n",    // a path
		"login --token $TOKEN --verbose\n",           // a reference
		"run --secret id=npmrc,src=.npmrc build .\n", // docker build syntax
		"ALTER ROLE app PASSWORD NULL;\n",
		"cfg := DBConfig{ // #nosec G101\n\tPassword: \"f62e5bcda4fae4f82370da0c6f20697b8f8447ef\",\n}\n",
		`return fmt.Errorf("unexpected auth state: allowed=%v", m)` + "\n",
		`msgUserAuthRequest: "userAuthRequestMsg",` + "\n",
		`cmd.Env = append(os.Environ(), "PWD="+dir, "GOPROXY=off")` + "\n",
		"go run maketables.go -tables=chars -package=main\n",
	} {
		if got := lineRules(text); len(got) > 0 {
			t.Errorf("%q: reported %v", text, got)
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
		k.lines([]byte(text), func(_, _ int, ids []int) {
			for _, id := range ids {
				seen[id] = true
			}
		})
		for i, w := range words {
			if want := strings.Contains(strings.ToLower(text), w); seen[i] != want {
				t.Errorf("%q: keyword %q found=%v, want %v", text, w, seen[i], want)
			}
		}
	}
}

// The byte prerequisites of the generic forms are one per form, and each
// is necessary: a text the form matches holds them.
func TestFormNeedsAreNecessary(t *testing.T) {
	if len(formNeeds) != len(genericForms) {
		t.Fatalf("%d prerequisites for %d forms", len(formNeeds), len(genericForms))
	}
	samples := []string{
		`db_password = "hunter2hunter"`, `apiToken: 'x9Fq2LmZ'`, `"secret": "a8Kq2Lx9"`, `token => abc12345`,
		`val password: String = "Tr0ub4dor&3"`, `define('DB_PASSWORD', 's3cr3tP4ss')`, `config.set("api.key", "Zk29xLqP")`,
		`if password == "letmein99" {`, `if "letmein99" === password {`, `Secret Key: Zk29xLqP7vRm`, `--password 'Zk29xLqP'`,
		`curl https://h.example/x?token=Zk29xLqP7vRm&x=1`, `#define API_KEY "Zk29xLqP7vRm"`, `export DB_PASS Zk29xLqP`,
		`setPassword("Zk29xLqP7vRm")`, `<password>Zk29xLqP7vRm</password>`, `<add key="ApiKey" value="Zk29xLqP7vRm"/>`,
		`name="password" VALUE="Zk29xLqP"`, `-Password Zk29xLqP`,
	}
	for _, s := range samples {
		have := presentIn([]byte(s))
		for f, re := range genericForms {
			if re.MatchString(s) && !have.meets(formNeeds[f]) {
				t.Errorf("form %d matches %q but its prerequisites %q say it cannot", f, s, formNeeds[f])
			}
		}
	}
}
