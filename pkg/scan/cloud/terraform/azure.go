package terraform

import (
	"strings"
	"time"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// azureTLS normalises "TLS1_2" and "1.2" to "1.2".
func azureTLS(v string) string {
	v = strings.TrimPrefix(strings.ToUpper(v), "TLS")
	return strings.ReplaceAll(strings.TrimPrefix(v, "_"), "_", ".")
}

func azureStorage(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_storage_account"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("bucket", "azure", b)
		// Nested items (containers) may be made public unless the account forbids it.
		r.Attrs["public_acl"] = a.Bool("allow_nested_items_to_be_public", a.Bool("allow_blob_public_access", false, false), false)
		r.Attrs["encrypted"] = true
		cmk := len(a.Blocks("customer_managed_key")) > 0 || len(g.linked(b, "azurerm_storage_account_customer_managed_key", "storage_account_id")) > 0
		if cmk {
			r.Attrs["kms_key"] = "customer_managed_key"
		}
		r.Attrs["versioning"] = a.Block("blob_properties").Bool("versioning_enabled", false, true)
		// CIS Azure 3.3: the queue service logs reads, writes and deletes.
		ql := a.Block("queue_properties").Block("logging")
		r.Attrs["logging"] = ql.Bool("read", false, true) && ql.Bool("write", false, true) && ql.Bool("delete", false, true)
		r.Attrs["https_only"] = a.Bool("https_traffic_only_enabled", a.Bool("enable_https_traffic_only", true, true), true)
		r.Attrs["min_tls_version"] = azureTLS(a.Str("min_tls_version", "TLS1_2", "TLS1_2"))
		r.Attrs["double_encryption"] = a.Bool("infrastructure_encryption_enabled", false, true)
		azureNetworkRules(r, a.Blocks("network_rules"), g.linked(b, "azurerm_storage_account_network_rules", "storage_account_id"),
			g.linked(b, "azurerm_storage_account_network_rules", "storage_account_name"))
		switch strings.ToUpper(a.Str("account_replication_type", "GRS", "GRS")) {
		case "LRS", "ZRS":
			r.Attrs["geo_redundant"] = false
		}
		if bp := a.Block("blob_properties"); bp.Has("delete_retention_policy") {
			r.Attrs["soft_delete"] = bp.Block("delete_retention_policy").Num("days", 7, 7) > 0
		}
		out = append(out, r)
	}
	// Network rules whose account is defined elsewhere count on their own.
	for _, b := range g.byType["azurerm_storage_account_network_rules"] {
		if defined(g, b.Attrs["storage_account_id"], "azurerm_storage_account") || defined(g, b.Attrs["storage_account_name"], "azurerm_storage_account") {
			continue
		}
		r := resource("bucket", "azure", b)
		r.Attrs["encrypted"], r.Attrs["versioning"], r.Attrs["logging"] = true, true, true // account settings
		azureNetworkRules(r, nil, []*Block{b})
		out = append(out, r)
	}
	for _, b := range g.byType["azurerm_storage_container"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("bucket", "azure", b)
		access := a.Str("container_access_type", "private", "private")
		r.Attrs["public_acl"] = access == "blob" || access == "container"
		r.Attrs["encrypted"] = true
		r.Attrs["versioning"] = true // versioning is an account setting
		r.Attrs["logging"] = true    // so is logging
		out = append(out, r)
	}
	return out
}

// azureNetworkRules reads a storage account's firewall: an inline
// network_rules block or separate azurerm_storage_account_network_rules.
// Without either, every network may connect.
func azureNetworkRules(r *cloud.Resource, inline []cloud.Attrs, separate ...[]*Block) {
	rules := inline
	for _, bs := range separate {
		for _, b := range bs {
			rules = append(rules, b.Attrs)
		}
	}
	if len(rules) == 0 {
		r.Attrs["network_default_deny"] = false
		return
	}
	for _, nr := range rules {
		r.Attrs["network_default_deny"] = strings.EqualFold(nr.Str("default_action", "Deny", "Deny"), "Deny")
		if nr.Has("bypass") && !nr.IsUnknown("bypass") {
			trusted := false
			for _, v := range nr.Strs("bypass") {
				trusted = trusted || strings.EqualFold(v, "AzureServices")
			}
			r.Attrs["trusted_services_bypass"] = trusted
		}
	}
}

// azurePeers reads a rule's source or destination prefixes.
func azurePeers(a cloud.Attrs, side string) []string {
	peers := a.Strs(side + "_address_prefixes")
	if p := a.Str(side+"_address_prefix", "", ""); p != "" {
		peers = append(peers, p)
	}
	for i, p := range peers {
		switch strings.ToLower(p) {
		case "*", "internet", "any":
			peers[i] = "0.0.0.0/0"
		}
	}
	return peers
}

func azureRules(a cloud.Attrs) []any {
	dir := "ingress"
	if strings.EqualFold(a.Str("direction", "Inbound", "Inbound"), "Outbound") {
		dir = "egress"
	}
	action := strings.ToLower(a.Str("access", "Allow", "Deny"))
	proto := protocol(a.Str("protocol", "*", "*"))
	peers := azurePeers(a, "source")
	if dir == "egress" {
		peers = azurePeers(a, "destination")
	}
	ranges := a.Strs("destination_port_ranges")
	if p := a.Str("destination_port_range", "", ""); p != "" {
		ranges = append(ranges, p)
	}
	if len(ranges) == 0 {
		ranges = []string{"*"}
	}
	var out []any
	for _, p := range ranges {
		from, to := portRange(p)
		out = append(out, cloud.Rule(dir, action, proto, from, to, peers, a.Str("description", "", "")))
	}
	return out
}

func azureNSGs(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_network_security_group"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("security_group", "azure", b)
		var rules []any
		for _, sr := range a.Blocks("security_rule") {
			rules = append(rules, azureRules(sr)...)
		}
		for _, sr := range g.linked(b, "azurerm_network_security_rule", "network_security_group_name") {
			rules = append(rules, azureRules(sr.Attrs)...)
		}
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	// Rules whose group is defined elsewhere still count, on their own.
	for _, b := range g.byType["azurerm_network_security_rule"] {
		owned := false
		for _, nsg := range g.byType["azurerm_network_security_group"] {
			owned = owned || refers(b.Attrs["network_security_group_name"], nsg)
		}
		if owned {
			continue
		}
		r := resource("security_group", "azure", b)
		if rules := azureRules(b.Attrs); rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	return out
}

func azureDatabases(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	firewall := map[string]string{"azurerm_mssql_server": "azurerm_mssql_firewall_rule", "azurerm_sql_server": "azurerm_sql_firewall_rule",
		"azurerm_postgresql_server": "azurerm_postgresql_firewall_rule", "azurerm_mysql_server": "azurerm_mysql_firewall_rule",
		"azurerm_postgresql_flexible_server": "azurerm_postgresql_flexible_server_firewall_rule", "azurerm_mysql_flexible_server": "azurerm_mysql_flexible_server_firewall_rule",
		"azurerm_mariadb_server": "azurerm_mariadb_firewall_rule"}
	for typ, fw := range firewall {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := resource("database", "azure", b)
			r.Attrs["engine"] = strings.TrimPrefix(typ, "azurerm_")
			r.Attrs["publicly_accessible"] = a.Bool("public_network_access_enabled", true, false)
			var cidrs []string
			for _, attr := range []string{"server_name", "server_id"} {
				for _, rule := range g.linked(b, fw, attr) {
					ra := cloud.Attrs(rule.Attrs)
					if ra.Str("start_ip_address", "", "") == "0.0.0.0" && ra.Str("end_ip_address", "", "") == "255.255.255.255" {
						cidrs = append(cidrs, "0.0.0.0/0")
					}
				}
			}
			r.Attrs["public_cidrs"] = cloud.List(cidrs)
			r.Attrs["encrypted"] = true
			r.Attrs["backup_retention"] = a.Num("backup_retention_days", 7, 7)
			r.Attrs["audit_logging"] = azureDatabaseLogging(g, b)
			r.Attrs["password_in_config"] = a.Str("administrator_login_password", "", "") != "" ||
				a.Str("administrator_password", "", "") != ""
			switch typ {
			case "azurerm_mysql_server", "azurerm_postgresql_server", "azurerm_mariadb_server":
				r.Attrs["threat_detection"] = a.Block("threat_detection_policy").Bool("enabled", false, true)
				if typ != "azurerm_mariadb_server" {
					r.Attrs["double_encryption"] = a.Bool("infrastructure_encryption_enabled", false, true)
				}
				r.Attrs["geo_backup"] = a.Bool("geo_redundant_backup_enabled", false, true)
			case "azurerm_mysql_flexible_server", "azurerm_postgresql_flexible_server":
				r.Attrs["geo_backup"] = a.Bool("geo_redundant_backup_enabled", false, true)
			case "azurerm_sql_server", "azurerm_mssql_server":
				r.Attrs["directory_admin"] = len(a.Blocks("azuread_administrator")) > 0 ||
					len(g.linked(b, "azurerm_sql_active_directory_administrator", "server_name")) > 0 ||
					len(g.linked(b, "azurerm_mssql_server_active_directory_administrator", "server_id")) > 0
			}
			if typ == "azurerm_postgresql_server" {
				for _, c := range g.linked(b, "azurerm_postgresql_configuration", "server_name") {
					ca := cloud.Attrs(c.Attrs)
					if ca.Str("name", "", "") == "connection_throttling" && strings.EqualFold(ca.Str("value", "on", "on"), "off") {
						r.Attrs["connection_throttling"] = false
					}
				}
			}
			r.Attrs["ssl_required"] = a.Bool("ssl_enforcement_enabled", true, true) &&
				azureTLS(a.Str("ssl_minimal_tls_version_enforced", "TLS1_2", "TLS1_2")) >= "1.2" &&
				azureTLS(a.Str("minimum_tls_version", "1.2", "1.2")) >= "1.2"
			out = append(out, r)
		}
	}
	return out
}

func azureClusters(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_kubernetes_cluster"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("k8s_cluster", "azure", b)
		private := a.Bool("private_cluster_enabled", false, true)
		r.Attrs["public_endpoint"] = !private
		cidrs := a.Strs("api_server_authorized_ip_ranges")
		cidrs = append(cidrs, a.Block("api_server_access_profile").Strs("authorized_ip_ranges")...)
		if len(cidrs) == 0 {
			cidrs = []string{"0.0.0.0/0"}
		}
		if private {
			cidrs = nil
		}
		r.Attrs["public_cidrs"] = cloud.List(cidrs)
		r.Attrs["secrets_encrypted"] = len(a.Blocks("key_management_service")) > 0
		var logs []string
		if len(a.Blocks("oms_agent")) > 0 {
			logs = append(logs, "api")
		}
		r.Attrs["control_plane_logging"] = cloud.List(logs)
		policy := a.Block("network_profile").Str("network_policy", "", "unknown")
		r.Attrs["network_policy"] = policy != ""
		// azurerm 2.99 moved the switch out of its block; both default on.
		r.Attrs["rbac"] = a.Bool("role_based_access_control_enabled", true, true) &&
			a.Block("role_based_access_control").Bool("enabled", true, true)
		r.Attrs["admission_policy"] = a.Bool("azure_policy_enabled", false, true) ||
			a.Path("addon_profile", "azure_policy").Bool("enabled", false, true)
		// Local accounts hand out a static admin kubeconfig (a client
		// certificate) besides Entra ID sign-in.
		r.Attrs["legacy_credentials"] = !a.Bool("local_account_disabled", false, true)
		r.Attrs["dashboard"] = a.Path("addon_profile", "kube_dashboard").Bool("enabled", false, false)
		out = append(out, r)
	}
	return out
}

func azureDisks(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_managed_disk"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("volume", "azure", b)
		es := a.Block("encryption_settings")
		r.Attrs["encrypted"] = es.Bool("enabled", true, true)
		r.Attrs["kms_key"] = a.Str("disk_encryption_set_id", "", "unknown")
		out = append(out, r)
	}
	return out
}

// otherBuckets covers Alibaba OSS and DigitalOcean Spaces.
func otherBuckets(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["alicloud_oss_bucket"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("bucket", "alicloud", b)
		r.Attrs["public_acl"] = strings.HasPrefix(a.Str("acl", "private", ""), "public-")
		sse := a.Block("server_side_encryption_rule")
		r.Attrs["encrypted"] = len(a.Blocks("server_side_encryption_rule")) > 0
		r.Attrs["kms_key"] = sse.Str("kms_master_key_id", "", "unknown")
		r.Attrs["versioning"] = a.Block("versioning").Str("status", "", "Enabled") == "Enabled"
		r.Attrs["logging"] = len(a.Blocks("logging")) > 0
		out = append(out, r)
	}
	for _, b := range g.byType["digitalocean_spaces_bucket"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("bucket", "digitalocean", b)
		r.Attrs["public_acl"] = a.Str("acl", "private", "") == "public-read"
		for _, o := range g.byType["digitalocean_spaces_bucket_object"] {
			if refers(o.Attrs["bucket"], b) && cloud.Attrs(o.Attrs).Str("acl", "private", "") == "public-read" {
				r.Attrs["public_acl"] = true
			}
		}
		r.Attrs["encrypted"] = true
		r.Attrs["versioning"] = a.Block("versioning").Bool("enabled", false, true)
		r.Attrs["logging"] = true // Spaces has no access logging to ask for
		out = append(out, r)
	}
	for _, b := range g.byType["digitalocean_firewall"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("security_group", "digitalocean", b)
		var rules []any
		for dir, block := range map[string]string{"ingress": "inbound_rule", "egress": "outbound_rule"} {
			side := "source_addresses"
			if dir == "egress" {
				side = "destination_addresses"
			}
			for _, rule := range a.Blocks(block) {
				from, to := portRange(rule.Str("port_range", "*", "*"))
				if strings.EqualFold(rule.Str("port_range", "", ""), "all") {
					from, to = 0, allPorts
				}
				rules = append(rules, cloud.Rule(dir, "allow", protocol(rule.Str("protocol", "tcp", "tcp")), from, to, rule.Strs(side), ""))
			}
		}
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	return out
}

// azureDatabaseLogging reports auditing on SQL servers and the logging
// parameters of PostgreSQL servers (CIS Azure 4.1.1, 4.3.3 to 4.3.5).
func azureDatabaseLogging(g *graph, b *Block) bool {
	a := cloud.Attrs(b.Attrs)
	switch b.Type {
	case "azurerm_sql_server", "azurerm_mssql_server":
		return len(a.Blocks("extended_auditing_policy")) > 0 ||
			len(g.linked(b, "azurerm_mssql_server_extended_auditing_policy", "server_id")) > 0
	case "azurerm_postgresql_server":
		for _, c := range g.linked(b, "azurerm_postgresql_configuration", "server_name") {
			ca := cloud.Attrs(c.Attrs)
			switch ca.Str("name", "", "") {
			case "log_checkpoints", "log_connections", "log_disconnections":
				if strings.EqualFold(ca.Str("value", "on", "on"), "off") {
					return false
				}
			}
		}
	}
	return true
}

// azureWebApps maps App Service apps to the "endpoint" kind.
func azureWebApps(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, typ := range []string{"azurerm_app_service", "azurerm_linux_web_app", "azurerm_windows_web_app", "azurerm_function_app",
		"azurerm_linux_function_app", "azurerm_windows_function_app"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := resource("endpoint", "azure", b)
			sc := a.Block("site_config")
			// FTP without TLS sends deployment credentials in the clear;
			// older App Service APIs allow it unless told otherwise.
			ftps := sc.Str("ftps_state", "AllAllowed", "Disabled")
			if typ != "azurerm_app_service" && typ != "azurerm_function_app" {
				ftps = sc.Str("ftps_state", "Disabled", "Disabled")
			}
			r.Attrs["https_only"] = a.Bool("https_only", false, true) && ftps != "AllAllowed"
			r.Attrs["min_tls_version"] = azureTLS(sc.Str("minimum_tls_version", sc.Str("min_tls_version", "1.2", "1.2"), "1.2"))
			r.Attrs["public"] = a.Bool("public_network_access_enabled", true, false)
			azureAppSettings(r, typ, a)
			out = append(out, r)
		}
	}
	return out
}

// azureAppSettings reads an App Service app's authentication, identity,
// client certificates, HTTP/2, runtime and logs. Function apps keep no
// web server logs, so those stay at the passing default for them.
func azureAppSettings(r *cloud.Resource, typ string, a cloud.Attrs) {
	legacy := typ == "azurerm_app_service" || typ == "azurerm_function_app"
	r.Attrs["authentication"] = a.Block("auth_settings").Bool("enabled", false, true) ||
		a.Block("auth_settings_v2").Bool("auth_enabled", false, true)
	r.Attrs["managed_identity"] = len(a.Blocks("identity")) > 0
	if legacy {
		r.Attrs["client_certs"] = a.Bool("client_cert_enabled", false, true)
	} else {
		r.Attrs["client_certs"] = a.Bool("client_certificate_enabled", false, true)
	}
	if strings.EqualFold(a.Str("client_certificate_mode", a.Str("client_cert_mode", "Required", "Required"), "Required"), "Optional") {
		r.Attrs["client_certs"] = false
	}
	sc := a.Block("site_config")
	r.Attrs["http2"] = sc.Bool("http2_enabled", false, true)
	r.Attrs["runtime"] = appRuntime(sc)
	if eol, known := cloud.EndOfLife(r.Attrs["runtime"].(string), time.Now()); known {
		r.Attrs["runtime_end_of_life"] = eol
	}
	if strings.Contains(typ, "function_app") {
		return
	}
	logs := a.Block("logs")
	r.Attrs["logging"] = len(logs.Blocks("http_logs")) > 0
	if legacy {
		r.Attrs["detailed_errors"] = logs.Bool("detailed_error_messages_enabled", false, true)
		r.Attrs["failed_request_tracing"] = logs.Bool("failed_request_tracing_enabled", false, true)
	} else {
		r.Attrs["detailed_errors"] = logs.Bool("detailed_error_messages", false, true)
		r.Attrs["failed_request_tracing"] = logs.Bool("failed_request_tracing", false, true)
	}
}

// appRuntime finds the language runtime an app names: in site_config
// (python_version, php_version), its application_stack, or a Linux
// container string such as "PYTHON|3.8".
func appRuntime(sc cloud.Attrs) string {
	for _, src := range []cloud.Attrs{sc.Block("application_stack"), sc} {
		for _, lang := range []string{"python", "php", "node", "dotnet"} {
			if v := src.Str(lang+"_version", "", ""); v != "" {
				return cloud.Runtime(lang, v)
			}
		}
	}
	for _, attr := range []string{"linux_fx_version", "windows_fx_version"} {
		if lang, v, ok := strings.Cut(sc.Str(attr, "", ""), "|"); ok {
			return cloud.Runtime(lang, v)
		}
	}
	if v := sc.Str("dotnet_framework_version", "", ""); strings.HasPrefix(v, "v") && v >= "v5" {
		return cloud.Runtime("dotnet", v)
	}
	return ""
}

// azureRoles maps custom role definitions to iam_policy: their actions on
// their assignable scopes ("/" and subscriptions read as "*").
func azureRoles(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["azurerm_role_definition"] {
		a := cloud.Attrs(b.Attrs)
		var scopes []string
		for _, s := range append(a.Strs("assignable_scopes"), a.Str("scope", "", "")) {
			if s == "/" || strings.HasPrefix(s, "/subscriptions/") && strings.Count(strings.Trim(s, "/"), "/") == 1 ||
				strings.HasPrefix(s, "data.azurerm_subscription.") {
				scopes = append(scopes, "*")
			} else if s != "" {
				scopes = append(scopes, s)
			}
		}
		r := resource("iam_policy", "azure", b)
		var st []any
		for _, p := range a.Blocks("permissions") {
			st = append(st, cloud.Statement("Allow", p.Strs("actions"), p.Strs("not_actions"), scopes, nil, false))
		}
		if st != nil {
			r.Attrs["statements"] = st
		}
		out = append(out, r)
	}
	return out
}

// openstackGroups maps OpenStack security groups and their rules.
func openstackGroups(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	osRule := func(a cloud.Attrs) map[string]any {
		from, to := a.Num("port_range_min", 0, 0), a.Num("port_range_max", 65535, 65535)
		if from == 0 && to == 0 {
			to = 65535
		}
		peers := a.Strs("remote_ip_prefix")
		if !a.Has("remote_ip_prefix") && !a.Has("remote_group_id") {
			peers = []string{"0.0.0.0/0"} // no remote side: every address
		}
		return cloud.Rule(strings.ToLower(a.Str("direction", "ingress", "ingress")), "allow", protocol(a.Str("protocol", "all", "all")),
			int(from), int(to), peers, a.Str("description", "", ""))
	}
	for _, b := range g.byType["openstack_networking_secgroup_v2"] {
		r := resource("security_group", "openstack", b)
		r.Attrs["description"] = cloud.Attrs(b.Attrs).Str("description", "", "unknown")
		var rules []any
		for _, sr := range g.linked(b, "openstack_networking_secgroup_rule_v2", "security_group_id") {
			rules = append(rules, osRule(sr.Attrs))
		}
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	for _, sr := range g.byType["openstack_networking_secgroup_rule_v2"] {
		if defined(g, sr.Attrs["security_group_id"], "openstack_networking_secgroup_v2") {
			continue
		}
		r := resource("security_group", "openstack", sr)
		r.Attrs["rules"] = []any{osRule(sr.Attrs)}
		out = append(out, r)
	}
	for _, b := range g.byType["openstack_compute_secgroup_v2"] {
		r := resource("security_group", "openstack", b)
		var rules []any
		for _, rule := range cloud.Attrs(b.Attrs).Blocks("rule") {
			from, to := rule.Num("from_port", 0, 0), rule.Num("to_port", 65535, 65535)
			rules = append(rules, cloud.Rule("ingress", "allow", protocol(rule.Str("ip_protocol", "all", "all")), int(from), int(to), rule.Strs("cidr"), ""))
		}
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	return out
}
