package vuln

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

func withSeverity(e *Entry, aliases []string, word string, vectors ...[2]string) *Entry {
	e.Aliases = aliases
	e.DatabaseSpecific.Severity = word
	for _, v := range vectors {
		e.Severity = append(e.Severity, struct {
			Type  string `json:"type"`
			Score string `json:"score"`
		}{v[0], v[1]})
	}
	return e
}

// The severity of a vulnerability comes from its advisory's CVSS vector
// (v4.0 before v3.x), then from its own word, then from an alias: a Go
// database record carries none and takes its GHSA alias's.
func TestSeverityFromCVSS(t *testing.T) {
	const (
		v31Medium = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"                    // 5.3
		v30High   = "CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"                    // 6.5
		v31Crit   = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"                    // 9.8
		v40Crit   = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N" // 9.3
		v40Low    = "CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"
	)
	fixed := Range{Type: "SEMVER", Events: []Event{{Introduced: "0"}, {Fixed: "1.5.0"}}}
	db := &DB{byPackage: map[string][]*Entry{}}
	db.Add(withSeverity(record("GO-2026-0001", "Go", "example.com/a", nil, fixed), []string{"GHSA-aaaa"}, ""))
	// The alias is loaded, under another module path of the same code.
	db.Add(withSeverity(record("GHSA-aaaa", "Go", "example.com/a/v2", nil, fixed), nil, "HIGH", [2]string{"CVSS_V3", v31Medium}))
	db.Add(withSeverity(record("GHSA-bbbb", "Go", "example.com/b", nil, fixed), nil, "", [2]string{"CVSS_V3", v31Crit}, [2]string{"CVSS_V4", v40Low}))
	db.Add(withSeverity(record("GHSA-cccc", "Go", "example.com/c", nil, fixed), nil, "MODERATE"))
	db.Add(withSeverity(record("GHSA-dddd", "Go", "example.com/d", nil, fixed), nil, "", [2]string{"CVSS_V4", v40Crit}))
	db.Add(withSeverity(record("GHSA-eeee", "Go", "example.com/e", nil, fixed), nil, "", [2]string{"CVSS_V3", v30High}))
	db.Add(withSeverity(record("GO-2026-0009", "Go", "example.com/f", nil, fixed), nil, ""))

	for name, want := range map[string]struct {
		level  vigilv1.Severity
		score  float64
		vector string
	}{
		"example.com/a": {vigilv1.Severity_SEVERITY_MEDIUM, 5.3, v31Medium}, // the alias's vector, not its word
		"example.com/b": {vigilv1.Severity_SEVERITY_LOW, 0, v40Low},         // v4.0 before v3.1
		"example.com/c": {vigilv1.Severity_SEVERITY_MEDIUM, 0, ""},
		"example.com/d": {vigilv1.Severity_SEVERITY_CRITICAL, 9.3, v40Crit},
		"example.com/e": {vigilv1.Severity_SEVERITY_MEDIUM, 6.5, v30High},
		"example.com/f": {0, 0, ""}, // nothing rates it: the check's severity stands
	} {
		ms, err := db.Query("Go", name, "v1.0.0")
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: %v %v", name, ms, err)
		}
		r := ms[0].Rating
		if r.Level != want.level || r.Vector != want.vector || (want.score != 0 && math.Abs(r.Score-want.score) > 0.05) {
			t.Errorf("%s: rated %+v, want %+v", name, r, want)
		}
		f := &vigilv1.Finding{Severity: vigilv1.Severity_SEVERITY_HIGH}
		Rate(f, r)
		if want.level == 0 && f.Severity != vigilv1.Severity_SEVERITY_HIGH || want.level != 0 && (f.Severity != want.level || f.CvssVector != want.vector) {
			t.Errorf("%s: finding rated %v %q", name, f.Severity, f.CvssVector)
		}
	}
}

// A vector that does not parse is ignored, not fatal.
func TestBadVectorIsIgnored(t *testing.T) {
	var e Entry
	if err := json.Unmarshal([]byte(`{"id":"X","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:Q"}],"database_specific":{"severity":"LOW"}}`), &e); err != nil {
		t.Fatal(err)
	}
	if r := rateEntry(&e); r.Level != vigilv1.Severity_SEVERITY_LOW || r.Vector != "" {
		t.Fatalf("rated %+v", r)
	}
}

// The Go database's record and the GHSA record of one vulnerability, both
// matching a module, are one match naming both ids.
func TestOneMatchPerVulnerability(t *testing.T) {
	fixed := Range{Type: "SEMVER", Events: []Event{{Introduced: "0"}, {Fixed: "0.9.0"}}}
	db := &DB{byPackage: map[string][]*Entry{}}
	db.Add(withSeverity(record("GO-2026-0100", "Go", "example.com/g", nil, fixed), []string{"CVE-2026-1000", "GHSA-gggg"}, ""))
	db.Add(withSeverity(record("GHSA-gggg", "Go", "example.com/g", nil, fixed), []string{"CVE-2026-1000"}, "", [2]string{"CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}))
	db.Add(withSeverity(record("GO-2026-0200", "Go", "example.com/g", nil, fixed), nil, "LOW"))
	ms, err := db.Query("Go", "example.com/g", "v0.1.0")
	if err != nil || len(ms) != 2 {
		t.Fatalf("matches %+v, %v; want GHSA-gggg (with GO-2026-0100) and GO-2026-0200", ms, err)
	}
	if ms[0].ID != "GHSA-gggg" || !slices.Contains(ms[0].Aliases, "GO-2026-0100") || ms[0].Level != vigilv1.Severity_SEVERITY_CRITICAL {
		t.Errorf("folded match %+v", ms[0])
	}
}
