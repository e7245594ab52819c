package sbom

import "testing"

func TestEcosystemOfEachDistribution(t *testing.T) {
	cases := []struct {
		os   OS
		want string
	}{
		{OS{ID: "debian", VersionID: "12"}, "Debian:12"},
		{OS{ID: "ubuntu", VersionID: "22.04", Version: "22.04.4 LTS (Jammy Jellyfish)"}, "Ubuntu:22.04:LTS"},
		{OS{ID: "ubuntu", VersionID: "23.10", Version: "23.10 (Mantic Minotaur)"}, "Ubuntu:23.10"},
		{OS{ID: "alpine", VersionID: "3.20.3"}, "Alpine:v3.20"},
		{OS{ID: "rhel", VersionID: "9.4"}, "Red Hat:enterprise_linux:9"},
		{OS{ID: "rhel", VersionID: "8.10"}, "Red Hat:enterprise_linux:8"},
		{OS{ID: "almalinux", VersionID: "9.4"}, "AlmaLinux:9"},
		{OS{ID: "rocky", VersionID: "8.9"}, "Rocky Linux:8"},
		{OS{ID: "sles", VersionID: "15.5", Name: "SUSE Linux Enterprise Server 15 SP5"}, "SUSE:Linux Enterprise Server 15 SP5"},
		{OS{ID: "opensuse-leap", VersionID: "15.5", Name: "openSUSE Leap 15.5"}, "openSUSE:Leap 15.5"},
		{OS{ID: "opensuse-tumbleweed", VersionID: "20240101", Name: "openSUSE Tumbleweed"}, "openSUSE:Tumbleweed"},
		{OS{ID: "mageia", VersionID: "9"}, "Mageia:9"},
		{OS{ID: "photon", VersionID: "5.0"}, "Photon OS:5.0"},
		// OSV publishes nothing for these: the caller reports them.
		{OS{ID: "amzn", VersionID: "2023"}, ""},
		{OS{ID: "centos", VersionID: "7"}, ""},
		{OS{ID: "fedora", VersionID: "40"}, ""},
		{OS{ID: "rhel"}, ""},
		{OS{ID: "sles", Name: "SLES"}, ""},
	}
	for _, c := range cases {
		if got := c.os.Ecosystem(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.os, got, c.want)
		}
	}
}
