package terraform

import (
	"slices"
	"testing"
)

// TestAWSTracingBackupsAndClassic reads tracing, Container Insights,
// backups, aggregators, Lambda permissions and EC2-Classic leftovers.
func TestAWSTracingBackupsAndClassic(t *testing.T) {
	hcl := `
resource "aws_lambda_function" "quiet" {
  function_name = "quiet"
}
resource "aws_lambda_function" "traced" {
  function_name = "traced"
  tracing_config {
    mode = "Active"
  }
}
resource "aws_api_gateway_stage" "prod" {
  stage_name = "prod"
}
resource "aws_ecs_cluster" "blind" {
  name = "blind"
}
resource "aws_ecs_cluster" "watched" {
  name = "watched"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}
resource "aws_elasticache_cluster" "redis" {
  engine = "redis"
}
resource "aws_elasticache_cluster" "memcached" {
  engine = "memcached"
}
resource "aws_elasticache_cluster" "micro" {
  engine    = "redis"
  node_type = "cache.t1.micro"
}
resource "aws_dynamodb_table" "t" {
  name = "t"
  point_in_time_recovery {
    enabled = true
  }
}
resource "aws_elasticache_security_group" "old" {
  name = "old"
}
resource "aws_config_configuration_aggregator" "some" {
  name = "some"
  account_aggregation_source {
    account_ids = ["123456789012"]
    regions     = ["eu-west-1"]
  }
}
resource "aws_db_instance" "db" {
  engine                       = "postgres"
  performance_insights_enabled = false
}
resource "aws_redshift_cluster" "classic" {
  cluster_identifier = "classic"
}
resource "aws_lambda_permission" "open" {
  function_name = aws_lambda_function.quiet.function_name
  principal     = "sns.amazonaws.com"
}
resource "aws_lambda_permission" "bound" {
  function_name = aws_lambda_function.quiet.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = "arn:aws:sns:eu-west-1:123456789012:topic"
}
resource "aws_default_vpc" "default" {}
`
	got := findingsIn(t, hcl, "VGL-CLOUD-170", "VGL-CLOUD-179")
	got = append(got, findingsIn(t, hcl, "VGL-CLOUD-124", "VGL-CLOUD-124")...)
	want := []string{
		"VGL-CLOUD-170 aws_lambda_function.quiet",
		"VGL-CLOUD-171 aws_api_gateway_stage.prod",
		"VGL-CLOUD-172 aws_ecs_cluster.blind",
		"VGL-CLOUD-173 aws_elasticache_cluster.redis",
		"VGL-CLOUD-174 aws_elasticache_security_group.old",
		"VGL-CLOUD-175 aws_config_configuration_aggregator.some",
		"VGL-CLOUD-176 aws_db_instance.db",
		"VGL-CLOUD-177 aws_redshift_cluster.classic",
		"VGL-CLOUD-178 aws_lambda_permission.open",
		"VGL-CLOUD-179 aws_default_vpc.default",
		"VGL-CLOUD-124 aws_elasticache_security_group.old",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
