package terraform

import (
	"slices"
	"strings"
	"testing"
)

// TestManagedKubernetes reads GKE and AKS clusters and node pools, each
// case once insecure and once hardened, and lists the cluster checks
// (VGL-CLOUD-090, 093 to 104 and 109 to 113) that fail.
func TestManagedKubernetes(t *testing.T) {
	cases := []struct {
		name, hcl string
		want      []string
	}{
		{"GKE as created by default", `
resource "google_container_cluster" "c" {
  name = "c"
  node_config {
    machine_type = "e2-standard-4"
  }
}`, []string{"090", "093", "094", "102", "104", "111", "112", "113"}},
		{"GKE hardened", `
resource "google_container_cluster" "c" {
  name              = "c"
  datapath_provider = "ADVANCED_DATAPATH"
  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = true
  }
  workload_identity_config {
    workload_pool = "p.svc.id.goog"
  }
  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }
  release_channel {
    channel = "REGULAR"
  }
  node_config {
    service_account = "nodes@p.iam.gserviceaccount.com"
    image_type      = "COS_CONTAINERD"
    shielded_instance_config {
      enable_secure_boot = true
    }
  }
}`, nil},
		{"GKE legacy settings", `
resource "google_container_cluster" "c" {
  name                  = "c"
  enable_legacy_abac    = true
  enable_shielded_nodes = false
  monitoring_service    = "monitoring.googleapis.com"
  network_policy {
    enabled = true
  }
  private_cluster_config {
    enable_private_nodes = true
  }
  master_authorized_networks_config {
    cidr_blocks {
      cidr_block = "10.0.0.0/8"
    }
  }
  master_auth {
    client_certificate_config {
      issue_client_certificate = true
    }
  }
}`, []string{"095", "096", "097", "098", "111", "113"}},
		{"GKE node pool with risky management and metadata", `
resource "google_container_node_pool" "p" {
  name    = "p"
  cluster = "c"
  management {
    auto_upgrade = false
    auto_repair  = false
  }
  node_config {
    service_account = "default"
    image_type      = "UBUNTU_CONTAINERD"
    metadata = {
      disable-legacy-endpoints = "false"
    }
  }
}`, []string{"100", "101", "102", "103", "109", "112"}},
		{"GKE node pool exposing the metadata server", `
resource "google_container_node_pool" "p" {
  name    = "p"
  cluster = "c"
  node_config {
    service_account = "nodes@p.iam.gserviceaccount.com"
    workload_metadata_config {
      mode = "GCE_METADATA"
    }
  }
}`, []string{"104", "112"}},
		{"GKE auto-provisioned pools without a service account", `
resource "google_container_cluster" "c" {
  name = "c"
  datapath_provider = "ADVANCED_DATAPATH"
  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = true
  }
  cluster_autoscaling {
    enabled = true
    auto_provisioning_defaults {
      oauth_scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    }
  }
}`, []string{"102", "104", "111", "112", "113"}},
		{"AKS as created by default", `
resource "azurerm_kubernetes_cluster" "a" {
  name = "a"
  default_node_pool {
    name    = "default"
    vm_size = "Standard_D2_v2"
  }
}`, []string{"090", "093", "096", "099"}},
		{"AKS with RBAC turned off (block form)", `
resource "azurerm_kubernetes_cluster" "a" {
  name                    = "a"
  private_cluster_enabled = true
  azure_policy_enabled    = true
  network_profile {
    network_plugin = "azure"
    network_policy = "azure"
  }
  role_based_access_control {
    enabled = false
  }
}`, []string{"095", "096"}},
		{"AKS hardened", `
resource "azurerm_kubernetes_cluster" "a" {
  name                              = "a"
  role_based_access_control_enabled = true
  azure_policy_enabled              = true
  local_account_disabled            = true
  api_server_access_profile {
    authorized_ip_ranges = ["203.0.113.0/24"]
  }
  network_profile {
    network_plugin = "azure"
    network_policy = "cilium"
  }
}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, f := range findingsIn(t, c.hcl, "VGL-CLOUD-090", "VGL-CLOUD-113") {
				id, _, _ := strings.Cut(f, " ")
				n := strings.TrimPrefix(id, "VGL-CLOUD-")
				if (n == "090" || n >= "093" && n <= "104" || n >= "109") && !slices.Contains(got, n) {
					got = append(got, n)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("failing checks %v, want %v", got, c.want)
			}
		})
	}
}
