// Package pipeline accounts for what a scan assessed. Analyzers mark their
// errors with a reason from a closed set; a Ledger records every unit a scan
// tried, once, however many analyzers read it, and turns the marked errors
// into coverage: units assessed, units not assessed with their reason, and
// checks that could not run.
package pipeline

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// Reason is why a unit was not assessed.
type Reason = vigilv1.NotAssessedReason

// The reasons, spelled short.
const (
	ParseError          = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_PARSE_ERROR
	NotUTF8             = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_NOT_UTF8
	TooLarge            = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_TOO_LARGE
	PermissionDenied    = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_PERMISSION_DENIED
	RateLimited         = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_RATE_LIMITED
	TimedOut            = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_TIMED_OUT
	NoVulnerabilityData = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_NO_VULNERABILITY_DATA
	NoCredentials       = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_NO_CREDENTIALS
	NeedsRoot           = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_NEEDS_ROOT
	UnsupportedFormat   = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_UNSUPPORTED_FORMAT
	Unreadable          = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_UNREADABLE
	AnalyzerFailed      = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_ANALYZER_FAILED
	StaleData           = vigilv1.NotAssessedReason_NOT_ASSESSED_REASON_STALE_VULNERABILITY_DATA
)

// ReasonName is a reason as people read it ("parse error", "too large").
func ReasonName(r Reason) string {
	s, ok := strings.CutPrefix(r.String(), "NOT_ASSESSED_REASON_")
	if !ok || r == 0 {
		return "unspecified"
	}
	s = strings.ToLower(strings.ReplaceAll(s, "_", " "))
	return strings.Replace(s, "utf8", "UTF-8", 1)
}

// ParseReason reads a reason by its name, with spaces, dashes or
// underscores ("parse-error", "no_credentials").
func ParseReason(s string) (Reason, bool) {
	s = strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(s)), "UTF-8", "UTF8")
	key := "NOT_ASSESSED_REASON_" + strings.NewReplacer(" ", "_", "-", "_").Replace(s)
	v, ok := vigilv1.NotAssessedReason_value[key]
	return Reason(v), ok && v != 0
}

// Error is an analyzer's error that left its unit not assessed, with the
// reason. Detail qualifies the reason for callers that branch on it (the
// ecosystem that lacks vulnerability data); the message names it too.
type Error struct {
	Reason Reason
	Detail string
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// NotAssessed marks err as the reason its unit was not assessed.
func NotAssessed(r Reason, err error) error { return &Error{Reason: r, Err: err} }

// CheckError is a check that could not run on a unit; the unit's other
// checks still ran.
type CheckError struct {
	Check  string
	Reason Reason
	Err    error
}

func (e *CheckError) Error() string { return e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// notice is an error that leaves its unit assessed.
type notice struct{ err error }

func (n notice) Error() string { return n.err.Error() }
func (n notice) Unwrap() error { return n.err }

// AsNotice marks err as a problem worth reporting that did not stop its
// unit from being assessed (a malformed exemption annotation).
func AsNotice(err error) error {
	if err == nil {
		return nil
	}
	return notice{err}
}

// unitError is an error of a set analyzer that belongs to one unit.
type unitError struct {
	unit string
	err  error
}

func (u unitError) Error() string { return u.err.Error() }
func (u unitError) Unwrap() error { return u.err }

// InUnit ties an error of an analyzer that reads many units at once to the
// unit it is about.
func InUnit(unit string, err error) error {
	if err == nil {
		return nil
	}
	return unitError{unit, err}
}

// Leaves splits errors.Join trees into their parts.
func Leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// Classify returns the reason a unit-level error stands for. Errors no
// analyzer marked are read for what the standard library says of them;
// anything else is the analyzer's own failure.
func Classify(err error) Reason {
	var pe *Error
	var ce *CheckError
	switch {
	case errors.As(err, &pe):
		return pe.Reason
	case errors.As(err, &ce) && ce.Reason != 0:
		return ce.Reason
	case errors.Is(err, fs.ErrPermission):
		return PermissionDenied
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return TimedOut
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return Unreadable
	}
	return AnalyzerFailed
}
