// Package vuln matches packages against vulnerability data in OSV format
// (https://ossf.github.io/osv-schema/), with the version ordering of each
// ecosystem: dpkg for Debian and Ubuntu, apk for Alpine, rpm for the
// RPM-based distributions, PEP 440 for PyPI,
// Maven's ordering, RubyGems', Go module versions, and SemVer for npm,
// crates.io and the like.
package vuln

import (
	"fmt"
	"strings"

	gemversion "github.com/aquasecurity/go-gem-version"
	pep440 "github.com/aquasecurity/go-pep440-version"
	apkversion "github.com/knqyf263/go-apk-version"
	debversion "github.com/knqyf263/go-deb-version"
	mvnversion "github.com/masahiro331/go-mvn-version"
	"golang.org/x/mod/semver"
)

// compareFunc orders two versions of one ecosystem.
type compareFunc func(a, b string) (int, error)

// comparer returns the version ordering of an OSV ecosystem ("Debian:12"
// orders like "Debian").
func comparer(ecosystem string) (compareFunc, bool) {
	base, _, _ := strings.Cut(ecosystem, ":")
	switch base {
	case "Debian", "Ubuntu":
		return compareDeb, true
	case "Alpine":
		return compareApk, true
	case "Go":
		return compareSemver, true
	case "npm", "crates.io", "Hex", "Pub", "SwiftURL", "Packagist", "NuGet", "ConanCenter":
		return compareSemver, true
	case "PyPI":
		return comparePEP440, true
	case "Maven":
		return compareMaven, true
	case "RubyGems":
		return compareGem, true
	case "Red Hat", "AlmaLinux", "Rocky Linux", "openSUSE", "SUSE", "Mageia", "Photon OS", "openEuler", "Azure Linux":
		return compareRPM, true
	}
	return nil, false
}

func compareDeb(a, b string) (int, error) {
	va, err := debversion.NewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("dpkg version %q: %w", a, err)
	}
	vb, err := debversion.NewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("dpkg version %q: %w", b, err)
	}
	return sign(va.Compare(vb)), nil
}

func compareApk(a, b string) (int, error) {
	va, err := apkversion.NewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("apk version %q: %w", a, err)
	}
	vb, err := apkversion.NewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("apk version %q: %w", b, err)
	}
	return sign(va.Compare(vb)), nil
}

func comparePEP440(a, b string) (int, error) {
	va, err := pep440.Parse(a)
	if err != nil {
		return 0, fmt.Errorf("PEP 440 version %q: %w", a, err)
	}
	vb, err := pep440.Parse(b)
	if err != nil {
		return 0, fmt.Errorf("PEP 440 version %q: %w", b, err)
	}
	return sign(va.Compare(vb)), nil
}

func compareMaven(a, b string) (int, error) {
	va, err := mvnversion.NewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("Maven version %q: %w", a, err)
	}
	vb, err := mvnversion.NewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("Maven version %q: %w", b, err)
	}
	return sign(va.Compare(vb)), nil
}

func compareGem(a, b string) (int, error) {
	va, err := gemversion.NewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("RubyGems version %q: %w", a, err)
	}
	vb, err := gemversion.NewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("RubyGems version %q: %w", b, err)
	}
	return sign(va.Compare(vb)), nil
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// compareSemver orders SemVer 2.0 versions, with or without a leading v
// (Go module versions have one, OSV's Go records do not).
func compareSemver(a, b string) (int, error) {
	va, vb := "v"+strings.TrimPrefix(a, "v"), "v"+strings.TrimPrefix(b, "v")
	if !semver.IsValid(va) {
		return 0, fmt.Errorf("semver %q is not valid", a)
	}
	if !semver.IsValid(vb) {
		return 0, fmt.Errorf("semver %q is not valid", b)
	}
	return semver.Compare(va, vb), nil
}
