// Package procfs is the source of a node's running containers, read from
// a /proc folder ("runtime:/host/proc").
package procfs

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/container/proc"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// Prefix starts a runtime target; "runtime:" alone is /proc.
const Prefix = "runtime:"

// Source scans the container processes of a /proc folder.
type Source struct {
	Runtime *proc.Scanner
}

// Name is "runtime".
func (Source) Name() string { return "runtime" }

// Match reports whether target starts with "runtime:".
func (Source) Match(target string) bool { return strings.HasPrefix(target, Prefix) }

// Normalize returns the target as given.
func (Source) Normalize(target string) string { return target }

// Scan reads every container process; the folder is one unit, and a
// process that could not be read is a notice on it. A folder that does
// not exist fails the target.
func (s Source) Scan(ctx context.Context, res *source.Result, target, tenant string) error {
	root := strings.TrimPrefix(target, Prefix)
	if root == "" {
		root = "/proc"
	}
	if _, err := os.Stat(root); err != nil {
		return err
	}
	fs, errs := s.Runtime.Scan(ctx, root, tenant)
	name := s.Runtime.Name()
	res.Ledger.Attempt(name, pipeline.Process, root)
	res.Ledger.RecordSet(name, pipeline.Process, root, errors.Join(errs...))
	res.Findings[name] = fs
	return nil
}
