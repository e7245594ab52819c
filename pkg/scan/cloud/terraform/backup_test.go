package terraform

import (
	"slices"
	"testing"
)

// TestDatabaseBackups: a primary left at the one-day default is reported;
// a read replica, which takes no backups of its own, is not.
func TestDatabaseBackups(t *testing.T) {
	hcl := `
resource "aws_db_instance" "primary" {
  identifier        = "primary"
  engine            = "postgres"
  storage_encrypted = true
}
resource "aws_db_instance" "replica" {
  identifier          = "replica"
  replicate_source_db = aws_db_instance.primary.identifier
  storage_encrypted   = true
}
resource "aws_db_instance" "kept" {
  identifier              = "kept"
  backup_retention_period = 14
  storage_encrypted       = true
}
resource "google_sql_database_instance" "off" {
  name = "off"
  settings {
    backup_configuration {
      enabled = false
    }
  }
}
resource "google_sql_database_instance" "read" {
  name                 = "read"
  master_instance_name = "off"
}
`
	got := findingsIn(t, hcl, "VGL-CLOUD-062", "VGL-CLOUD-062")
	want := []string{"VGL-CLOUD-062 aws_db_instance.primary", "VGL-CLOUD-062 google_sql_database_instance.off"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
