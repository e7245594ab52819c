package terraform

import (
	"slices"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/cloud/cloudtest"
)

// TestNifcloud reads NIFCLOUD groups, rules, machines, appliances,
// databases, load balancers and certificates.
func TestNifcloud(t *testing.T) {
	cert := cloudtest.Certificate(t, time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC))
	hcl := `
resource "nifcloud_security_group" "web" {
  group_name  = "web"
  description = "Managed by Terraform"
}
resource "nifcloud_security_group_rule" "http" {
  security_group_names = [nifcloud_security_group.web.group_name]
  type                 = "IN"
  from_port            = 80
  protocol             = "TCP"
  cidr_ip              = "0.0.0.0/0"
}
resource "nifcloud_instance" "loose" {
  image_id = "img"
  network_interface {
    network_id = "net-COMMON_PRIVATE"
  }
}
resource "nifcloud_instance" "tight" {
  image_id       = "img"
  security_group = nifcloud_security_group.web.group_name
  network_interface {
    network_id = "net-private-lan"
  }
}
resource "nifcloud_router" "r" {
  security_group = ""
}
resource "nifcloud_db_instance" "db" {
  publicly_accessible     = true
  backup_retention_period = 1
}
resource "nifcloud_load_balancer" "lb" {
  load_balancer_port = 80
}
resource "nifcloud_ssl_certificate" "old" {
  certificate = <<CERT
` + cert + `CERT
}
`
	var got []string
	for _, id := range []string{"VGL-CLOUD-060", "VGL-CLOUD-062", "VGL-CLOUD-070", "VGL-CLOUD-124", "VGL-CLOUD-125",
		"VGL-CLOUD-160", "VGL-CLOUD-192", "VGL-CLOUD-193"} {
		got = append(got, findingsIn(t, hcl, id, id)...)
	}
	want := []string{
		"VGL-CLOUD-060 nifcloud_db_instance.db",
		"VGL-CLOUD-062 nifcloud_db_instance.db",
		"VGL-CLOUD-070 nifcloud_load_balancer.lb",
		"VGL-CLOUD-124 nifcloud_security_group.web",
		"VGL-CLOUD-125 nifcloud_security_group.web",
		"VGL-CLOUD-160 nifcloud_instance.loose",
		"VGL-CLOUD-160 nifcloud_router.r",
		"VGL-CLOUD-192 nifcloud_instance.loose",
		"VGL-CLOUD-193 nifcloud_ssl_certificate.old",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
