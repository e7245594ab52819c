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

func TestRPMPackageURL(t *testing.T) {
	o := sbom.OS{ID: "rhel", VersionID: "9.4"}
	for _, c := range []struct {
		p    sbom.Package
		want string
	}{
		{sbom.Package{Name: "openssl-libs", Version: "1:3.0.7-24.el9", Type: "rpm", Arch: "x86_64"},
			"pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=rhel-9.4&epoch=1"},
		{sbom.Package{Name: "bash", Version: "5.1.8-6.el9", Type: "rpm", Arch: "x86_64"},
			"pkg:rpm/redhat/bash@5.1.8-6.el9?arch=x86_64&distro=rhel-9.4"},
	} {
		if got := packageURL(c.p, o); got != c.want {
			t.Errorf("%s: %s, want %s", c.p.Name, got, c.want)
		}
	}
}
