package terraform

import (
	"slices"
	"testing"
)

// TestComputeEngine reads GCE instances and project metadata: an instance
// with every risky switch, one hardened, and both kinds of project
// metadata.
func TestComputeEngine(t *testing.T) {
	hcl := `
resource "google_compute_instance" "risky" {
  name           = "risky"
  can_ip_forward = true
  shielded_instance_config {
    enable_integrity_monitoring = false
  }
  metadata = {
    serial-port-enable = "true"
    enable-oslogin     = "FALSE"
  }
  service_account {
    scopes = ["cloud-platform"]
  }
}
resource "google_compute_instance" "hardened" {
  name = "hardened"
  metadata = {
    block-project-ssh-keys = true
  }
  shielded_instance_config {
    enable_secure_boot = true
  }
  service_account {
    email  = "app@p.iam.gserviceaccount.com"
    scopes = ["cloud-platform"]
  }
}
resource "google_compute_instance" "no_account" {
  name = "no-account"
  metadata = {
    enable-oslogin = "TRUE"
  }
  shielded_instance_config {
    enable_secure_boot = true
  }
}
resource "google_compute_project_metadata" "off" {
  metadata = {
    foo = "bar"
  }
}
resource "google_compute_project_metadata_item" "on" {
  key   = "enable-oslogin"
  value = "TRUE"
}
`
	got := findingsIn(t, hcl, "VGL-CLOUD-114", "VGL-CLOUD-121")
	want := []string{
		"VGL-CLOUD-114 google_compute_instance.risky",
		"VGL-CLOUD-115 google_compute_instance.risky",
		"VGL-CLOUD-116 google_compute_instance.risky",
		"VGL-CLOUD-117 google_compute_instance.risky",
		"VGL-CLOUD-118 google_compute_instance.risky",
		"VGL-CLOUD-119 google_compute_instance.risky",
		"VGL-CLOUD-120 google_compute_project_metadata.off",
		"VGL-CLOUD-121 google_compute_instance.risky",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
