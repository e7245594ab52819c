package terraform

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRegistriesAndGroupHygiene: repository settings, the registry-wide
// scanning configuration that overrides them, and descriptions of groups
// and rules.
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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(c.hcl), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadDir(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings(t, cfg) {
				if id, _, _ := strings.Cut(f, " "); id >= "VGL-CLOUD-122" && id <= "VGL-CLOUD-125" {
					got = append(got, f)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
