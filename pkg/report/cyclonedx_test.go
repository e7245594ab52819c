package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/sbom"
	"github.com/vigilsec/vigil/pkg/vuln"
)

func TestCycloneDXOfABillOfMaterials(t *testing.T) {
	openssl := sbom.Package{Ecosystem: "Debian:12", Name: "libssl3", Source: "openssl", Version: "3.0.11-1", Type: "deb", Path: "var/lib/dpkg/status", Arch: "amd64"}
	bom := sbom.BOM{Name: "registry.example/team/web:1.2", Digest: "sha256:abc",
		Inventory: sbom.Inventory{OS: sbom.OS{ID: "debian", VersionID: "12", Name: "Debian GNU/Linux 12"}, Packages: []sbom.Package{openssl}},
		Vulns:     []sbom.Vuln{{Package: openssl, Match: vuln.Match{ID: "DSA-0000-1", Aliases: []string{"CVE-2099-0001"}, Fixed: "3.0.13-1"}}}}
	var out bytes.Buffer
	if err := CycloneDX(&out, bom, "vigil", "test", time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SerialNumber string
		Metadata     struct{ Component struct{ Purl string } }
		Components   []struct{ Type, Purl string }
		Vulns        []struct {
			ID             string
			Recommendation string
			Affects        []struct{ Ref string }
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Metadata.Component.Purl != "pkg:oci/web@sha256:abc?repository_url=registry.example%2Fteam%2Fweb" {
		t.Errorf("image purl %q", doc.Metadata.Component.Purl)
	}
	if len(doc.Components) != 2 || doc.Components[0].Type != "operating-system" || doc.Components[1].Purl != "pkg:deb/debian/libssl3@3.0.11-1?arch=amd64&distro=debian-12" {
		t.Errorf("components %+v", doc.Components)
	}
	if len(doc.Vulns) != 1 || len(doc.Vulns[0].Affects) != 1 || !strings.HasPrefix(doc.Vulns[0].Affects[0].Ref, "pkg:deb/debian/libssl3") || !strings.Contains(doc.Vulns[0].Recommendation, "3.0.13-1") {
		t.Errorf("vulnerabilities %+v", doc.Vulns)
	}
	bom.Local = true
	out.Reset()
	if err := CycloneDX(&out, bom, "vigil", "test", time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pkg:oci/") {
		t.Error("an image read from a file was given a registry purl")
	}
}
