package terraform

import (
	"slices"
	"testing"
)

// TestGoogleGrants reads project, folder and organization grants in both
// resource forms (binding with members, member with one).
func TestGoogleGrants(t *testing.T) {
	hcl := `
resource "google_folder_iam_member" "impersonate" {
  folder = "folders/1"
  role   = "roles/iam.serviceAccountUser"
  member = "group:deployers@example.com"
}
resource "google_project_iam_binding" "people" {
  project = "p"
  role    = "roles/viewer"
  members = ["user:ana@example.com", "user:old.friend@gmail.com"]
}
resource "google_organization_iam_member" "default_sa" {
  org_id = "1"
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:98765-compute@developer.gserviceaccount.com"
}
resource "google_project_iam_member" "fine" {
  project = "p"
  role    = "roles/viewer"
  member  = "group:readers@example.com"
}
`
	got := findingsIn(t, hcl, "VGL-CLOUD-105", "VGL-CLOUD-108")
	want := []string{
		"VGL-CLOUD-105 google_folder_iam_member.impersonate",
		"VGL-CLOUD-106 google_organization_iam_member.default_sa",
		"VGL-CLOUD-107 google_project_iam_binding.people",
		"VGL-CLOUD-108 google_project_iam_binding.people",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
