package tree

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/vigilsec/vigil/pkg/scan/source/repo"
)

// namer turns the path a file is read from into the name its findings
// carry. Inside a git repository that is the path from the repository's
// root, the same in every clone; elsewhere it is the path as walked, which
// starts with the cleaned target.
type namer struct {
	repo *repo.Repo
}

// naming finds the repository the target lies in and returns the namer of
// its files and the target's scope name ("" when it is a plain folder,
// named by its path). An error is a repository whose metadata could not be
// read; the namer then names files by path.
func naming(ctx context.Context, target string) (namer, string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return namer{}, "", err
	}
	r, err := repo.Locate(ctx, abs)
	if errors.Is(err, repo.ErrNone) {
		return namer{}, "", nil
	}
	if err != nil {
		return namer{}, "", err
	}
	return namer{repo: &r}, r.Identity(abs), nil
}

// name is the finding name of the file at p.
func (n namer) name(p string) string {
	if n.repo == nil {
		return filepath.ToSlash(p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return n.repo.Rel(abs)
}
