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
	// Type is the package URL type: deb, apk, rpm, golang, npm, cargo,
	// composer.
	Type string
	// Path is the file that records the package.
	Path string
	Arch string
}

// OSPackage reports whether the package is one of the distribution's
// (dpkg, apk or rpm), matched against the distribution's advisories.
func (p Package) OSPackage() bool { return p.Type == "deb" || p.Type == "apk" || p.Type == "rpm" }

// OS is the distribution an image is built on, from os-release.
type OS struct {
	ID        string // "debian", "alpine", "ubuntu", "rhel"
	VersionID string // "12", "3.20.3", "22.04", "9.4"
	// Version is VERSION, which alone says whether an Ubuntu release is
	// LTS ("22.04.4 LTS (Jammy Jellyfish)").
	Version string
	Name    string // PRETTY_NAME
}

// Ecosystem is the OSV ecosystem of the distribution's packages, "" when
// OSV has none for it (Amazon Linux, CentOS, Fedora, Oracle Linux).
func (o OS) Ecosystem() string {
	major, _, _ := strings.Cut(o.VersionID, ".")
	switch o.ID {
	case "debian":
		if o.VersionID == "" {
			return "Debian"
		}
		return "Debian:" + o.VersionID
	case "ubuntu":
		if o.VersionID == "" {
			return ""
		}
		if strings.Contains(o.Version, "LTS") {
			return "Ubuntu:" + o.VersionID + ":LTS"
		}
		return "Ubuntu:" + o.VersionID
	case "alpine":
		parts := strings.SplitN(o.VersionID, ".", 3)
		if len(parts) < 2 {
			return "Alpine"
		}
		return "Alpine:v" + parts[0] + "." + parts[1]
	case "rhel":
		// Red Hat scopes its records by product stream; UBI and RHEL
		// images are on the main one.
		if major == "" {
			return ""
		}
		return "Red Hat:enterprise_linux:" + major
	case "almalinux":
		return withRelease("AlmaLinux", major)
	case "rocky":
		return withRelease("Rocky Linux", major)
	case "mageia":
		return withRelease("Mageia", o.VersionID)
	case "photon":
		return withRelease("Photon OS", o.VersionID)
	case "sles", "sled", "sles_sap", "sle-micro":
		// SUSE's releases are the product's marketing name, which
		// PRETTY_NAME spells after the vendor.
		if name, ok := strings.CutPrefix(o.Name, "SUSE "); ok && name != "" {
			return "SUSE:" + name
		}
	case "opensuse-leap", "opensuse-tumbleweed", "opensuse-leap-micro":
		if name, ok := strings.CutPrefix(o.Name, "openSUSE "); ok && name != "" {
			return "openSUSE:" + name
		}
	}
	return ""
}

func withRelease(eco, release string) string {
	if release == "" {
		return eco
	}
	return eco + ":" + release
}

// String names the distribution as people read it.
func (o OS) String() string {
	switch {
	case o.Name != "":
		return o.Name
	case o.ID != "":
		return strings.TrimSpace(o.ID + " " + o.VersionID)
	}
	return "an unknown distribution"
}

// Inventory is what an image holds: its distribution and packages.
type Inventory struct {
	OS       OS
	Packages []Package
}
