package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestLedgerCountsEachUnitOnce(t *testing.T) {
	l := NewLedger()
	parse := NotAssessed(ParseError, errors.New("bad.yaml: document 1: mapping values"))
	for _, s := range []string{"kubernetes", "secrets", "cloudformation", "certificates"} {
		l.Record(s, File, "good.yaml", nil)
	}
	l.Record("kubernetes", File, "bad.yaml", parse)
	l.Record("cloudformation", File, "bad.yaml", NotAssessed(ParseError, errors.New("bad.yaml: template")))
	l.Record("secrets", File, "bad.yaml", nil)
	l.Record("dockerfile", File, "Dockerfile", nil)

	all := l.Coverage("")
	if all.UnitsAttempted != 3 || all.UnitsAssessed != 2 || all.UnitsNotAssessed != 1 || len(all.NotAssessed) != 1 {
		t.Fatalf("whole view: %v", all)
	}
	e := all.NotAssessed[0]
	if e.Path != "bad.yaml" || e.Reason != ParseError || strings.Join(e.Analyzers, ",") != "cloudformation,kubernetes" {
		t.Fatalf("entry: %v", e)
	}
	// A scanner that read the file whole sees it assessed.
	if c := l.Coverage("secrets"); c.UnitsAttempted != 2 || c.UnitsAssessed != 2 {
		t.Fatalf("secrets view: %v", c)
	}
	if c := l.Coverage("kubernetes"); c.UnitsAttempted != 2 || c.UnitsNotAssessed != 1 {
		t.Fatalf("kubernetes view: %v", c)
	}
	if c := l.Coverage("dockerfile"); c.UnitsAttempted != 1 || c.UnitsAssessed != 1 || c.UnitKind != File {
		t.Fatalf("dockerfile view: %v", c)
	}
}

func TestLedgerSortsErrorsIntoReasonsChecksAndNotices(t *testing.T) {
	l := NewLedger()
	err := errors.Join(
		AsNotice(errors.New("p.yaml: annotation vigil.dev/ignore: bad date")),
		&CheckError{Check: "VGL-CLUSTER-001", Err: errors.New("no such key")},
		&CheckError{Check: "VGL-CLUSTER-001", Err: errors.New("no such key")},
	)
	l.Record("kubernetes", File, "p.yaml", err)
	c := l.Coverage("")
	if c.UnitsAssessed != 1 || len(c.ChecksNotRun) != 1 || c.ChecksNotRun[0].Units != 2 {
		t.Fatalf("coverage %v", c)
	}
	if n := l.Notices(""); len(n) != 1 || !strings.Contains(n[0].Error, "bad date") {
		t.Fatalf("notices %v", n)
	}
	// A set analyzer's error tied to a unit lands on it; the rest is a
	// notice about the whole target.
	l.RecordSet("terraform", File, "infra", errors.Join(
		InUnit("infra/main.tf", NotAssessed(ParseError, errors.New("main.tf:3: unclosed block"))),
		errors.New("module x: no files")))
	c = l.Coverage("terraform")
	if c.UnitsAttempted != 1 || c.UnitsNotAssessed != 1 || c.NotAssessed[0].Path != "infra/main.tf" {
		t.Fatalf("set coverage %v", c)
	}
	if n := l.Notices("terraform"); len(n) != 1 || n[0].Path != "infra" {
		t.Fatalf("set notices %v", n)
	}
}

func TestClassify(t *testing.T) {
	for err, want := range map[error]Reason{
		NotAssessed(TooLarge, errors.New("big")):                                  TooLarge,
		fmt.Errorf("read: %w", &fs.PathError{Op: "open", Err: fs.ErrPermission}):  PermissionDenied,
		fmt.Errorf("scan: %w", context.DeadlineExceeded):                          TimedOut,
		&fs.PathError{Op: "read", Path: "x", Err: errors.New("EIO")}:              Unreadable,
		errors.New("something of its own"):                                        AnalyzerFailed,
		fmt.Errorf("wrapped: %w", NotAssessed(NoCredentials, errors.New("none"))): NoCredentials,
	} {
		if got := Classify(err); got != want {
			t.Errorf("Classify(%v) = %v, want %v", err, got, want)
		}
	}
	for _, r := range []Reason{ParseError, NotUTF8, NoVulnerabilityData} {
		if back, ok := ParseReason(ReasonName(r)); !ok || back != r {
			t.Errorf("%v → %q → %v", r, ReasonName(r), back)
		}
	}
}

func TestCappedKeepsCounts(t *testing.T) {
	l := NewLedger()
	for i := 0; i < 1000; i++ {
		l.Record("kubernetes", File, fmt.Sprintf("f%04d.yaml", i), NotAssessed(ParseError, errors.New(strings.Repeat("é", 600))))
	}
	c := Capped(l.Coverage(""), 500, 512)
	if c.UnitsNotAssessed != 1000 || c.UnitsAttempted != 1000 || len(c.NotAssessed) != 500 {
		t.Fatalf("capped: %d %d %d", c.UnitsNotAssessed, c.UnitsAttempted, len(c.NotAssessed))
	}
	if e := c.NotAssessed[0].Error; len(e) > 512+len("…") || !strings.HasSuffix(e, "…") || !strings.HasPrefix(e, "é") {
		t.Fatalf("detail of %d bytes: %q", len(e), e[:20])
	}
}
