package tree

import "testing"

func TestGlobPatterns(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"*.pem", "certs/dev.pem", true},
		{"*.pem", "dev.pem", true},
		{"*.pem", "dev.pem.txt", false},
		{"/testdata/", "testdata/a/b.txt", true},
		{"/testdata/", "src/testdata/a.txt", false},
		{"testdata/", "src/testdata/a.txt", true},
		{"testdata/", "src/testdata", false},
		{"fixtures", "src/fixtures/a.txt", true},
		{"docs/**/*.md", "docs/a/b/c.md", true},
		{"docs/**/*.md", "docs/c.md", true},
		{"docs/**/*.md", "src/docs/c.md", false},
		{"config/?.env", "config/a.env", true},
		{"config/?.env", "config/ab.env", false},
	}
	for _, c := range cases {
		re, err := globRegexp(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(c.path); got != c.want {
			t.Errorf("%q vs %q: %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}
