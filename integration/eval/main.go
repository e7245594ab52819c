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
	"os"
	"path/filepath"
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
	// SecretLines are labelled secret lines (credsweeper-samples).
	SecretLines []struct {
		Line int `json:"line"`
	} `json:"secret_lines"`
}

type tally struct{ tp, fn, fp, tn int }

func (t tally) recall() string {
	if t.tp+t.fn == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(t.tp)/float64(t.tp+t.fn))
}

func (t tally) precision() string {
	if t.tp+t.fp == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(t.tp)/float64(t.tp+t.fp))
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
	flag.Parse()
	if _, err := os.Stat(*corpus); err != nil {
		fmt.Printf("eval: %s not found; skipping (the labelled corpora live beside the repository)\n", *corpus)
		return
	}
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
	fmt.Fprintln(tw, "CORPUS\tCATEGORY\tTP\tFN\tFP\tTN\tRECALL\tPRECISION")
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
				for _, t := range f.Tags {
					reported[t] = true
				}
				if f.CheckId == "VGL-CODE-010" {
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
			for _, c := range u.Expected {
				if reported[c] {
					get(c).tp++
					group(u).tp++
					groupCovered(u, c).tp++
				} else {
					get(c).fn++
					group(u).fn++
					groupCovered(u, c).fn++
					if *misses && covered[c] {
						fmt.Printf("FN %s %s\n", c, root)
					}
				}
			}
			for _, c := range u.NotExpected {
				if reported[c] {
					get(c).fp++
					group(u).fp++
					groupCovered(u, c).fp++
					if *misses {
						fmt.Printf("FP %s %s\n", c, root)
					}
				} else {
					get(c).tn++
					group(u).tn++
					groupCovered(u, c).tn++
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
			total.tp, total.fn, total.fp, total.tn = total.tp+t.tp, total.fn+t.fn, total.fp+t.fp, total.tn+t.tn
			if covered[c] {
				cov.tp, cov.fn, cov.fp, cov.tn = cov.tp+t.tp, cov.fn+t.fn, cov.fp+t.fp, cov.tn+t.tn
			}
			if covered[c] || *all {
				mark := ""
				if !covered[c] {
					mark = " (no check)"
				}
				fmt.Fprintf(tw, "%s\t%s%s\t%d\t%d\t%d\t%d\t%s\t%s\n", d.Name(), c, mark, t.tp, t.fn, t.fp, t.tn, t.recall(), t.precision())
			}
		}
		fmt.Fprintf(tw, "%s\tALL CATEGORIES WITH A CHECK\t%d\t%d\t%d\t%d\t%s\t%s\n", d.Name(), cov.tp, cov.fn, cov.fp, cov.tn, cov.recall(), cov.precision())
		fmt.Fprintf(tw, "%s\tALL LABELLED CATEGORIES\t%d\t%d\t%d\t%d\t%s\t%s\n", d.Name(), total.tp, total.fn, total.fp, total.tn, total.recall(), total.precision())
		if len(perGroup) > 1 {
			groups := make([]string, 0, len(perGroup))
			for g := range perGroup {
				groups = append(groups, g)
			}
			sort.Strings(groups)
			for _, g := range groups {
				t := perGroup[g]
				fmt.Fprintf(tw, "%s\tALL LABELLED CATEGORIES in %s/\t%d\t%d\t%d\t%d\t%s\t%s\n", d.Name(), g, t.tp, t.fn, t.fp, t.tn, t.recall(), t.precision())
				if c := perGroupCovered[g]; c != nil {
					fmt.Fprintf(tw, "%s\tCATEGORIES WITH A CHECK in %s/\t%d\t%d\t%d\t%d\t%s\t%s\n", d.Name(), g, c.tp, c.fn, c.fp, c.tn, c.recall(), c.precision())
				}
			}
		}
		if lineTotal > 0 {
			fmt.Fprintf(tw, "%s\tlabelled secret lines found\t%d\t%d\t\t\t%.1f%%\t\n", d.Name(), lineHits, lineTotal-lineHits, 100*float64(lineHits)/float64(lineTotal))
		}
		if scanErrors > 0 || checksNotRun > 0 {
			fmt.Fprintf(tw, "%s\t(units not assessed: %d; check runs that failed: %d)\t\t\t\t\t\t\n", d.Name(), scanErrors, checksNotRun)
		}
		fmt.Fprintln(tw, strings.Repeat("\t", 7))
	}
	tw.Flush()
}
