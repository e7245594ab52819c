// Package sbom holds the bill-of-materials types: what an image is built
// on and the packages it holds, with the vulnerabilities matched against
// them. Scanners fill them; reports (CycloneDX) read them.
package sbom

import (
	"strings"

	"github.com/vigilsec/vigil/pkg/vuln"
)

// BOM is the bill of materials of one image.
type BOM struct {
	// Name is the image as it was named; Digest its manifest digest.
	Name   string
	Digest string
	// Local is true for an image read from a layout or an archive: it has
	// no registry, so no oci package URL.
	Local     bool
	Inventory Inventory
	Vulns     []Vuln
}

// Vuln is an advisory that matches one package.
type Vuln struct {
	Package Package
	Match   vuln.Match
}

// Package is one installed package or pinned dependency found in an image
// or a tree.
type Package struct {
	// Ecosystem is the OSV ecosystem the package is matched in ("Debian:12",
	// "Alpine:v3.20", "Go", "npm").
	Ecosystem string
	Name      string
	// Source is the source package a distribution builds it from (dpkg's
	// Source, apk's origin); distribution advisories are keyed by it.
	Source string
	// SourceVersion is the source package's version when it differs from
	// the binary's.
	SourceVersion string
	Version       string
	// Type is the package URL type: deb, apk, golang, npm, cargo, composer.
	Type string
	// Path is the file that records the package.
	Path string
	Arch string
}

// OS is the distribution an image is built on, from os-release.
type OS struct {
	ID        string // "debian", "alpine", "ubuntu"
	VersionID string // "12", "3.20.3", "22.04"
	Name      string // PRETTY_NAME
}

// Ecosystem is the OSV ecosystem of the distribution's packages, "" when
// the distribution has none.
func (o OS) Ecosystem() string {
	switch o.ID {
	case "debian":
		if o.VersionID == "" {
			return "Debian"
		}
		return "Debian:" + o.VersionID
	case "ubuntu":
		return "Ubuntu:" + o.VersionID
	case "alpine":
		parts := strings.SplitN(o.VersionID, ".", 3)
		if len(parts) < 2 {
			return "Alpine"
		}
		return "Alpine:v" + parts[0] + "." + parts[1]
	}
	return ""
}

// Inventory is what an image holds: its distribution and packages.
type Inventory struct {
	OS       OS
	Packages []Package
}
