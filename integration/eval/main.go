// Command eval measures recall and precision of Vigil's checks on the
// labelled corpora in ../shared/corpus: it scans each labelled unit exactly
// as `vigil scan` does, maps findings to categories through check tags and
// compares them with the unit's expected and not_expected categories.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/scan"
	"github.com/vigilsec/vigil/pkg/vuln"
)

type unit struct {
	Path        string   `json:"path"`
	Files       []string `json:"files"`
	Expected    []string `json:"expected"`
	NotExpected []string `json:"not_expected"`
	// NotExpectedChecks and NotExpectedRules name upstream checks the unit
	// passes; each stands for the one category the corpus labels that
	// check's failing units with.
	NotExpectedChecks []string `json:"not_expected_checks"`
	NotExpectedRules  []string `json:"not_expected_rules"`
	// The upstream check a unit was written for, in the corpora that have
	// one: trivy's long id, kubescape's rule, gosec's rule.
	LongID     string `json:"long_id"`
	SourceRule string `json:"source_rule"`
	RuleID     string `json:"rule_id"`
	// SecretLines are labelled secret lines (credsweeper-samples).
	SecretLines []struct {
		Line int `json:"line"`
	} `json:"secret_lines"`
}

// tally counts one row: expected categories found (tp) and missed (fn),
// negatives from not_expected reported (fp) and not (tn), and negatives
// from upstream checks the unit passes (fpu, tnu). The latter are counted
// apart: an upstream check shares its category with others, so a finding
// of that category for another reason counts against Vigil there, and
// their precision is a lower bound.
type tally struct{ tp, fn, fp, tn, fpu, tnu int }

func (t *tally) add(o tally) {
	t.tp, t.fn, t.fp, t.tn, t.fpu, t.tnu = t.tp+o.tp, t.fn+o.fn, t.fp+o.fp, t.tn+o.tn, t.fpu+o.fpu, t.tnu+o.tnu
}

// row prints one line of the table.
func row(tw io.Writer, corpus, label string, t tally) {
	withUpstream := tally{tp: t.tp, fp: t.fp + t.fpu, tn: t.tn + t.tnu}
	fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", corpus, label, t.tp, t.fn, t.fp, t.tn, t.fpu, t.tnu,
		t.recall(), t.precision(), withUpstream.precision())
}

func (t tally) recall() string {
	if t.tp+t.fn == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(t.tp)/float64(t.tp+t.fn))
}

// precision is stated only where the row has labelled negatives: without
// them no false positive could have been counted, and a figure would only
// repeat that.
func (t tally) precision() string {
	if t.fp+t.tn == 0 {
		return "n/a (no negatives)"
	}
	if t.tp+t.fp == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(t.tp)/float64(t.tp+t.fp))
}

// upstream is the check a unit was written for, whichever corpus it is in.
func (u unit) upstream() string {
	switch {
	case u.LongID != "":
		return u.LongID
	case u.SourceRule != "":
		return u.SourceRule
	}
	return u.RuleID
}

// upstreamNegatives are the categories of the upstream checks a unit
// passes, as the corpus labels those checks' failing units (catOf), less
// those its not_expected or expected already name.
func (u unit) upstreamNegatives(catOf map[string][]string) []string {
	var out []string
	for _, id := range append(slices.Clone(u.NotExpectedChecks), u.NotExpectedRules...) {
		for _, c := range catOf[id] {
			if !slices.Contains(out, c) && !slices.Contains(u.Expected, c) && !slices.Contains(u.NotExpected, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// categoriesOf maps each upstream check to the categories its failing
// units are labelled with.
func categoriesOf(units []unit) map[string][]string {
	out := map[string][]string{}
	for _, u := range units {
		id := u.upstream()
		for _, c := range u.Expected {
			if id != "" && !slices.Contains(out[id], c) {
				out[id] = append(out[id], c)
			}
		}
	}
	return out
}

// owns reports whether a finding at path belongs to a unit scanned as
// targets: a file target owns its own findings only (a Terraform file is
// evaluated with its module, but scored on what is found in it), a folder
// target what is found below it.
func owns(targets []string, path string) bool {
	if path == "" {
		return true
	}
	p := filepath.Clean(filepath.FromSlash(path))
	for _, t := range targets {
		t = filepath.Clean(t)
		if p == t || strings.HasPrefix(p, t+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func main() {
	corpus := flag.String("corpus", "../shared/corpus", "folder of labelled corpora")
	all := flag.Bool("all", false, "list every category, also those no Vigil check covers")
	misses := flag.Bool("misses", false, "print the units behind each false negative and false positive")
	only := flag.String("only", "", "score just the corpus of this name")
	floorsFile := flag.String("floors", "", "fail when a corpus this file names is missing or scores below its floors")
	flag.Parse()
	if _, err := os.Stat(*corpus); err != nil {
		fmt.Fprintf(os.Stderr, "eval: corpus folder %s: %v\n", *corpus, err)
		os.Exit(1)
	}
	// Findings name files as the analyzers saw them, some absolute; the
	// corpus is made absolute so a unit and its findings compare.
	if abs, err := filepath.Abs(*corpus); err == nil {
		*corpus = abs
	}
	scored := map[string]figures{}
	cat, err := checks.Builtin()
	if err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
	covered := map[string]bool{}
	for _, c := range cat.All() {
		for _, t := range c.Tags {
			covered[t] = true
		}
	}
	scanner := scan.New(cat)
	dirs, _ := os.ReadDir(*corpus)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CORPUS\tCATEGORY\tTP\tFN\tFP\tTN\tFP-U\tTN-U\tRECALL\tPRECISION\tPRECISION WITH UPSTREAM-CHECK NEGATIVES (LOWER BOUND)")
	for _, d := range dirs {
		if *only != "" && d.Name() != *only {
			continue
		}
		gt := filepath.Join(*corpus, d.Name(), "ground_truth.json")
		data, err := os.ReadFile(gt)
		if err != nil {
			continue
		}
		var units []unit
		if err := json.Unmarshal(data, &units); err != nil {
			fmt.Fprintf(os.Stderr, "eval: %s: %v\n", gt, err)
			continue
		}
		unitScanner := scanner
		if fixture := filepath.Join(*corpus, d.Name(), "advisory-db-fixture"); dirExists(fixture) {
			// Lockfile corpora come with the advisories their labels were
			// made with; score against those.
			tmp, err := os.MkdirTemp("", "vigil-eval-osv")
			if err == nil {
				defer os.RemoveAll(tmp)
				if _, err := convertFixtureDB(fixture, tmp); err != nil {
					fmt.Fprintln(os.Stderr, "eval:", err)
				} else if db, err := vuln.Open(tmp); err == nil {
					unitScanner = scan.NewWith(cat, scan.Options{VulnDB: db})
				}
			}
		}
		catOf := categoriesOf(units)
		perCat := map[string]*tally{}
		get := func(c string) *tally {
			if perCat[c] == nil {
				perCat[c] = &tally{}
			}
			return perCat[c]
		}
		scanErrors, checksNotRun := 0, 0
		var lineHits, lineTotal int // labelled secret lines found
		// Corpora with a folder per input type (kubernetes/, dockerfile/,
		// terraform/, ...) are also totalled per folder.
		perGroup := map[string]*tally{}
		perGroupCovered := map[string]*tally{}
		group := func(u unit) *tally {
			g, _, _ := strings.Cut(u.Path, "/")
			if perGroup[g] == nil {
				perGroup[g] = &tally{}
			}
			return perGroup[g]
		}
		groupCovered := func(u unit, c string) *tally {
			g, _, _ := strings.Cut(u.Path, "/")
			if perGroupCovered[g] == nil {
				perGroupCovered[g] = &tally{}
			}
			if !covered[c] {
				return &tally{} // counted nowhere
			}
			return perGroupCovered[g]
		}
		for _, u := range units {
			root := filepath.Join(*corpus, d.Name(), u.Path)
			// A unit is scanned as one target, as a user scans a folder, so
			// checks across objects see all of its files.
			targets := []string{root}
			if st, err := os.Stat(root); (err != nil || !st.IsDir()) && len(u.Files) > 0 {
				targets = nil
				for _, f := range u.Files {
					// Files are relative to the unit, or to its parent.
					p := filepath.Join(root, f)
					if _, err := os.Stat(p); err != nil {
						p = filepath.Join(filepath.Dir(root), f)
					}
					targets = append(targets, p)
				}
			}
			rep, err := unitScanner.Run(context.Background(), targets, "")
			if err != nil {
				fmt.Fprintf(os.Stderr, "eval: %s: %v\n", root, err)
				continue
			}
			scanErrors += int(rep.GetCoverage().GetUnitsNotAssessed()) + len(rep.FailedTargets)
			for _, c := range rep.GetCoverage().GetChecksNotRun() {
				checksNotRun += int(c.Units)
			}
			reported := map[string]bool{}
			secretAt := map[int]bool{}
			for _, f := range rep.Findings {
				if !owns(targets, f.GetLocation().GetPath()) {
					continue
				}
				for _, t := range f.Tags {
					reported[t] = true
				}
				if f.CheckId == "VGL-CODE-010" || f.SecretHash != "" { // a secret a check reports names the rule and carries the hash
					for l := f.Location.GetStartLine(); l <= max(f.Location.GetEndLine(), f.Location.GetStartLine()); l++ {
						secretAt[int(l)] = true
					}
				}
			}
			for _, l := range u.SecretLines {
				lineTotal++
				if secretAt[l.Line] {
					lineHits++
				} else if *misses {
					fmt.Printf("FN secret line %s:%d\n", root, l.Line)
				}
			}
			count := func(c string, t tally) {
				get(c).add(t)
				group(u).add(t)
				groupCovered(u, c).add(t)
			}
			for _, c := range u.Expected {
				if reported[c] {
					count(c, tally{tp: 1})
					continue
				}
				count(c, tally{fn: 1})
				if *misses && covered[c] {
					fmt.Printf("FN %s %s\n", c, root)
				}
			}
			for _, neg := range []struct {
				cats      []string
				fp, tn    tally
				missLabel string
			}{
				{u.NotExpected, tally{fp: 1}, tally{tn: 1}, "FP"},
				{u.upstreamNegatives(catOf), tally{fpu: 1}, tally{tnu: 1}, "FP (upstream-check negative)"},
			} {
				for _, c := range neg.cats {
					if !reported[c] {
						count(c, neg.tn)
						continue
					}
					count(c, neg.fp)
					if *misses {
						fmt.Printf("%s %s %s\n", neg.missLabel, c, root)
					}
				}
			}
		}
		var total, cov tally
		names := make([]string, 0, len(perCat))
		for c := range perCat {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			t := *perCat[c]
			total.add(t)
			if covered[c] {
				cov.add(t)
			}
			if covered[c] || *all {
				mark := ""
				if !covered[c] {
					mark = " (no check)"
				}
				row(tw, d.Name(), c+mark, t)
			}
		}
		row(tw, d.Name(), "ALL CATEGORIES WITH A CHECK", cov)
		row(tw, d.Name(), "ALL LABELLED CATEGORIES", total)
		scored[d.Name()] = figuresOf(total, cov)
		if len(perGroup) > 1 {
			groups := make([]string, 0, len(perGroup))
			for g := range perGroup {
				groups = append(groups, g)
			}
			sort.Strings(groups)
			for _, g := range groups {
				row(tw, d.Name(), "ALL LABELLED CATEGORIES in "+g+"/", *perGroup[g])
				if c := perGroupCovered[g]; c != nil {
					row(tw, d.Name(), "CATEGORIES WITH A CHECK in "+g+"/", *c)
				}
			}
		}
		if lineTotal > 0 {
			fmt.Fprintf(tw, "%s\tlabelled secret lines found\t%d\t%d\t\t\t\t\t%.1f%%\t\t\n", d.Name(), lineHits, lineTotal-lineHits, 100*float64(lineHits)/float64(lineTotal))
		}
		if scanErrors > 0 || checksNotRun > 0 {
			fmt.Fprintf(tw, "%s\t(units not assessed: %d; check runs that failed: %d)\t\t\t\t\t\t\t\t\t\n", d.Name(), scanErrors, checksNotRun)
		}
		fmt.Fprintln(tw, strings.Repeat("\t", 10))
	}
	tw.Flush()
	if *floorsFile != "" {
		if errs := checkFloors(*floorsFile, scored, *only); len(errs) > 0 {
			for _, e := range errs {
				fmt.Fprintln(os.Stderr, "eval:", e)
			}
			os.Exit(1)
		}
		fmt.Println("eval: every corpus at or above its floors in", *floorsFile)
	}
}
