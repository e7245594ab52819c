package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/scan/source/tree"
)

func TestVigilignoreAndInlineIgnore(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := "AKIAZ3MXQ7RV2KLWT4NP"
	write("app/config.env", "AWS_ACCESS_KEY_ID="+key+"\n")
	write("app/test.env", "AWS_ACCESS_KEY_ID="+key+" # vigil:ignore\n")
	write("app/other.env", "# vigil:ignore-next-line aws-access-key-id\nAWS_ACCESS_KEY_ID="+key+"\n")
	write("fixtures/keys.env", "AWS_ACCESS_KEY_ID="+key+"\n")
	write("docs/readme.md", "token: ghp_R8fT2kLq9ZmW4xVb7NcH3jPs6YdGa1UeKo5Q\n")
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := New(cat)
	rep, err := s.Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]string{}
	for _, f := range rep.Findings {
		if f.CheckId == "VGL-CODE-010" {
			rel, _ := filepath.Rel(dir, f.Location.Path)
			byPath[filepath.ToSlash(rel)] = f.Fingerprint
		}
	}
	for _, p := range []string{"app/config.env", "fixtures/keys.env", "docs/readme.md"} {
		if byPath[p] == "" {
			t.Fatalf("%s not reported before .vigilignore; got %v", p, byPath)
		}
	}
	for _, p := range []string{"app/test.env", "app/other.env"} {
		if byPath[p] != "" {
			t.Errorf("%s reported despite its inline vigil:ignore", p)
		}
	}
	write(tree.IgnoreFile, "# test data\nfixtures/\nfingerprint:"+byPath["docs/readme.md"]+"\n")
	rep, err = s.Run(context.Background(), []string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		if f.CheckId == "VGL-CODE-010" {
			rel, _ := filepath.Rel(dir, f.Location.Path)
			got[filepath.ToSlash(rel)] = true
		}
	}
	if !got["app/config.env"] || got["fixtures/keys.env"] || got["docs/readme.md"] {
		t.Fatalf("after .vigilignore: %v", got)
	}
}
