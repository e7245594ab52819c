// Package git is the source of git repositories ("git:PATH") whose whole
// history is searched for secrets.
package git

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/code"
	"github.com/vigilsec/vigil/pkg/scan/source"
	"github.com/vigilsec/vigil/pkg/scan/source/repo"
)

// Prefix starts a git target: "git:./repo".
const Prefix = "git:"

// Scanner is the scanner name of secrets found in git history.
const Scanner = "history"

// Analyzer is the analyzer of git history: the secret rules over every
// blob ever committed.
var Analyzer = pipeline.Analyzer{Name: Scanner, Version: 1, Reads: []string{pipeline.Repository}, Needs: pipeline.NeedGit}

// Source searches a repository's history with the secret rules.
type Source struct {
	Secrets *code.Secrets
}

// Name is "git".
func (Source) Name() string { return "git" }

// Match reports whether target starts with "git:".
func (Source) Match(target string) bool { return strings.HasPrefix(target, Prefix) }

// Normalize returns the target as given.
func (Source) Normalize(target string) string { return target }

// Scan searches every commit; the repository is one unit, named by its
// remote like a work tree (see package repo). A folder that is not a
// repository fails the target.
func (s Source) Scan(ctx context.Context, res *source.Result, target, tenant string) error {
	dir := strings.TrimPrefix(target, Prefix)
	fs, err := s.Secrets.History(ctx, dir, tenant)
	if err != nil {
		return err
	}
	if abs, err := filepath.Abs(dir); err == nil {
		if r, err := repo.Locate(ctx, abs); err == nil && r.Root == abs {
			res.Identity = Prefix + r.Identity(abs)
		}
	}
	res.Ledger.Attempt(Scanner, pipeline.Repository, target)
	res.Findings[Scanner] = fs
	return nil
}
