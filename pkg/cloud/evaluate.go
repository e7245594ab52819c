package cloud

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// NotAssessed is the error of a check that read an attribute its
// collector could not get (AccessDenied on the API): the check neither
// passed nor failed.
type NotAssessed struct {
	Check, Resource, Attr, Reason string
}

func (e *NotAssessed) Error() string {
	return fmt.Sprintf("%s not assessed on %s: %s: %s", e.Check, e.Resource, e.Attr, e.Reason)
}

// Evaluate runs the "cloud" checks of a catalog over resources. Each
// failing check is a finding on the resource. A check that read an
// attribute the collector could not get is not assessed: neither passed
// nor failed, it is listed in skipped. Any other evaluation failure is an
// error. lines, when set, gives the source lines of IaC files for snippets.
func Evaluate(ctx context.Context, cs []*checks.Check, resources []*Resource, tenant, scanner string, lines func(path string) [][]byte) (out []*vigilv1.Finding, skipped []*NotAssessed, err error) {
	var errs []error
	for _, r := range resources {
		vars := map[string]any{"resource": r.Vars()}
		res := &vigilv1.Resource{Tenant: tenant, Provider: r.Provider, Account: r.Account, Region: r.Region,
			Kind: r.Type, Name: r.Address, Uri: r.Path}
		for _, c := range cs {
			if err := ctx.Err(); err != nil {
				return out, skipped, err
			}
			if len(c.Kinds) > 0 && !slices.Contains(c.Kinds, r.Kind) {
				continue
			}
			fails, err := c.Fails(vars)
			if err != nil {
				var na *NotAssessed
				if e := notAssessed(c, r, err); errors.As(e, &na) {
					skipped = append(skipped, na)
				} else {
					errs = append(errs, e)
				}
				continue
			}
			if !fails {
				continue
			}
			// At the attribute the check reads, where the source sets it.
			line := r.LineFor(c.Reads)
			loc := &vigilv1.Location{Path: r.Path, StartLine: int32(line), EndLine: int32(line)}
			if lines != nil && r.Path != "" && line > 0 {
				loc.Snippet = finding.Snippet(lines(r.Path), line)
			}
			// A live resource has no file: its address is its path.
			f := c.NewFinding(c.Message(vars), finding.Site{Scanner: scanner, Resource: res, Location: loc, Path: cmp.Or(r.Path, r.Address), Key: r.Address})
			for _, v := range c.Secrets(vars) {
				pipeline.NoteSecretOf(ctx, f, v, "")
			}
			out = append(out, f)
		}
	}
	return out, skipped, errors.Join(errs...)
}

// notAssessed explains a check's evaluation error: an attribute reported
// unreadable when the check read one, else the error itself.
func notAssessed(c *checks.Check, r *Resource, err error) error {
	for attr, reason := range r.NotAssessed {
		if strings.Contains(err.Error(), attr) {
			return &NotAssessed{Check: c.ID, Resource: r.Address, Attr: attr, Reason: reason}
		}
	}
	where := r.Address
	if r.Path != "" {
		where = fmt.Sprintf("%s:%d: %s", r.Path, r.Line, r.Address)
	}
	return fmt.Errorf("%s: check %s: %w", where, c.ID, err)
}
