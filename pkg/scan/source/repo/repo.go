// Package repo finds the git repository a path lies in and names it by
// what outlives a checkout: its remote URL, or its root commit when it has
// no remote. Two clones of one repository, wherever they sit on disk, get
// one name, so their findings keep their identity when a checkout moves.
package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// Scheme starts the scope name of a target inside a repository.
const Scheme = "repo://"

// Repo is a work tree and the name it goes by in the fleet.
type Repo struct {
	// Root is the absolute path of the work tree's top folder.
	Root string
	// Name is the normalised remote URL ("github.com/org/app"), or
	// "commit/<sha>" of the root commit for a repository with no remote.
	Name string
}

// ErrNone means the path lies in no git work tree, or in one with neither
// a remote nor a commit to name it by.
var ErrNone = errors.New("not in a named git repository")

// Locate finds the repository an absolute path lies in. ErrNone means there
// is none (a plain folder); another error means one was found but its
// metadata could not be read.
func Locate(ctx context.Context, abs string) (Repo, error) {
	root, gitdir, err := findRoot(abs)
	if err != nil {
		return Repo{}, err
	}
	name, err := remoteName(gitdir)
	if err != nil {
		return Repo{}, err
	}
	if name == "" {
		name, err = rootCommit(ctx, root)
		if err != nil {
			return Repo{}, err
		}
	}
	if name == "" {
		return Repo{}, ErrNone
	}
	return Repo{Root: root, Name: name}, nil
}

// Identity is the scope name of the target at abs inside the repository:
// the repository's name, and the path below its root when the target is
// not the root itself.
func (r Repo) Identity(abs string) string {
	rel := r.Rel(abs)
	if rel == "." {
		return Scheme + r.Name
	}
	return Scheme + r.Name + "//" + rel
}

// Rel is abs relative to the root, slash-separated; "." for the root.
func (r Repo) Rel(abs string) string {
	rel, err := filepath.Rel(r.Root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

// findRoot walks up from abs to the folder holding ".git" and returns it
// with the git directory whose config names the remotes: ".git" itself,
// or for a linked work tree or a submodule (".git" is a file) the folder
// it points at, and its common directory when it has one.
func findRoot(abs string) (root, gitdir string, err error) {
	dir := abs
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	for {
		dotgit := filepath.Join(dir, ".git")
		fi, err := os.Stat(dotgit)
		switch {
		case err == nil && fi.IsDir():
			return dir, dotgit, nil
		case err == nil:
			gd, err := linkedDir(dotgit)
			if err != nil {
				return "", "", err
			}
			return dir, gd, nil
		case !errors.Is(err, os.ErrNotExist):
			return "", "", fmt.Errorf("%s: %w", dotgit, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", ErrNone
		}
		dir = parent
	}
}

// linkedDir follows a ".git" file ("gitdir: PATH") to the git directory,
// and from there to the common directory of a linked work tree.
func linkedDir(dotgit string) (string, error) {
	data, err := os.ReadFile(dotgit)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dotgit, err)
	}
	target, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
	if !ok {
		return "", fmt.Errorf("%s: not a gitdir link", dotgit)
	}
	gd := strings.TrimSpace(target)
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(filepath.Dir(dotgit), gd)
	}
	if common, err := os.ReadFile(filepath.Join(gd, "commondir")); err == nil {
		c := strings.TrimSpace(string(common))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gd, c)
		}
		gd = c
	}
	return filepath.Clean(gd), nil
}

// remoteName reads the git directory's config and returns the normalised
// URL of the remote "origin", or of the first remote by name when there is
// no origin; "" when there is no remote.
func remoteName(gitdir string) (string, error) {
	cfgPath := filepath.Join(gitdir, "config")
	data, err := os.ReadFile(cfgPath)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", cfgPath, err)
	}
	cfg, err := ini.LoadSources(ini.LoadOptions{AllowBooleanKeys: true, IgnoreContinuation: false, SkipUnrecognizableLines: true}, data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", cfgPath, err)
	}
	remotes := map[string]string{}
	for _, sec := range cfg.Sections() {
		name, ok := remoteSection(sec.Name())
		if !ok || !sec.HasKey("url") {
			continue
		}
		remotes[name] = sec.Key("url").String()
	}
	if u, ok := remotes["origin"]; ok {
		return Normalize(u), nil
	}
	names := make([]string, 0, len(remotes))
	for n := range remotes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if u := Normalize(remotes[n]); u != "" {
			return u, nil
		}
	}
	return "", nil
}

// remoteSection returns the remote a config section header names
// (`remote "origin"`).
func remoteSection(header string) (string, bool) {
	kind, sub, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(kind, "remote") {
		return "", false
	}
	sub = strings.TrimSpace(sub)
	if len(sub) < 2 || sub[0] != '"' || sub[len(sub)-1] != '"' {
		return "", false
	}
	return sub[1 : len(sub)-1], true
}

// Normalize spells a remote URL the same way however it was cloned: no
// scheme, user, password or port, a lower-case host, no trailing ".git"
// or slash. "git@github.com:org/app.git", "https://user:tok@github.com/org/app"
// and "ssh://git@github.com:22/org/app" are all "github.com/org/app". A
// local path stays a cleaned path.
func Normalize(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	var host, p string
	switch {
	case strings.Contains(raw, "://"):
		u, err := url.Parse(raw)
		if err != nil {
			return ""
		}
		if u.Scheme == "file" {
			return trimRepo(path.Clean(u.Path))
		}
		host, p = u.Hostname(), u.Path
	case scpLike(raw):
		at := raw
		if i := strings.LastIndex(at[:strings.Index(at, ":")], "@"); i >= 0 {
			at = at[i+1:]
		}
		host, p, _ = strings.Cut(at, ":")
	default:
		return trimRepo(filepath.ToSlash(filepath.Clean(raw)))
	}
	p = strings.Trim(path.Clean("/"+p), "/")
	return trimRepo(strings.ToLower(host) + "/" + p)
}

// scpLike reports the "[user@]host:path" form, told apart from a local
// path by a colon that comes before any slash.
func scpLike(s string) bool {
	colon := strings.Index(s, ":")
	slash := strings.Index(s, "/")
	return colon > 0 && (slash < 0 || colon < slash)
}

func trimRepo(s string) string {
	s = strings.TrimSuffix(s, "/")
	return strings.TrimSuffix(s, ".git")
}

// rootCommit names a repository with no remote by its first commit (the
// smallest, when histories were merged), read with the git command; "" when
// git is not installed or the repository has no commit yet.
func rootCommit(ctx context.Context, root string) (string, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "-C", root, "rev-list", "--max-parents=0", "HEAD")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s: root commit: %w", root, ctx.Err())
		}
		return "", nil // no commit yet (an unborn HEAD)
	}
	roots := strings.Fields(stdout.String())
	if len(roots) == 0 {
		return "", nil
	}
	sort.Strings(roots)
	return "commit/" + roots[0], nil
}
