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

// TestDatabaseAuthAndDeletion: IAM authentication and deletion protection
// are judged where they are set (the cluster, not its instances), and IAM
// authentication only for engines that offer it.
func TestDatabaseAuthAndDeletion(t *testing.T) {
	got := findingsIn(t, `
resource "aws_rds_cluster" "aurora" {
  cluster_identifier      = "aurora"
  backup_retention_period = 7
}
resource "aws_db_instance" "member" {
  identifier              = "member"
  cluster_identifier      = aws_rds_cluster.aurora.id
  backup_retention_period = 7
}
resource "aws_db_instance" "oracle" {
  identifier              = "oracle"
  engine                  = "oracle-ee"
  backup_retention_period = 7
  storage_encrypted       = true
}
resource "aws_db_instance" "guarded" {
  identifier                          = "guarded"
  engine                              = "postgres"
  backup_retention_period             = 7
  storage_encrypted                   = true
  deletion_protection                 = true
  iam_database_authentication_enabled = true
}
`, "VGL-CLOUD-128", "VGL-CLOUD-129")
	want := []string{"VGL-CLOUD-128 aws_rds_cluster.aurora", "VGL-CLOUD-129 aws_db_instance.oracle", "VGL-CLOUD-129 aws_rds_cluster.aurora"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
