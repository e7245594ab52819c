package terraform

import (
	"slices"
	"testing"
)

// TestGoogleStorageSQLDNSAndFederation reads bucket access mode, SQL
// flags with their engine defaults, projects, GKE networking, DNS zones,
// identity federation, subnetworks and default-network firewall rules.
func TestGoogleStorageSQLDNSAndFederation(t *testing.T) {
	hcl := `
resource "google_storage_bucket" "acl" {
  name = "acl"
}
resource "google_storage_bucket" "iam" {
  name                        = "iam"
  uniform_bucket_level_access = true
}
resource "google_sql_database_instance" "mysql5" {
  name             = "mysql5"
  database_version = "MYSQL_5_7"
}
resource "google_sql_database_instance" "mysql8" {
  name             = "mysql8"
  database_version = "MYSQL_8_0"
}
resource "google_sql_database_instance" "mssql" {
  name             = "mssql"
  database_version = "SQLSERVER_2019_STANDARD"
  settings {
    database_flags {
      name  = "cross db ownership chaining"
      value = "on"
    }
    database_flags {
      name  = "contained database authentication"
      value = "on"
    }
  }
}
resource "google_project" "auto" {
  name = "auto"
}
resource "google_project" "custom" {
  name                = "custom"
  auto_create_network = false
}
resource "google_container_cluster" "routes" {
  name = "routes"
}
resource "google_container_cluster" "native" {
  name = "native"
  resource_labels = {
    team = "payments"
  }
  ip_allocation_policy {}
  authenticator_groups_config {
    security_group = "gke-security-groups@example.com"
  }
}
resource "google_dns_managed_zone" "public" {
  name     = "public"
  dns_name = "example.com."
  dnssec_config {
    state = "on"
    default_key_specs {
      algorithm = "rsasha1"
      key_type  = "zoneSigning"
    }
  }
}
resource "google_dns_managed_zone" "private" {
  name       = "private"
  dns_name   = "corp.example."
  visibility = "private"
}
resource "google_iam_workload_identity_pool_provider" "any" {
  workload_identity_pool_provider_id = "any"
}
resource "google_compute_subnetwork" "sub" {
  name = "sub"
  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
  }
}
resource "google_compute_firewall" "default-allow-ssh" {
  name          = "default-allow-ssh"
  network       = "default"
  source_ranges = ["10.0.0.0/8"]
  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}
`
	got := findingsIn(t, hcl, "VGL-CLOUD-180", "VGL-CLOUD-191")
	got = append(got, findingsIn(t, hcl, "VGL-CLOUD-023", "VGL-CLOUD-023")...)
	want := []string{
		"VGL-CLOUD-180 google_storage_bucket.acl",
		"VGL-CLOUD-181 google_sql_database_instance.mysql5",
		"VGL-CLOUD-182 google_sql_database_instance.mssql",
		"VGL-CLOUD-183 google_sql_database_instance.mssql",
		"VGL-CLOUD-184 google_project.auto",
		"VGL-CLOUD-185 google_container_cluster.routes",
		"VGL-CLOUD-186 google_container_cluster.routes",
		"VGL-CLOUD-187 google_container_cluster.routes",
		"VGL-CLOUD-189 google_dns_managed_zone.public",
		"VGL-CLOUD-190 google_iam_workload_identity_pool_provider.any",
		"VGL-CLOUD-191 google_compute_subnetwork.sub",
		"VGL-CLOUD-023 google_compute_firewall.default-allow-ssh",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
