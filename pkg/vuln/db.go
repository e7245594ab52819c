package vuln

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// MaxRecordSize bounds one OSV record; larger files are reported and skipped.
const MaxRecordSize = 8 << 20

// DB is an in-memory index of OSV records by ecosystem and package name.
type DB struct {
	// byPackage maps "ecosystem\x00name" to the records affecting it.
	byPackage map[string][]*Entry
	// byID maps a record's id to it, for the severity of an alias.
	byID map[string]*Entry
	// ecosystems are the ecosystems of the loaded records' packages.
	ecosystems map[string]bool
	records    int
	// Errors lists the files that could not be read, with the reason.
	Errors []error
	// Manifest describes the data when it came as a bundle (nil otherwise).
	Manifest *Manifest
	// newest is the latest modification time of a record loaded.
	newest time.Time
	// perEcosystem counts the records that affect a package of each
	// ecosystem.
	perEcosystem map[string]int
	// maxAge, when set, is how old the data may be before it is stale.
	maxAge time.Duration
}

// Age is how old the data is at now: since its newest record was
// modified, or, when no record says, since its bundle was made; ok is
// false when neither is known.
func (db *DB) Age(now time.Time) (age time.Duration, ok bool) {
	switch {
	case db == nil:
		return 0, false
	case !db.newest.IsZero() && db.newest.Year() > 1:
		return now.Sub(db.newest), true
	case db.Manifest != nil:
		return now.Sub(db.Manifest.Created), true
	}
	return 0, false
}

// DefaultMaxAge is how old vulnerability data may be by default: OSV
// sources publish daily, so a week-old copy misses a week of advisories.
const DefaultMaxAge = 7 * 24 * time.Hour

// SetMaxAge sets how old the data may be before matching against it
// reports it stale (0: never).
func (db *DB) SetMaxAge(d time.Duration) {
	if db != nil {
		db.maxAge = d
	}
}

// Stale returns an error, marked with the stale-data reason, when the
// data is older than its limit at now; nil otherwise.
func (db *DB) Stale(now time.Time) error {
	if db == nil || db.maxAge <= 0 {
		return nil
	}
	if age, ok := db.Age(now); ok && age > db.maxAge {
		return &pipeline.Error{Reason: pipeline.StaleData, Err: fmt.Errorf("vulnerability data is %s old, over the %s limit: what was published since is missing",
			age.Round(time.Hour), db.maxAge)}
	}
	return nil
}

// Open loads OSV records from a folder (searched recursively for *.json,
// and *.zip archives of them, which is the layout of the per-ecosystem OSV
// exports) or from one zip file, such as a bundle (see WriteBundle), whose
// manifest is kept in Manifest. Unreadable records are listed in Errors;
// the rest load.
func Open(path string) (*DB, error) {
	db := &DB{byPackage: map[string][]*Entry{}, ecosystems: map[string]bool{}}
	err := Walk(path, db.addRecord, func(err error) { db.Errors = append(db.Errors, err) })
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		if m, err := ReadManifest(path); err == nil {
			db.Manifest = m
		}
	}
	return db, nil
}

func (db *DB) addRecord(name string, data []byte) {
	e := &Entry{}
	if err := json.Unmarshal(data, e); err != nil {
		db.Errors = append(db.Errors, fmt.Errorf("%s: %w", name, err))
		return
	}
	if e.ID == "" {
		db.Errors = append(db.Errors, fmt.Errorf("%s: record without id", name))
		return
	}
	if e.Withdrawn != "" {
		return
	}
	db.Add(e)
}

// Add indexes one record.
func (db *DB) Add(e *Entry) {
	seen := map[string]bool{}
	ecos := map[string]bool{}
	for _, a := range e.Affected {
		if !ecos[a.Package.Ecosystem] {
			ecos[a.Package.Ecosystem] = true
			if db.perEcosystem == nil {
				db.perEcosystem = map[string]int{}
			}
			db.perEcosystem[a.Package.Ecosystem]++
		}
		eco := scope(a.Package.Ecosystem)
		k := eco + "\x00" + normalizeName(eco, a.Package.Name)
		if seen[k] {
			continue
		}
		seen[k] = true
		db.byPackage[k] = append(db.byPackage[k], e)
		if db.ecosystems == nil {
			db.ecosystems = map[string]bool{}
		}
		db.ecosystems[eco] = true
	}
	if db.byID == nil {
		db.byID = map[string]*Entry{}
	}
	if m, err := time.Parse(time.RFC3339, e.Modified); err == nil && m.After(db.newest) {
		db.newest = m
	}
	db.byID[e.ID] = e
	db.records++
}

// Covers reports whether the data holds any record for ecosystem ("npm",
// "Debian:12"; a record for the bare "Debian" covers its releases). A
// package of an ecosystem it does not cover was not checked, which is not
// the same as clean.
func (db *DB) Covers(ecosystem string) bool {
	if db == nil {
		return false
	}
	if db.ecosystems[ecosystem] {
		return true
	}
	base, _, found := strings.Cut(ecosystem, ":")
	return found && db.ecosystems[base]
}

// EcosystemCount is how many records of the data affect an ecosystem.
type EcosystemCount struct {
	Name    string
	Records int
}

// Ecosystems lists the ecosystems of the data with their records, by name.
func (db *DB) Ecosystems() []EcosystemCount {
	out := make([]EcosystemCount, 0, len(db.perEcosystem))
	for name, n := range db.perEcosystem {
		out = append(out, EcosystemCount{name, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Len is the number of records loaded.
func (db *DB) Len() int { return db.records }

// Match is one vulnerability affecting a package version.
type Match struct {
	ID      string
	Aliases []string
	Summary string
	// Fixed is the lowest fixed version above the queried one, "" when no
	// fix is known.
	Fixed string
	// Rating is how severe the record, or failing that one of its
	// aliases, says the vulnerability is.
	Rating
	// Imports are the packages and functions that hold the vulnerable
	// code, where the record names them (the Go database does).
	Imports []Import
}

// ErrUnsupportedEcosystem is returned for ecosystems without a version ordering.
var ErrUnsupportedEcosystem = errors.New("no version ordering for this ecosystem")

// Query returns the vulnerabilities affecting one version of a package.
// ecosystem is OSV's name ("Go", "npm", "Debian:12", "Alpine:v3.20"); a
// record for the bare ecosystem ("Debian") also applies to its releases,
// and a Red Hat product stream ("Red Hat:enterprise_linux:9") takes the
// records of each of its repositories.
func (db *DB) Query(ecosystem, name, version string) ([]Match, error) {
	cmp, ok := comparer(ecosystem)
	if !ok {
		return nil, fmt.Errorf("%s: %w", ecosystem, ErrUnsupportedEcosystem)
	}
	keys := []string{ecosystem}
	if base, _, found := strings.Cut(ecosystem, ":"); found {
		keys = append(keys, base)
	}
	var out []Match
	seen := map[string]bool{}
	for _, eco := range keys {
		for _, e := range db.byPackage[eco+"\x00"+normalizeName(eco, name)] {
			if seen[e.ID] {
				continue
			}
			for _, a := range e.Affected {
				if normalizeName(eco, a.Package.Name) != normalizeName(eco, name) || scope(a.Package.Ecosystem) != eco {
					continue
				}
				if hit, fixed := a.affects(cmp, version); hit {
					seen[e.ID] = true
					out = append(out, Match{ID: e.ID, Aliases: e.Aliases, Summary: e.Summary, Fixed: fixed, Rating: db.rate(e),
						Imports: a.EcosystemSpecific.Imports})
					break
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return sameVulnerability(out), nil
}

// sameVulnerability keeps one match per vulnerability: a record that
// names another matched record as an alias (GO-2024-1 and GHSA-x, which
// both describe it) is folded into the first of them, whose aliases then
// name it.
func sameVulnerability(ms []Match) []Match {
	out := ms[:0]
	for _, m := range ms {
		dup := false
		for i := range out {
			k := &out[i]
			if slices.Contains(k.Aliases, m.ID) || slices.Contains(m.Aliases, k.ID) {
				for _, id := range append([]string{m.ID}, m.Aliases...) {
					if id != k.ID && !slices.Contains(k.Aliases, id) {
						k.Aliases = append(k.Aliases, id)
					}
				}
				if k.Level == 0 {
					k.Rating = m.Rating
				}
				if len(k.Imports) == 0 {
					k.Imports = m.Imports
				}
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, m)
		}
	}
	return out
}

// Level maps an advisory's own severity word to a finding severity; ok is
// false for words it does not know (CVSS vectors among them).
func Level(word string) (level vigilv1.Severity, ok bool) {
	switch strings.ToUpper(word) {
	case "CRITICAL":
		return vigilv1.Severity_SEVERITY_CRITICAL, true
	case "HIGH", "IMPORTANT":
		return vigilv1.Severity_SEVERITY_HIGH, true
	case "MODERATE", "MEDIUM":
		return vigilv1.Severity_SEVERITY_MEDIUM, true
	case "LOW", "NEGLIGIBLE", "UNIMPORTANT":
		return vigilv1.Severity_SEVERITY_LOW, true
	}
	return 0, false
}

// scope is the ecosystem a record's package is indexed under. Red Hat
// names a product stream and a repository ("Red Hat:enterprise_linux:9::
// appstream"); an installed RPM does not record its repository, so the
// stream's repositories are one scope.
func scope(ecosystem string) string {
	if strings.HasPrefix(ecosystem, "Red Hat:") {
		if i := strings.Index(ecosystem, "::"); i >= 0 {
			return ecosystem[:i]
		}
	}
	return ecosystem
}

var pypiSeparators = regexp.MustCompile(`[-_.]+`)

// normalizeName gives a package name the form its ecosystem compares by:
// PyPI names are case-insensitive with -, _ and . alike (PEP 503), NuGet
// names are case-insensitive.
func normalizeName(ecosystem, name string) string {
	base, _, _ := strings.Cut(ecosystem, ":")
	switch base {
	case "PyPI":
		return pypiSeparators.ReplaceAllString(strings.ToLower(name), "-")
	case "NuGet":
		return strings.ToLower(name)
	}
	return name
}

// Describe says which advisories affect a package version and how to fix
// it: "name version[ note] is affected by ID, aliases; fixed in V: summary".
func (m Match) Describe(name, version, note string) string {
	ids := append([]string{m.ID}, m.Aliases...)
	msg := fmt.Sprintf("%s %s%s is affected by %s", name, version, note, strings.Join(ids, ", "))
	if m.Fixed != "" {
		msg += "; fixed in " + m.Fixed
	} else {
		msg += "; no fixed version known"
	}
	if m.Summary != "" {
		msg += ": " + m.Summary
	}
	return msg
}
