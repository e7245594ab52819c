package vuln

import (
	"strings"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// Rating is the severity of an advisory: from its CVSS vector when it has
// one (v4.0 before v3.1 and v3.0), else from its own severity word.
type Rating struct {
	// Level is the finding severity; 0 when the advisory rates nothing.
	Level vigilv1.Severity
	// Score is the CVSS base score, 0 without a vector.
	Score float64
	// Vector is the CVSS vector scored, "" without one.
	Vector string
}

// rate rates a record, or, when it rates nothing (the Go database's
// records carry no severity), the first of its aliases that does.
func (db *DB) rate(e *Entry) Rating {
	if r := rateEntry(e); r.Level != 0 {
		return r
	}
	for _, a := range e.Aliases {
		if o := db.byID[a]; o != nil {
			if r := rateEntry(o); r.Level != 0 {
				return r
			}
		}
	}
	return Rating{}
}

// rateEntry rates one record on its own.
func rateEntry(e *Entry) Rating {
	var v3 Rating
	for _, s := range e.Severity {
		score, ok := cvssScore(s.Type, s.Score)
		if !ok {
			continue
		}
		r := Rating{Level: LevelOfScore(score), Score: score, Vector: s.Score}
		if s.Type == "CVSS_V4" {
			return r
		}
		if v3.Vector == "" {
			v3 = r
		}
	}
	if v3.Vector != "" {
		return v3
	}
	if l, ok := Level(e.DatabaseSpecific.Severity); ok {
		return Rating{Level: l}
	}
	return Rating{}
}

// cvssScore is the base score of a CVSS vector of OSV severity type typ;
// ok is false for other types and vectors that do not parse.
func cvssScore(typ, vector string) (float64, bool) {
	switch {
	case typ == "CVSS_V4" && strings.HasPrefix(vector, "CVSS:4.0/"):
		c, err := gocvss40.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.Score(), true
	case typ == "CVSS_V3" && strings.HasPrefix(vector, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	case typ == "CVSS_V3" && strings.HasPrefix(vector, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	}
	return 0, false
}

// LevelOfScore maps a CVSS base score to the finding severity of the
// CVSS qualitative scale: 9.0 and up critical, 7.0 high, 4.0 medium,
// 0.1 low, 0 informational.
func LevelOfScore(score float64) vigilv1.Severity {
	switch {
	case score >= 9.0:
		return vigilv1.Severity_SEVERITY_CRITICAL
	case score >= 7.0:
		return vigilv1.Severity_SEVERITY_HIGH
	case score >= 4.0:
		return vigilv1.Severity_SEVERITY_MEDIUM
	case score > 0:
		return vigilv1.Severity_SEVERITY_LOW
	}
	return vigilv1.Severity_SEVERITY_INFO
}

// Rate gives a vulnerability finding its advisory's severity and CVSS
// score; a finding whose advisory rates nothing keeps its check's.
func Rate(f *vigilv1.Finding, r Rating) {
	if r.Level == 0 {
		return
	}
	f.Severity = r.Level
	f.CvssScore, f.CvssVector = float32(r.Score), r.Vector
}
