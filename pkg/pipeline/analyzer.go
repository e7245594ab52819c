package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Need is something an analyzer requires of the place it runs.
type Need uint8

// Needs an analyzer may declare.
const (
	// NeedNetwork: it reaches other hosts (registries, services, cloud APIs).
	NeedNetwork Need = 1 << iota
	// NeedRoot: it reads what only root may read (other users' processes).
	NeedRoot
	// NeedVulnData: without a vulnerability database it parses but cannot judge.
	NeedVulnData
	// NeedGit: it runs the git command.
	NeedGit
)

var needNames = []string{"network", "root", "vulnerability data", "git"}

// String lists the needs by name, "none" for none.
func (n Need) String() string {
	var out []string
	for i, name := range needNames {
		if n&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// Analyzer is what an analyzer declares about itself: the name its
// findings and coverage carry, a version bumped whenever its logic changes
// what it finds, the unit kinds it reads and what it needs to run.
type Analyzer struct {
	Name    string
	Version int
	Reads   []string
	Needs   Need
}

// String is "name/vN".
func (a Analyzer) String() string { return fmt.Sprintf("%s/v%d", a.Name, a.Version) }

// Describer is implemented by every analyzer.
type Describer interface {
	Describe() Analyzer
}

// Digest identifies a set of analyzers at their versions, in any order,
// together with extra (the digest of the checks they run). It is part of
// every scope's record, so that upgrading one analyzer makes the next scan
// a full one rather than a delta against findings the old version made.
func Digest(as []Analyzer, extra string) string {
	names := make([]string, 0, len(as))
	for _, a := range as {
		names = append(names, a.String())
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\n", n)
	}
	fmt.Fprintf(h, "checks %s\n", extra)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
