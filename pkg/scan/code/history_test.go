package code

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Dev One", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev One", "GIT_COMMITTER_EMAIL=dev@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestHistoryReportsTheCommitThatAddedASecret(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app.env", "REGION=eu-west-1\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "first")
	write("app.env", "REGION=eu-west-1\nAWS_ACCESS_KEY_ID=AKIAZ3MXQ7RV2KLWT4NP\n")
	git(t, dir, "commit", "-q", "-am", "add key")
	added := git(t, dir, "rev-parse", "HEAD")
	write("app.env", "REGION=eu-west-1\nAWS_ACCESS_KEY_ID=AKIAZ3MXQ7RV2KLWT4NP\nDEBUG=1\n")
	git(t, dir, "commit", "-q", "-am", "touch the file again")
	write("app.env", "REGION=eu-west-1\n")
	git(t, dir, "commit", "-q", "-am", "remove key")
	git(t, dir, "checkout", "-q", "-b", "feature")
	write("deploy.sh", "curl -u deploy:Zq8vN3rT5wK2 https://ci.internal/hook\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "feature")
	feature := git(t, dir, "rev-parse", "HEAD")
	git(t, dir, "checkout", "-q", "main")

	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := NewSecrets(cat, []byte("k"))
	fs, err := s.History(context.Background(), dir, "acme")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.Location.Path] = f.Message
		if strings.Contains(f.Location.Snippet, "AKIAZ3MXQ7RV2KLWT4NP") || strings.Contains(f.Location.Snippet, "Zq8vN3rT5wK2") {
			t.Fatalf("snippet holds the secret: %q", f.Location.Snippet)
		}
		if len(f.SecretHash) != 64 {
			t.Fatalf("no secret hash")
		}
	}
	if len(fs) != 2 {
		t.Fatalf("want 2 findings (the key once, though two blobs held it; the branch's password), got %v", got)
	}
	if m := got["app.env@"+added[:12]]; !strings.Contains(m, "AWS access key ID") || !strings.Contains(m, "Dev One") {
		t.Fatalf("key not attributed to %s: %v", added[:12], got)
	}
	if _, ok := got["deploy.sh@"+feature[:12]]; !ok {
		t.Fatalf("secret on another branch missed: %v", got)
	}
	if _, err := s.History(context.Background(), t.TempDir(), "acme"); err == nil {
		t.Fatal("a folder that is no repository gave no error")
	}
}
