package terraform

import (
	"slices"
	"testing"
)

// TestAzureVaultsAndDefender reads Key Vaults, their keys and secrets,
// Defender plans and security contacts: one risky and one hardened each.
func TestAzureVaultsAndDefender(t *testing.T) {
	hcl := `
resource "azurerm_key_vault" "open" {
  name                       = "open"
  soft_delete_retention_days = 3
}
resource "azurerm_key_vault" "closed" {
  name                       = "closed"
  purge_protection_enabled   = true
  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
  }
}
resource "azurerm_key_vault_key" "soft" {
  name         = "soft"
  key_vault_id = azurerm_key_vault.open.id
  key_type     = "RSA"
}
resource "azurerm_key_vault_key" "hard" {
  name            = "hard"
  key_vault_id    = azurerm_key_vault.closed.id
  key_type        = "RSA-HSM"
  expiration_date = "2030-01-01T00:00:00Z"
}
resource "azurerm_key_vault_secret" "bare" {
  name  = "bare"
  value = var.v
}
resource "azurerm_key_vault_secret" "described" {
  name            = "described"
  value           = var.v
  content_type    = "password"
  expiration_date = "2030-01-01T00:00:00Z"
}
resource "azurerm_security_center_subscription_pricing" "free" {
  tier = "Free"
}
resource "azurerm_security_center_subscription_pricing" "standard" {
  tier          = "Standard"
  resource_type = "SqlServers"
}
resource "azurerm_security_center_contact" "quiet" {
  alert_notifications = false
  alerts_to_admins    = false
}
resource "azurerm_security_center_contact" "loud" {
  email               = "soc@example.com"
  phone               = "+1 555 0100"
  alert_notifications = true
  alerts_to_admins    = true
}
variable "v" {}
`
	got := findingsIn(t, hcl, "VGL-CLOUD-130", "VGL-CLOUD-140")
	want := []string{
		"VGL-CLOUD-130 azurerm_key_vault.open",
		"VGL-CLOUD-131 azurerm_key_vault.open",
		"VGL-CLOUD-132 azurerm_key_vault_key.soft",
		"VGL-CLOUD-133 azurerm_key_vault_key.soft",
		"VGL-CLOUD-134 azurerm_key_vault_secret.bare",
		"VGL-CLOUD-135 azurerm_key_vault_secret.bare",
		"VGL-CLOUD-136 azurerm_security_center_subscription_pricing.free",
		"VGL-CLOUD-137 azurerm_security_center_contact.quiet",
		"VGL-CLOUD-138 azurerm_security_center_contact.quiet",
		"VGL-CLOUD-139 azurerm_security_center_contact.quiet",
		"VGL-CLOUD-140 azurerm_security_center_contact.quiet",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestAzureAppsAndDatabases reads App Service apps (old and current
// resource types), SQL alert policies, auditing and server settings.
func TestAzureAppsAndDatabases(t *testing.T) {
	hcl := `
resource "azurerm_app_service" "old" {
  name = "old"
  site_config {
    python_version = "3.7"
  }
}
resource "azurerm_linux_web_app" "current" {
  name                       = "current"
  https_only                 = true
  client_certificate_enabled = true
  identity {
    type = "SystemAssigned"
  }
  auth_settings_v2 {
    auth_enabled = true
  }
  logs {
    detailed_error_messages = true
    failed_request_tracing  = true
    http_logs {
      file_system {
        retention_in_days = 30
        retention_in_mb   = 35
      }
    }
  }
  site_config {
    http2_enabled = true
    application_stack {
      node_version = "22-lts"
    }
  }
}
resource "azurerm_mssql_server" "db" {
  name = "db"
  azuread_administrator {
    login_username = "dba"
    object_id      = "00000000-0000-0000-0000-000000000000"
  }
  extended_auditing_policy {
    retention_in_days = 0
  }
}
resource "azurerm_mssql_server_security_alert_policy" "partial" {
  server_name     = azurerm_mssql_server.db.name
  state           = "Enabled"
  disabled_alerts = ["Sql_Injection"]
}
resource "azurerm_mssql_server_security_alert_policy" "full" {
  server_name                  = azurerm_mssql_server.db.name
  state                        = "Enabled"
  email_addresses              = ["soc@example.com"]
  email_account_admins_enabled = true
}
resource "azurerm_mssql_database_extended_auditing_policy" "short" {
  database_id       = "x"
  retention_in_days = 30
}
resource "azurerm_postgresql_server" "pg" {
  name                         = "pg"
  public_network_access_enabled = false
  geo_redundant_backup_enabled = true
  infrastructure_encryption_enabled = true
  threat_detection_policy {
    enabled = true
  }
}
resource "azurerm_postgresql_configuration" "throttle" {
  name        = "connection_throttling"
  server_name = azurerm_postgresql_server.pg.name
  value       = "off"
}
resource "azurerm_monitor_log_profile" "short" {
  name       = "short"
  categories = ["Write", "Delete"]
  retention_policy {
    enabled = true
    days    = 30
  }
}
`
	got := findingsIn(t, hcl, "VGL-CLOUD-141", "VGL-CLOUD-157")
	want := []string{
		"VGL-CLOUD-141 azurerm_app_service.old",
		"VGL-CLOUD-142 azurerm_app_service.old",
		"VGL-CLOUD-143 azurerm_app_service.old",
		"VGL-CLOUD-144 azurerm_app_service.old",
		"VGL-CLOUD-145 azurerm_app_service.old",
		"VGL-CLOUD-146 azurerm_app_service.old",
		"VGL-CLOUD-147 azurerm_app_service.old",
		"VGL-CLOUD-148 azurerm_mssql_server_security_alert_policy.partial",
		"VGL-CLOUD-149 azurerm_mssql_server_security_alert_policy.partial",
		"VGL-CLOUD-150 azurerm_mssql_server_security_alert_policy.partial",
		"VGL-CLOUD-154 azurerm_postgresql_server.pg",
		"VGL-CLOUD-155 azurerm_mssql_database_extended_auditing_policy.short",
		"VGL-CLOUD-156 azurerm_monitor_log_profile.short",
		"VGL-CLOUD-157 azurerm_monitor_log_profile.short",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestAzureNetworkAndMachines reads flow logs, network interfaces (an NSG
// on the subnet counts), Linux machines, storage firewalls and replication.
func TestAzureNetworkAndMachines(t *testing.T) {
	hcl := `
resource "azurerm_network_watcher_flow_log" "off" {
  enabled = false
}
resource "azurerm_network_watcher_flow_log" "short" {
  enabled = true
  retention_policy {
    enabled = true
    days    = 7
  }
}
resource "azurerm_network_watcher_flow_log" "forever" {
  enabled = true
  retention_policy {
    enabled = false
    days    = 0
  }
}
resource "azurerm_subnet" "bare" {
  name = "bare"
}
resource "azurerm_subnet" "guarded" {
  name = "guarded"
}
resource "azurerm_subnet_network_security_group_association" "guard" {
  subnet_id                 = azurerm_subnet.guarded.id
  network_security_group_id = "nsg"
}
resource "azurerm_network_interface" "naked" {
  name                 = "naked"
  enable_ip_forwarding = true
  ip_configuration {
    subnet_id            = azurerm_subnet.bare.id
    public_ip_address_id = "pip"
  }
}
resource "azurerm_network_interface" "behind_subnet" {
  name = "behind"
  ip_configuration {
    subnet_id = azurerm_subnet.guarded.id
  }
}
resource "azurerm_linux_virtual_machine" "passwords" {
  name                            = "passwords"
  disable_password_authentication = false
}
resource "azurerm_linux_virtual_machine" "keys" {
  name                       = "keys"
  encryption_at_host_enabled = true
}
resource "azurerm_storage_account" "local" {
  name                     = "local"
  account_replication_type = "LRS"
  blob_properties {
    delete_retention_policy {
      days = 0
    }
  }
}
resource "azurerm_storage_account_network_rules" "local" {
  storage_account_id = azurerm_storage_account.local.id
  default_action     = "Deny"
  bypass             = ["Metrics"]
}
resource "azurerm_storage_account" "geo" {
  name                              = "geo"
  account_replication_type          = "RAGZRS"
  infrastructure_encryption_enabled = true
  network_rules {
    default_action = "Deny"
  }
}
`
	got := findingsIn(t, hcl, "VGL-CLOUD-158", "VGL-CLOUD-165")
	got = append(got, findingsIn(t, hcl, "VGL-CLOUD-053", "VGL-CLOUD-053")...)
	got = append(got, findingsIn(t, hcl, "VGL-CLOUD-115", "VGL-CLOUD-115")...)
	got = append(got, findingsIn(t, hcl, "VGL-CLOUD-204", "VGL-CLOUD-204")...)
	got = append(got, findingsIn(t, hcl, "VGL-CLOUD-051", "VGL-CLOUD-051")...)
	want := []string{
		"VGL-CLOUD-158 azurerm_network_watcher_flow_log.off",
		"VGL-CLOUD-159 azurerm_network_watcher_flow_log.short",
		"VGL-CLOUD-160 azurerm_network_interface.naked",
		"VGL-CLOUD-161 azurerm_linux_virtual_machine.passwords",
		"VGL-CLOUD-162 azurerm_storage_account.local",
		"VGL-CLOUD-164 azurerm_storage_account.local",
		"VGL-CLOUD-165 azurerm_storage_account.local",
		"VGL-CLOUD-053 azurerm_network_interface.naked",
		"VGL-CLOUD-115 azurerm_network_interface.naked",
		"VGL-CLOUD-204 azurerm_linux_virtual_machine.passwords",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
