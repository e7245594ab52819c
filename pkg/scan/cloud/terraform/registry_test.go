package terraform

import (
	"slices"
	"testing"
)

// TestRegistriesAndGroupHygiene: repository settings, the registry-wide
// scanning configuration that overrides them, descriptions of groups and
// rules, and HTTP entry points' header and WAF settings.
func TestRegistriesAndGroupHygiene(t *testing.T) {
	cases := []struct {
		name, hcl string
		want      []string
	}{
		{"repository left at its defaults", `
resource "aws_ecr_repository" "r" {
  name = "r"
}`, []string{"VGL-CLOUD-122 aws_ecr_repository.r", "VGL-CLOUD-123 aws_ecr_repository.r"}},
		{"repository scanned by the registry, tags immutable", `
resource "aws_ecr_repository" "r" {
  name                 = "r"
  image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION"
}
resource "aws_ecr_registry_scanning_configuration" "s" {
  scan_type = "ENHANCED"
}`, nil},
		{"groups and rules without descriptions", `
resource "aws_security_group" "g" {
  name = "g"
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}
resource "aws_security_group" "h" {
  name        = "h"
  description = "internal HTTPS"
  ingress {
    description = "HTTPS from the VPC"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}`, []string{"VGL-CLOUD-124 aws_security_group.g", "VGL-CLOUD-125 aws_security_group.g"}},
		{"entry points: ALB and network load balancer, CloudFront with and without WAF", `
resource "aws_lb" "app" {
  name     = "app"
  internal = true
}
resource "aws_lb" "net" {
  name               = "net"
  internal           = true
  load_balancer_type = "network"
}
resource "aws_lb" "strict" {
  name                       = "strict"
  internal                   = true
  drop_invalid_header_fields = true
}
resource "aws_cloudfront_distribution" "open" {
  enabled = true
  default_cache_behavior {
    viewer_protocol_policy = "redirect-to-https"
  }
  logging_config {
    bucket = "logs.s3.amazonaws.com"
  }
}
resource "aws_cloudfront_distribution" "guarded" {
  enabled    = true
  web_acl_id = "arn:aws:wafv2:us-east-1:111122223333:global/webacl/w/1"
  default_cache_behavior {
    viewer_protocol_policy = "redirect-to-https"
  }
  logging_config {
    bucket = "logs.s3.amazonaws.com"
  }
}`, []string{"VGL-CLOUD-126 aws_lb.app", "VGL-CLOUD-127 aws_cloudfront_distribution.open"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := findingsIn(t, c.hcl, "VGL-CLOUD-122", "VGL-CLOUD-127")
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
