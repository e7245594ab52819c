package terraform

import (
	"slices"
	"testing"
)

// TestMoreProvidersAndResilience reads BigQuery datasets, OCI buckets,
// ApsaraDB and ActionTrail, application gateways, provider blocks, and
// the resilience and monitoring settings of RDS, Lambda, OpenSearch, EC2
// and S3.
func TestMoreProvidersAndResilience(t *testing.T) {
	hcl := `
provider "aws" {
  alias      = "plain"
  access_key = "AKIAEXAMPLEEXAMPLE12"
  secret_key = "placeholder-secret-value-for-a-test-0000"
}
provider "aws" {
  region = "eu-west-1"
}
provider "google" {
  credentials = "account.json"
}
resource "google_bigquery_dataset" "open" {
  dataset_id = "open"
  access {
    role          = "READER"
    special_group = "allAuthenticatedUsers"
  }
}
resource "oci_objectstorage_bucket" "b" {
  name        = "b"
  access_type = "ObjectRead"
}
resource "alicloud_db_instance" "db" {
  engine       = "MySQL"
  security_ips = ["0.0.0.0", "10.0.0.0/8"]
}
resource "alicloud_actiontrail_trail" "reads" {
  trail_name   = "reads"
  event_rw     = "Read"
  trail_region = "cn-hangzhou"
}
resource "azurerm_application_gateway" "std" {
  name = "std"
  sku {
    name = "Standard_v2"
    tier = "Standard_v2"
  }
}
resource "azurerm_application_gateway" "waf" {
  name = "waf"
  sku {
    name = "WAF_v2"
    tier = "WAF_v2"
  }
}
resource "aws_db_instance" "db" {
  engine              = "mysql"
  password            = "literal-password"
  monitoring_interval = 0
  auto_minor_version_upgrade = false
}
resource "aws_lambda_function" "f" {
  function_name = "f"
}
resource "aws_lambda_function" "g" {
  function_name                  = "g"
  reserved_concurrent_executions = 10
  dead_letter_config {
    target_arn = "arn:aws:sqs:eu-west-1:123456789012:dlq"
  }
  vpc_config {
    subnet_ids         = ["subnet-1"]
    security_group_ids = ["sg-1"]
  }
  tracing_config {
    mode = "Active"
  }
}
resource "aws_elasticsearch_domain" "es" {
  domain_name = "es"
}
resource "aws_instance" "i" {
  ami = "ami-1"
}
`
	var got []string
	for _, id := range []string{"VGL-CLOUD-001", "VGL-CLOUD-060", "VGL-CLOUD-068", "VGL-CLOUD-080", "VGL-CLOUD-083", "VGL-CLOUD-127",
		"VGL-CLOUD-195", "VGL-CLOUD-196", "VGL-CLOUD-197", "VGL-CLOUD-198", "VGL-CLOUD-199", "VGL-CLOUD-200", "VGL-CLOUD-201",
		"VGL-CLOUD-202", "VGL-CLOUD-203"} {
		got = append(got, findingsIn(t, hcl, id, id)...)
	}
	want := []string{
		"VGL-CLOUD-001 google_bigquery_dataset.open",
		"VGL-CLOUD-001 oci_objectstorage_bucket.b",
		"VGL-CLOUD-060 alicloud_db_instance.db",
		"VGL-CLOUD-068 alicloud_db_instance.db",
		"VGL-CLOUD-068 aws_db_instance.db",
		"VGL-CLOUD-068 aws_elasticsearch_domain.es",
		"VGL-CLOUD-080 alicloud_actiontrail_trail.reads",
		"VGL-CLOUD-083 alicloud_actiontrail_trail.reads",
		"VGL-CLOUD-127 azurerm_application_gateway.std",
		"VGL-CLOUD-195 aws_instance.i",
		"VGL-CLOUD-196 aws_db_instance.db",
		"VGL-CLOUD-197 aws_db_instance.db",
		"VGL-CLOUD-198 aws_db_instance.db",
		"VGL-CLOUD-199 aws_elasticsearch_domain.es",
		"VGL-CLOUD-199 aws_lambda_function.f",
		"VGL-CLOUD-200 provider.aws.plain",
		"VGL-CLOUD-201 aws_db_instance.db",
		"VGL-CLOUD-202 aws_lambda_function.f",
		"VGL-CLOUD-203 aws_lambda_function.f",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
