package terraform

import (
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// ociBuckets maps Oracle Cloud object storage buckets.
func ociBuckets(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["oci_objectstorage_bucket"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("bucket", "oracle", b)
		r.Attrs["public_acl"] = strings.HasPrefix(a.Str("access_type", "NoPublicAccess", "NoPublicAccess"), "Object")
		r.Attrs["encrypted"] = true // always, with an Oracle-managed key by default
		r.Attrs["kms_key"] = a.Str("kms_key_id", "", "unknown")
		r.Attrs["versioning"] = strings.EqualFold(a.Str("versioning", "Disabled", "Enabled"), "Enabled")
		r.Attrs["logging"] = true // access is logged by the tenancy's audit service
		out = append(out, r)
	}
	return out
}

// alicloudServices maps ApsaraDB RDS instances and ActionTrail trails.
func alicloudServices(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["alicloud_db_instance"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("database", "alicloud", b)
		r.Attrs["engine"] = a.Str("engine", "", "")
		var open []string
		for _, ip := range a.Strs("security_ips") {
			if ip == "0.0.0.0" || ip == "0.0.0.0/0" {
				open = append(open, "0.0.0.0/0")
			}
		}
		r.Attrs["publicly_accessible"] = len(open) > 0
		r.Attrs["public_cidrs"] = cloud.List(open)
		r.Attrs["encrypted"] = strings.EqualFold(a.Str("tde_status", "", "Enabled"), "Enabled") || a.Has("encryption_key")
		r.Attrs["kms_key"] = a.Str("encryption_key", "", "unknown")
		r.Attrs["backup_retention"] = int64(7) // set on a separate backup policy
		r.Attrs["ssl_required"] = strings.EqualFold(a.Str("ssl_action", "Close", "Open"), "Open")
		r.Attrs["audit_logging"] = strings.EqualFold(a.Str("sql_collector_status", "Disabled", "Enabled"), "Enabled")
		r.Attrs["auto_minor_upgrade"] = strings.EqualFold(a.Str("auto_upgrade_minor_version", "Auto", "Auto"), "Auto")
		out = append(out, r)
	}
	for _, b := range g.byType["alicloud_actiontrail_trail"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("trail", "alicloud", b)
		r.Attrs["logging"] = strings.EqualFold(a.Str("status", "Enable", "Enable"), "Enable") &&
			strings.EqualFold(a.Str("event_rw", "Write", "All"), "All")
		r.Attrs["multi_region"] = strings.EqualFold(a.Str("trail_region", "All", "All"), "All")
		// ActionTrail has no digest files or log encryption setting.
		r.Attrs["log_validation"], r.Attrs["kms_key"] = true, "-"
		r.Attrs["cloudwatch"] = a.Has("sls_project_arn")
		out = append(out, r)
	}
	return out
}

// providerSecrets are the provider arguments that hold a secret.
var providerSecrets = map[string][]string{
	"aws":      {"secret_key", "token"},
	"azurerm":  {"client_secret", "client_certificate_password"},
	"azuread":  {"client_secret"},
	"google":   {"credentials", "access_token"},
	"alicloud": {"secret_key"},
	"oci":      {"private_key", "private_key_password"},
}

// providerNames are the model's names of Terraform's providers.
var providerNames = map[string]string{"aws": "aws", "azurerm": "azure", "azuread": "azure", "google": "google", "alicloud": "alicloud", "oci": "oracle"}

// providerConfigs maps provider blocks that sign in with a secret written
// in the configuration (a literal or a variable's default).
func providerConfigs(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for name, args := range providerSecrets {
		for _, b := range g.byType["provider."+name] {
			a := cloud.Attrs(b.Attrs)
			r := resource("provider_config", providerNames[name], b)
			r.Name = b.Name
			for _, arg := range args {
				v := a.Str(arg, "", "")
				// A path to a key file is not the key.
				if v != "" && !(arg == "credentials" && !strings.HasPrefix(strings.TrimSpace(v), "{")) {
					r.Attrs["static_credentials"] = true
				}
			}
			out = append(out, r)
		}
	}
	return out
}
