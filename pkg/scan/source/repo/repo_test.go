package repo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for raw, want := range map[string]string{
		"git@github.com:acme/app.git":                 "github.com/acme/app",
		"https://github.com/acme/app":                 "github.com/acme/app",
		"https://user:s3cret@GitHub.com/acme/app.git": "github.com/acme/app",
		"ssh://git@github.com:22/acme/app.git/":       "github.com/acme/app",
		"ssh://git@gitlab.example:2222/g/sub/app":     "gitlab.example/g/sub/app",
		"git://example.org/x//y.git":                  "example.org/x/y",
		"file:///srv/git/app.git":                     "/srv/git/app",
		"/srv/git/app.git/":                           "/srv/git/app",
		"../app":                                      "../app",
		"  ":                                          "",
	} {
		if got := Normalize(raw); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", raw, got, want)
		}
	}
}

// A remote's password never reaches the name.
func TestNormalizeDropsCredentials(t *testing.T) {
	for _, raw := range []string{"https://u:tok3n@host/a", "https://tok3n@host/a", "tok3n@host:a"} {
		if got := Normalize(raw); strings.Contains(got, "tok3n") {
			t.Errorf("Normalize(%q) = %q keeps the credential", raw, got)
		}
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=t@example.org", "-c", "user.name=t", "-c", "init.defaultBranch=main"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestLocateByRemote(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	git(t, root, "init", "-q")
	git(t, root, "remote", "add", "upstream", "https://example.org/other/fork.git")
	sub := filepath.Join(root, "deploy", "k8s")
	os.MkdirAll(sub, 0o755)

	r, err := Locate(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if r.Root != root || r.Name != "example.org/other/fork" {
		t.Fatalf("Locate = %+v, want root %s named by its only remote", r, root)
	}
	git(t, root, "remote", "add", "origin", "git@github.com:acme/app.git")
	r, err = Locate(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Identity(sub); got != "repo://github.com/acme/app//deploy/k8s" {
		t.Errorf("Identity = %q: origin wins over other remotes", got)
	}
	if got := r.Identity(root); got != "repo://github.com/acme/app" {
		t.Errorf("Identity(root) = %q", got)
	}
	if got := r.Rel(filepath.Join(sub, "web.yaml")); got != "deploy/k8s/web.yaml" {
		t.Errorf("Rel = %q", got)
	}
}

// Two copies of a repository with no remote share its root commit; one with
// no commit and a plain folder have no name.
func TestLocateByRootCommit(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	a := filepath.Join(base, "a")
	os.MkdirAll(a, 0o755)
	if _, err := Locate(ctx, a); !errors.Is(err, ErrNone) && !strings.Contains(base, ".git") {
		t.Fatalf("plain folder: %v, want ErrNone", err)
	}
	git(t, a, "init", "-q")
	if _, err := Locate(ctx, a); !errors.Is(err, ErrNone) {
		t.Fatalf("repository with no commit: %v, want ErrNone", err)
	}
	os.WriteFile(filepath.Join(a, "f"), []byte("x"), 0o644)
	git(t, a, "add", "f")
	git(t, a, "commit", "-q", "-m", "first")
	b := filepath.Join(base, "b")
	git(t, base, "clone", "-q", "--no-local", a, b)
	git(t, b, "remote", "remove", "origin")

	ra, err := Locate(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Locate(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ra.Name, "commit/") || ra.Name != rb.Name {
		t.Errorf("names %q and %q, want one root commit", ra.Name, rb.Name)
	}
}

// A linked work tree reads the remotes of the repository it belongs to.
func TestLocateLinkedWorktree(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	main := filepath.Join(base, "main")
	os.MkdirAll(main, 0o755)
	git(t, main, "init", "-q")
	git(t, main, "remote", "add", "origin", "https://github.com/acme/app")
	os.WriteFile(filepath.Join(main, "f"), []byte("x"), 0o644)
	git(t, main, "add", "f")
	git(t, main, "commit", "-q", "-m", "first")
	wt := filepath.Join(base, "wt")
	git(t, main, "worktree", "add", "-q", wt)
	r, err := Locate(ctx, filepath.Join(wt, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Root != wt || r.Name != "github.com/acme/app" {
		t.Errorf("Locate = %+v, want root %s named by the main tree's origin", r, wt)
	}
}

// A config that does not parse is an error naming the file, not a panic.
func TestLocateBadConfig(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, ".git"), 0o755)
	os.WriteFile(filepath.Join(root, ".git", "config"), []byte("[remote \"origin\"\n\turl = x\n"), 0o644)
	_, err := Locate(context.Background(), root)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, ".git", "config")) {
		t.Errorf("err = %v, want one naming the config file", err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"git@github.com:a/b.git", "https://u:p@h:1/x", "file:///a", "::", "@:", "ssh://[::1]:22/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := Normalize(raw)
		if strings.HasSuffix(got, ".git") {
			t.Errorf("Normalize(%q) = %q keeps .git", raw, got)
		}
	})
}

func FuzzRemoteName(f *testing.F) {
	f.Add([]byte("[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:a/b.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"))
	f.Add([]byte("[remote \"x\"]\nurl=\n[remote]\nurl=y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		remoteName(dir) // must not panic
	})
}
