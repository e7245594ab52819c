package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// figures are the headline numbers of one corpus, in percent; a precision
// is NaN where the corpus has no negatives of that kind.
type figures struct {
	AllRecall      float64 `json:"all_recall"`
	CoveredRecall  float64 `json:"covered_recall"`
	Precision      float64 `json:"precision,omitempty"`
	PrecisionLower float64 `json:"precision_lower_bound,omitempty"`
}

func ratio(num, den int) float64 {
	if den == 0 {
		return math.NaN()
	}
	return 100 * float64(num) / float64(den)
}

// figuresOf computes a corpus's figures from its all-label and covered
// totals.
func figuresOf(total, cov tally) figures {
	f := figures{AllRecall: ratio(total.tp, total.tp+total.fn), CoveredRecall: ratio(cov.tp, cov.tp+cov.fn),
		Precision: math.NaN(), PrecisionLower: math.NaN()}
	if total.fp+total.tn > 0 {
		f.Precision = ratio(total.tp, total.tp+total.fp)
	}
	if total.fp+total.tn+total.fpu+total.tnu > 0 {
		f.PrecisionLower = ratio(total.tp, total.tp+total.fp+total.fpu)
	}
	return f
}

// checkFloors compares what was scored with the floors recorded in file:
// a corpus the file names that was not scored (its folder or ground truth
// missing) fails, and so does any figure more than a rounding step below
// its floor. only limits the check to one corpus.
func checkFloors(file string, scored map[string]figures, only string) []error {
	data, err := os.ReadFile(file)
	if err != nil {
		return []error{fmt.Errorf("floors: %w", err)}
	}
	var floors map[string]figures
	if err := json.Unmarshal(data, &floors); err != nil {
		return []error{fmt.Errorf("floors %s: %w", file, err)}
	}
	names := make([]string, 0, len(floors))
	for n := range floors {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		if only != "" && n != only {
			continue
		}
		got, ok := scored[n]
		if !ok {
			errs = append(errs, fmt.Errorf("corpus %s is missing (named in %s)", n, file))
			continue
		}
		want := floors[n]
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"all-label recall", got.AllRecall, want.AllRecall},
			{"covered recall", got.CoveredRecall, want.CoveredRecall},
			{"precision", got.Precision, want.Precision},
			{"precision with upstream-check negatives", got.PrecisionLower, want.PrecisionLower},
		} {
			if c.want == 0 {
				continue // no floor recorded
			}
			if math.IsNaN(c.got) || c.got < c.want-0.05 {
				errs = append(errs, fmt.Errorf("%s: %s %.1f%% is below its floor %.1f%%", n, c.name, c.got, c.want))
			}
		}
	}
	return errs
}
