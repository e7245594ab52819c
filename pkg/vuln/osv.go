package vuln

import (
	"sort"
)

// Entry is the part of an OSV record that matching reads.
type Entry struct {
	ID string `json:"id"`
	// Modified is when the record last changed (RFC 3339); a value that
	// does not parse leaves the data's age unknown, not the record out.
	Modified string     `json:"modified"`
	Summary  string     `json:"summary"`
	Details  string     `json:"details"`
	Aliases  []string   `json:"aliases"`
	Affected []Affected `json:"affected"`
	Severity []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	DatabaseSpecific struct {
		Severity string `json:"severity"`
	} `json:"database_specific"`
	Withdrawn string `json:"withdrawn"`
}

// Affected names a package and the versions of it a vulnerability affects.
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges            []Range  `json:"ranges"`
	Versions          []string `json:"versions"`
	EcosystemSpecific struct {
		// Imports are, in the Go vulnerability database, the packages of
		// the module that hold the vulnerable code and its functions.
		Imports []Import `json:"imports"`
	} `json:"ecosystem_specific"`
}

// Import is a package of an affected module and the functions in it that
// hold the vulnerability ("Parse", "Decoder.Decode" for a method); none
// listed means the whole package.
type Import struct {
	Path    string   `json:"path"`
	Symbols []string `json:"symbols"`
}

// Range is an OSV range: events in version order.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one boundary of a range.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

func (e Event) version() string {
	switch {
	case e.Introduced != "":
		return e.Introduced
	case e.Fixed != "":
		return e.Fixed
	case e.LastAffected != "":
		return e.LastAffected
	}
	return e.Limit
}

// affects reports whether version v is affected, and the lowest fixed
// version above it when one is known. Versions that do not parse in the
// ecosystem's ordering make the range unusable, and are skipped.
func (a Affected) affects(cmp compareFunc, v string) (bool, string) {
	for _, listed := range a.Versions {
		if listed == v {
			return true, a.fixedAbove(cmp, v)
		}
	}
	for _, r := range a.Ranges {
		if r.Type != "ECOSYSTEM" && r.Type != "SEMVER" {
			continue
		}
		if hit, fixed, ok := r.affects(cmp, v); ok && hit {
			return true, fixed
		}
	}
	return false, ""
}

// affects sweeps the range's events in version order (introduced "0" is
// below everything): v is affected when the last event at or below it is
// an introduction, or v equals a last_affected version.
func (r Range) affects(cmp compareFunc, v string) (affected bool, fixed string, ok bool) {
	events := append([]Event(nil), r.Events...)
	var sortErr error
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i], events[j]
		if a.Introduced == "0" {
			return b.Introduced != "0"
		}
		if b.Introduced == "0" {
			return false
		}
		c, err := cmp(a.version(), b.version())
		if err != nil {
			sortErr = err
		}
		return c < 0
	})
	if sortErr != nil {
		return false, "", false
	}
	for _, e := range events {
		if e.Introduced == "0" {
			affected = true
			continue
		}
		c, err := cmp(e.version(), v)
		if err != nil {
			return false, "", false
		}
		if e.LastAffected != "" && c == 0 {
			affected = true
			continue
		}
		if c > 0 {
			if affected && e.Fixed != "" && fixed == "" {
				fixed = e.Fixed
			}
			if affected {
				break
			}
			continue
		}
		switch {
		case e.Introduced != "":
			affected = true
		case e.Fixed != "", e.Limit != "":
			affected = false
		case e.LastAffected != "":
			affected = false // last_affected is below v
		}
	}
	return affected, fixed, true
}

// fixedAbove returns the lowest fixed version above v in any range.
func (a Affected) fixedAbove(cmp compareFunc, v string) string {
	best := ""
	for _, r := range a.Ranges {
		for _, e := range r.Events {
			if e.Fixed == "" {
				continue
			}
			if c, err := cmp(e.Fixed, v); err != nil || c <= 0 {
				continue
			}
			if best == "" {
				best = e.Fixed
			} else if c, err := cmp(e.Fixed, best); err == nil && c < 0 {
				best = e.Fixed
			}
		}
	}
	return best
}
