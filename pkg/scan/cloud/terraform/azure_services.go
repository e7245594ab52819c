package terraform

import (
	"encoding/base64"
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// azureVaults maps Key Vaults to the "store" kind and their keys and
// secrets to "key" and "secret".
func azureVaults(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_key_vault"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("store", "azure", b)
		r.Attrs["service"] = "keyvault"
		r.Attrs["kms_key"] = "-" // the vault is the key store
		r.Attrs["purge_protection"] = a.Bool("purge_protection_enabled", false, true)
		r.Attrs["soft_delete_days"] = a.Num("soft_delete_retention_days", 90, 90)
		acl := a.Block("network_acls")
		r.Attrs["network_default_deny"] = strings.EqualFold(acl.Str("default_action", "Allow", "Deny"), "Deny")
		out = append(out, r)
	}
	for _, b := range g.byType["azurerm_key_vault_key"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("key", "azure", b)
		r.Attrs["rotation"] = len(a.Path("rotation_policy").Blocks("automatic")) > 0
		r.Attrs["expires"] = a.Has("expiration_date")
		r.Attrs["hsm"] = strings.HasSuffix(strings.ToUpper(a.Str("key_type", "", "-HSM")), "-HSM")
		out = append(out, r)
	}
	for _, b := range g.byType["azurerm_key_vault_secret"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("secret", "azure", b)
		r.Attrs["expires"] = a.Has("expiration_date")
		r.Attrs["typed"] = a.Str("content_type", "", "unknown") != ""
		out = append(out, r)
	}
	return out
}

// azureDataLakes maps Data Lake Store (Gen1) accounts to the "store" kind.
func azureDataLakes(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_data_lake_store"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("store", "azure", b)
		r.Attrs["service"] = "datalake"
		r.Attrs["encrypted"] = !strings.EqualFold(a.Str("encryption_state", "Enabled", "Enabled"), "Disabled")
		if strings.EqualFold(a.Str("encryption_type", "", "UserManaged"), "UserManaged") {
			r.Attrs["kms_key"] = "user_managed"
		}
		r.Attrs["public"] = false // every request is authenticated
		out = append(out, r)
	}
	return out
}

// azureSecurityCenter maps Defender for Cloud plans and security contacts.
func azureSecurityCenter(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_security_center_subscription_pricing"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("threat_protection", "azure", b)
		r.Attrs["resource_type"] = a.Str("resource_type", "VirtualMachines", "")
		r.Attrs["standard"] = strings.EqualFold(a.Str("tier", "Free", "Standard"), "Standard")
		out = append(out, r)
	}
	for _, b := range g.byType["azurerm_security_center_contact"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("security_contact", "azure", b)
		r.Attrs["email"] = strings.TrimSpace(a.Str("email", "", "unknown"))
		r.Attrs["phone"] = strings.TrimSpace(a.Str("phone", "", "unknown"))
		r.Attrs["alert_notifications"] = a.Bool("alert_notifications", false, true)
		r.Attrs["alerts_to_admins"] = a.Bool("alerts_to_admins", false, true)
		out = append(out, r)
	}
	return out
}

// azureAlertPolicies maps SQL security alert policies.
func azureAlertPolicies(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_mssql_server_security_alert_policy"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("alert_policy", "azure", b)
		r.Attrs["enabled"] = strings.EqualFold(a.Str("state", "", "Enabled"), "Enabled")
		r.Attrs["disabled_alerts"] = cloud.List(nonEmpty(a.Strs("disabled_alerts")))
		emails := nonEmpty(a.Strs("email_addresses"))
		if a.IsUnknown("email_addresses") {
			emails = []string{"unknown"}
		}
		r.Attrs["emails"] = cloud.List(emails)
		// azurerm 4 renamed email_account_admins.
		r.Attrs["email_admins"] = a.Bool("email_account_admins_enabled", a.Bool("email_account_admins", false, true), true)
		out = append(out, r)
	}
	return out
}

func nonEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

// azureAuditLogs maps activity log profiles and SQL auditing policies.
func azureAuditLogs(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_monitor_log_profile"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("audit_log", "azure", b)
		r.Attrs["source"] = "activity"
		rp := a.Block("retention_policy")
		// A disabled retention policy keeps records indefinitely.
		if rp.Bool("enabled", false, false) {
			r.Attrs["retention_days"] = rp.Num("days", 0, 365)
		}
		if !a.IsUnknown("categories") {
			have := map[string]bool{}
			for _, c := range a.Strs("categories") {
				have[strings.ToLower(c)] = true
			}
			r.Attrs["all_operations"] = have["action"] && have["write"] && have["delete"]
		}
		out = append(out, r)
	}
	for _, typ := range []string{"azurerm_mssql_database_extended_auditing_policy", "azurerm_mssql_server_extended_auditing_policy"} {
		for _, b := range g.byType[typ] {
			r := resource("audit_log", "azure", b)
			r.Attrs["source"] = "database"
			r.Attrs["retention_days"] = cloud.Attrs(b.Attrs).Num("retention_in_days", 0, 0)
			out = append(out, r)
		}
	}
	return out
}

// azureNetworkWatch maps network watcher flow logs and network interfaces.
func azureNetworkWatch(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_network_watcher_flow_log"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("flow_log", "azure", b)
		r.Attrs["enabled"] = a.Bool("enabled", true, true)
		if rp := a.Block("retention_policy"); rp.Bool("enabled", false, false) {
			r.Attrs["retention_days"] = rp.Num("days", 0, 0)
		}
		out = append(out, r)
	}
	for _, b := range g.byType["azurerm_network_interface"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("network_interface", "azure", b)
		// azurerm 3.x renamed enable_ip_forwarding.
		r.Attrs["ip_forwarding"] = a.Bool("ip_forwarding_enabled", a.Bool("enable_ip_forwarding", false, false), false)
		r.Attrs["firewalled"] = nicFirewalled(g, b)
		for _, ip := range a.Blocks("ip_configuration") {
			if ip.Has("public_ip_address_id") && !ip.IsUnknown("public_ip_address_id") {
				r.Attrs["public_ip"] = true
			}
		}
		out = append(out, r)
	}
	return out
}

// nicFirewalled reports whether a network security group filters the
// interface: set on it (legacy attribute or an association) or on a subnet
// it uses. An unknown or outside subnet counts as filtered.
func nicFirewalled(g *graph, b *Block) bool {
	a := cloud.Attrs(b.Attrs)
	if a.Has("network_security_group_id") || len(g.linked(b, "azurerm_network_interface_security_group_association", "network_interface_id")) > 0 {
		return true
	}
	for _, ip := range a.Blocks("ip_configuration") {
		subnet := ip["subnet_id"]
		if _, known := subnet.(string); !known || !defined(g, subnet, "azurerm_subnet") {
			return true
		}
		for _, s := range g.byType["azurerm_subnet"] {
			if refers(subnet, s) && len(g.linked(s, "azurerm_subnet_network_security_group_association", "subnet_id")) > 0 {
				return true
			}
		}
	}
	return false
}

// azureMachines maps virtual machines and scale sets to the "instance"
// kind. Managed disks are always encrypted at rest by the platform, and
// the Azure metadata service has no unauthenticated v1 to turn off.
func azureMachines(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, typ := range []string{"azurerm_linux_virtual_machine", "azurerm_windows_virtual_machine", "azurerm_virtual_machine",
		"azurerm_linux_virtual_machine_scale_set", "azurerm_windows_virtual_machine_scale_set"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := resource("instance", "azure", b)
			r.Attrs["volumes_encrypted"] = true
			// Managed disks are encrypted at rest, but temporary disks and
			// disk caches on the host only with encryption at host.
			r.Attrs["host_encryption"] = a.Bool("encryption_at_host_enabled", false, true) || typ == "azurerm_virtual_machine"
			r.Attrs["imds_v2_required"] = true
			switch typ {
			case "azurerm_linux_virtual_machine", "azurerm_linux_virtual_machine_scale_set":
				// Password sign-in is off unless the configuration turns it on.
				r.Attrs["password_auth"] = !a.Bool("disable_password_authentication", true, true)
			case "azurerm_virtual_machine":
				if lc := a.Blocks("os_profile_linux_config"); len(lc) > 0 {
					r.Attrs["password_auth"] = !lc[0].Bool("disable_password_authentication", true, true)
				}
			}
			data := a.Str("custom_data", a.Block("os_profile").Str("custom_data", "", ""), "")
			if raw, err := base64.StdEncoding.DecodeString(data); err == nil {
				data = string(raw)
			}
			r.Attrs["user_data"] = data
			out = append(out, r)
		}
	}
	return out
}

// azureGateways maps application gateways to the "endpoint" kind: a WAF
// SKU, a waf_configuration that is on, or a firewall policy filters them.
func azureGateways(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_application_gateway"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("endpoint", "azure", b)
		r.Attrs["public"] = true
		tier := strings.ToUpper(a.Block("sku").Str("tier", "Standard", "WAF_v2"))
		r.Attrs["waf"] = strings.HasPrefix(tier, "WAF") && a.Block("waf_configuration").Bool("enabled", true, true) ||
			a.Has("firewall_policy_id")
		out = append(out, r)
	}
	return out
}
