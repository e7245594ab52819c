package report

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/sbom"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// CycloneDX writes a CycloneDX 1.5 JSON bill of materials of one image:
// the image as the subject, its distribution as an operating-system
// component, each package as a library with its package URL, and the
// vulnerabilities matched against them when there are any.
func CycloneDX(w io.Writer, a sbom.BOM, tool, toolVersion string, now time.Time) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = serial(a.Digest)
	subject := cdx.Component{BOMRef: a.Digest, Type: cdx.ComponentTypeContainer, Name: a.Name, Version: a.Digest}
	if !a.Local {
		subject.PackageURL = imagePURL(a.Name, a.Digest)
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: now.UTC().Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: tool, Version: toolVersion}}},
		Component: &subject,
	}
	var comps []cdx.Component
	var deps []string
	osRef := ""
	if o := a.Inventory.OS; o.ID != "" {
		osRef = "os:" + o.ID + "@" + o.VersionID
		comps = append(comps, cdx.Component{BOMRef: osRef, Type: cdx.ComponentTypeOS, Name: o.ID, Version: o.VersionID, Description: o.Name})
		deps = append(deps, osRef)
	}
	refs := map[string]bool{}
	refOf := map[string]string{} // package key -> bom-ref, for vulnerabilities
	for _, p := range a.Inventory.Packages {
		purl := packageURL(p, a.Inventory.OS)
		ref := purl + "?path=" + p.Path
		if refs[ref] {
			continue
		}
		refs[ref] = true
		refOf[pkgKey(p)] = ref
		c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: purl}
		props := []cdx.Property{{Name: "vigil:path", Value: p.Path}}
		if p.Source != "" && p.Source != p.Name {
			props = append(props, cdx.Property{Name: "vigil:source-package", Value: p.Source})
		}
		if p.SourceVersion != "" {
			props = append(props, cdx.Property{Name: "vigil:source-version", Value: p.SourceVersion})
		}
		c.Properties = &props
		comps = append(comps, c)
		deps = append(deps, ref)
	}
	bom.Components = &comps
	bom.Dependencies = &[]cdx.Dependency{{Ref: subject.BOMRef, Dependencies: &deps}}
	if len(a.Vulns) > 0 {
		byID := map[string]int{}
		var vulns []cdx.Vulnerability
		for _, v := range a.Vulns {
			i, ok := byID[v.Match.ID]
			if !ok {
				i = len(vulns)
				byID[v.Match.ID] = i
				vv := cdx.Vulnerability{BOMRef: v.Match.ID, ID: v.Match.ID, Description: v.Match.Summary,
					Source: &cdx.Source{Name: "OSV", URL: "https://osv.dev/vulnerability/" + v.Match.ID}}
				if len(v.Match.Aliases) > 0 {
					var refs []cdx.VulnerabilityReference
					for _, al := range v.Match.Aliases {
						refs = append(refs, cdx.VulnerabilityReference{ID: al, Source: &cdx.Source{Name: "OSV"}})
					}
					vv.References = &refs
				}
				if r := v.Match.Rating; r.Level != 0 {
					vv.Ratings = &[]cdx.VulnerabilityRating{rating(r)}
				}
				vv.Affects = &[]cdx.Affects{}
				vulns = append(vulns, vv)
			}
			aff := append(*vulns[i].Affects, cdx.Affects{Ref: refOf[pkgKey(v.Package)]})
			vulns[i].Affects = &aff
			if v.Match.Fixed != "" {
				vulns[i].Recommendation = "Upgrade " + v.Package.Name + " to " + v.Match.Fixed + " or later"
			}
		}
		bom.Vulnerabilities = &vulns
	}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_5); err != nil {
		return fmt.Errorf("cyclonedx: %w", err)
	}
	return nil
}

func pkgKey(p sbom.Package) string {
	return p.Type + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Path
}

// serial is a stable urn:uuid for an image's bill of materials.
func serial(digest string) string {
	h := sha256.Sum256([]byte("vigil-sbom\x00" + digest))
	h[6] = h[6]&0x0f | 0x50 // version 5 layout (name-based, SHA)
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// packageURL builds the purl of a package (https://github.com/package-url/purl-spec).
func packageURL(p sbom.Package, o sbom.OS) string {
	var q packageurl.Qualifiers
	namespace, name, version := "", p.Name, p.Version
	switch p.Type {
	case "rpm":
		// The purl of an RPM carries its epoch as a qualifier.
		if e, v, ok := strings.Cut(version, ":"); ok {
			version = v
			q = append(q, packageurl.Qualifier{Key: "epoch", Value: e})
		}
		namespace = o.ID
		if namespace == "rhel" {
			namespace = "redhat"
		}
		if p.Arch != "" {
			q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
		}
		if o.ID != "" {
			q = append(q, packageurl.Qualifier{Key: "distro", Value: o.ID + "-" + o.VersionID})
		}
	case "deb", "apk":
		namespace = o.ID
		if p.Arch != "" {
			q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
		}
		if o.ID != "" {
			q = append(q, packageurl.Qualifier{Key: "distro", Value: o.ID + "-" + o.VersionID})
		}
	case "golang", "npm", "composer":
		if i := strings.LastIndex(name, "/"); i > 0 {
			namespace, name = name[:i], name[i+1:]
		}
	}
	typ := p.Type
	if typ == "" {
		typ = "generic"
	}
	return packageurl.NewPackageURL(typ, namespace, name, version, q, "").ToString()
}

// imagePURL is the oci purl of an image: pkg:oci/name@digest?repository_url=….
func imagePURL(name, digest string) string {
	ref := name
	if i := strings.LastIndex(ref, "@"); i > 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	repo := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	q := packageurl.Qualifiers{{Key: "repository_url", Value: repo}}
	return packageurl.NewPackageURL("oci", "", ref, digest, q, "").ToString()
}

// rating is an advisory's rating as CycloneDX writes it: the CVSS score,
// vector and method when the advisory had a vector.
func rating(r vuln.Rating) cdx.VulnerabilityRating {
	out := cdx.VulnerabilityRating{Severity: cdx.Severity(strings.ToLower(finding.SeverityName(r.Level))), Method: cdx.ScoringMethodOther}
	if r.Vector == "" {
		return out
	}
	score := r.Score
	out.Score, out.Vector = &score, r.Vector
	switch {
	case strings.HasPrefix(r.Vector, "CVSS:4.0/"):
		out.Method = cdx.ScoringMethodCVSSv4
	case strings.HasPrefix(r.Vector, "CVSS:3.1/"):
		out.Method = cdx.ScoringMethodCVSSv31
	default:
		out.Method = cdx.ScoringMethodCVSSv3
	}
	return out
}
