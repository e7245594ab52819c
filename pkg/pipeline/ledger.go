package pipeline

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// Unit kinds.
const (
	File       = "file"
	KubeObject = "kubernetes object"
	Image      = "image"
	Resource   = "cloud resource"
	URL        = "url"
	Repository = "repository"
	Process    = "process"
)

// Ledger records the units of a scan and what became of them. Invariants:
// a unit counts once in every view, whatever the number of analyzers that
// read it; a unit is assessed in a scanner's view unless that scanner failed
// on it, and in the whole view unless any scanner did. It is safe for
// concurrent use.
type Ledger struct {
	mu      sync.Mutex
	units   map[string]*entry
	order   []string
	checks  map[checkKey]*vigilv1.CheckNotRun
	corder  []checkKey
	notices []scannerNotice
	seen    map[scannerNotice]bool
	// mask hides the scan's secrets in every text the ledger gives out.
	mask func(string) string
}

type entry struct {
	kind     string
	scanners []string
	failed   map[string]failure
}

type failure struct {
	reason Reason
	msg    string
}

type checkKey struct {
	scanner, check string
	reason         Reason
}

type scannerNotice struct{ scanner, unit, msg string }

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{units: map[string]*entry{}, checks: map[checkKey]*vigilv1.CheckNotRun{}, seen: map[scannerNotice]bool{}}
}

// Attempt records that scanner tried unit.
func (l *Ledger) Attempt(scanner, kind, unit string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempt(scanner, kind, unit)
}

func (l *Ledger) attempt(scanner, kind, unit string) *entry {
	e := l.units[unit]
	if e == nil {
		e = &entry{kind: kind}
		l.units[unit] = e
		l.order = append(l.order, unit)
	}
	if !slices.Contains(e.scanners, scanner) {
		e.scanners = append(e.scanners, scanner)
	}
	return e
}

// Record records that scanner tried unit and what its error says: nothing
// (assessed), notices, checks that could not run, or the reason the unit
// was not assessed. Errors tied to other units with InUnit go to those.
func (l *Ledger) Record(scanner, kind, unit string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempt(scanner, kind, unit)
	l.record(scanner, kind, unit, err)
}

func (l *Ledger) record(scanner, kind, unit string, err error) {
	for _, leaf := range Leaves(err) {
		var ue unitError
		var ce *CheckError
		var n notice
		switch {
		case errors.As(leaf, &ue):
			l.attempt(scanner, kind, ue.unit)
			l.record(scanner, kind, ue.unit, ue.err)
		case errors.As(leaf, &n):
			k := scannerNotice{scanner, unit, leaf.Error()}
			if !l.seen[k] {
				l.seen[k] = true
				l.notices = append(l.notices, k)
			}
		case errors.As(leaf, &ce):
			ck := checkKey{scanner, ce.Check, ce.Reason}
			c := l.checks[ck]
			if c == nil {
				c = &vigilv1.CheckNotRun{CheckId: ce.Check, Reason: ce.Reason, Detail: valid(leaf.Error())}
				l.checks[ck] = c
				l.corder = append(l.corder, ck)
			}
			c.Units++
		default:
			l.fail(scanner, unit, failure{reason: Classify(leaf), msg: leaf.Error()})
		}
	}
}

// RecordSet records the error of an analyzer that read many units at once:
// parts tied to a unit with InUnit go to that unit, checks that could not
// run are counted, and the rest become notices about whole.
func (l *Ledger) RecordSet(scanner, kind, whole string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, leaf := range Leaves(err) {
		var ue unitError
		var ce *CheckError
		switch {
		case errors.As(leaf, &ue):
			l.attempt(scanner, kind, ue.unit)
			l.record(scanner, kind, ue.unit, ue.err)
		case errors.As(leaf, &ce):
			l.record(scanner, kind, whole, leaf)
		default:
			l.record(scanner, kind, whole, AsNotice(leaf))
		}
	}
}

// NotAssessed records that scanner tried unit and could not assess it.
func (l *Ledger) NotAssessed(scanner, kind, unit string, r Reason, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempt(scanner, kind, unit)
	l.fail(scanner, unit, failure{reason: r, msg: msg})
}

func (l *Ledger) fail(scanner, unit string, f failure) {
	e := l.units[unit]
	if e.failed == nil {
		e.failed = map[string]failure{}
	}
	if _, ok := e.failed[scanner]; !ok {
		e.failed[scanner] = f
	}
}

// Scanners returns the names of the scanners that tried any unit.
func (l *Ledger) Scanners() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, u := range l.order {
		for _, s := range l.units[u].scanners {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// redact masks the scan's secrets in every text given out from now on.
func (l *Ledger) redact(mask func(string) string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mask = mask
}

// text is s as the ledger gives it out: valid UTF-8, secrets masked.
func (l *Ledger) text(s string) string {
	s = valid(s)
	if l.mask != nil {
		s = l.mask(s)
	}
	return s
}

// Coverage returns scanner's view of the ledger, or the whole view when
// scanner is empty.
func (l *Ledger) Coverage(scanner string) *vigilv1.Coverage {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &vigilv1.Coverage{NotAssessed: []*vigilv1.ScanError{}, ChecksNotRun: []*vigilv1.CheckNotRun{}}
	kind := ""
	for _, u := range l.order {
		e := l.units[u]
		if scanner != "" && !slices.Contains(e.scanners, scanner) {
			continue
		}
		switch kind {
		case "":
			kind = e.kind
		case e.kind:
		default:
			kind = "unit"
		}
		c.UnitsAttempted++
		var failing []string
		for s := range e.failed {
			if scanner == "" || s == scanner {
				failing = append(failing, s)
			}
		}
		if len(failing) == 0 {
			c.UnitsAssessed++
			continue
		}
		sort.Strings(failing)
		f := e.failed[failing[0]]
		c.NotAssessed = append(c.NotAssessed, &vigilv1.ScanError{Path: l.text(u), Kind: e.kind, Reason: f.reason,
			Error: l.text(f.msg), Analyzers: failing})
	}
	c.UnitsNotAssessed = uint64(len(c.NotAssessed))
	c.UnitKind = kind
	merged := map[checkKey]*vigilv1.CheckNotRun{}
	for _, k := range l.corder {
		if scanner != "" && k.scanner != scanner {
			continue
		}
		mk := checkKey{check: k.check, reason: k.reason}
		if m := merged[mk]; m != nil {
			m.Units += l.checks[k].Units
			continue
		}
		m := &vigilv1.CheckNotRun{CheckId: k.check, Reason: k.reason, Detail: l.text(l.checks[k].Detail), Units: l.checks[k].Units}
		merged[mk] = m
		c.ChecksNotRun = append(c.ChecksNotRun, m)
	}
	return c
}

// Notices returns scanner's notices (all of them when scanner is empty),
// each (unit, message) once.
func (l *Ledger) Notices(scanner string) []*vigilv1.ScanError {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []*vigilv1.ScanError{}
	seen := map[[2]string]bool{}
	for _, n := range l.notices {
		if scanner != "" && n.scanner != scanner {
			continue
		}
		k := [2]string{n.unit, n.msg}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, &vigilv1.ScanError{Path: l.text(n.unit), Error: l.text(n.msg), Analyzers: []string{n.scanner}})
	}
	return out
}

// Merge adds one coverage to another: counts add, lists append.
func Merge(into, c *vigilv1.Coverage) {
	if c == nil {
		return
	}
	switch {
	case into.UnitsAttempted == 0:
		into.UnitKind = c.UnitKind
	case c.UnitsAttempted > 0 && c.UnitKind != into.UnitKind:
		into.UnitKind = "unit"
	}
	into.UnitsAttempted += c.UnitsAttempted
	into.UnitsAssessed += c.UnitsAssessed
	into.UnitsNotAssessed += c.UnitsNotAssessed
	into.NotAssessed = append(into.NotAssessed, c.NotAssessed...)
	into.ChecksNotRun = append(into.ChecksNotRun, c.ChecksNotRun...)
}

// Capped returns a copy of c whose lists hold at most n entries, with
// messages cut to max bytes; the counts stay whole. Coverage travels in one
// NATS message, so a tree of a million broken files must not outgrow it.
func Capped(c *vigilv1.Coverage, n, max int) *vigilv1.Coverage {
	if c == nil {
		return nil
	}
	out := &vigilv1.Coverage{UnitsAttempted: c.UnitsAttempted, UnitsAssessed: c.UnitsAssessed,
		UnitsNotAssessed: c.UnitsNotAssessed, UnitKind: c.UnitKind}
	for i, e := range c.NotAssessed {
		if i == n {
			break
		}
		out.NotAssessed = append(out.NotAssessed, &vigilv1.ScanError{Path: cut(e.Path, max), Error: cut(e.Error, max),
			Reason: e.Reason, Analyzers: e.Analyzers, Kind: e.Kind})
	}
	for i, k := range c.ChecksNotRun {
		if i == n {
			break
		}
		out.ChecksNotRun = append(out.ChecksNotRun, &vigilv1.CheckNotRun{CheckId: k.CheckId, Reason: k.Reason,
			Detail: cut(k.Detail, max), Units: k.Units})
	}
	return out
}

// cut shortens s to at most max bytes on a rune boundary.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "…"
}

func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
