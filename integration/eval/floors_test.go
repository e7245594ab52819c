package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFloors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "floors.json")
	if err := os.WriteFile(file, []byte(`{"a": {"all_recall": 50, "covered_recall": 80, "precision": 90}, "b": {"all_recall": 10}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	at := figuresOf(tally{tp: 8, fn: 8, fp: 0, tn: 3}, tally{tp: 8, fn: 2})
	if errs := checkFloors(file, map[string]figures{"a": at, "b": at}, ""); len(errs) != 0 {
		t.Fatalf("figures at their floors failed: %v", errs)
	}
	below := figuresOf(tally{tp: 8, fn: 9, fp: 1, tn: 3}, tally{tp: 8, fn: 2})
	errs := checkFloors(file, map[string]figures{"a": below}, "")
	if len(errs) != 3 || !strings.Contains(errs[0].Error(), "all-label recall") ||
		!strings.Contains(errs[1].Error(), "precision") || !strings.Contains(errs[2].Error(), "corpus b is missing") {
		t.Fatalf("want recall and precision below floor and b missing, got %v", errs)
	}
	// A corpus without negatives has no precision to hold to a floor.
	noNeg := figuresOf(tally{tp: 8, fn: 8}, tally{tp: 8, fn: 2})
	if errs := checkFloors(file, map[string]figures{"a": noNeg, "b": at}, ""); len(errs) != 1 {
		t.Fatalf("precision floor on a corpus without negatives: %v", errs)
	}
}

func TestScoring(t *testing.T) {
	u := []unit{
		{Path: "bad", Expected: []string{"logging-disabled"}, LongID: "x-enable-logging"},
		{Path: "good", NotExpectedChecks: []string{"x-enable-logging"}, LongID: "x-enable-logging"},
		{Path: "good2", NotExpected: []string{"logging-disabled"}, NotExpectedChecks: []string{"x-enable-logging"}},
	}
	catOf := categoriesOf(u)
	if got := u[1].upstreamNegatives(catOf); len(got) != 1 || got[0] != "logging-disabled" {
		t.Errorf("upstream negatives %v", got)
	}
	if got := u[2].upstreamNegatives(catOf); len(got) != 0 {
		t.Errorf("a category already not_expected counted twice: %v", got)
	}
	dir := filepath.Join("corpus", "terraform")
	if !owns([]string{filepath.Join(dir, "main.tf")}, "corpus/terraform/main.tf") || owns([]string{filepath.Join(dir, "main.tf")}, "corpus/terraform/other.tf") {
		t.Error("a file unit must own its own findings only")
	}
	if !owns([]string{dir}, "corpus/terraform/mod/a.tf") || owns([]string{dir}, "corpus/terraform2/a.tf") {
		t.Error("a folder unit owns what is below it only")
	}
}
