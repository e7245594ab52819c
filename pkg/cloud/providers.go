package cloud

// ProviderKinds lists, for each provider, the kinds its resources are
// mapped to (from Terraform, CloudFormation or the provider's API). A
// check applies to a provider when it reads one of these kinds and its
// expression does not exclude the provider. Tests in the adapters keep the
// table in step with the code.
var ProviderKinds = map[string][]string{
	"aws": {"account", "audit_log", "bucket", "certificate", "container_cluster", "database", "endpoint", "function", "iam_policy",
		"iam_role", "instance", "k8s_cluster", "key", "network_acl", "password_policy", "provider_config", "region", "security_group",
		"store", "subnet", "trail", "volume", "vpc"},
	"azure": {"alert_policy", "audit_log", "bucket", "database", "endpoint", "flow_log", "iam_policy", "instance", "k8s_cluster", "key",
		"network_interface", "provider_config", "secret", "security_contact", "security_group", "store", "threat_protection", "volume"},
	"google": {"bucket", "database", "dns_zone", "federation", "iam_binding", "iam_policy", "instance", "k8s_cluster", "k8s_node_pool",
		"key", "project", "provider_config", "security_group", "volume", "vpc"},
	"alicloud":     {"bucket", "database", "provider_config", "trail"},
	"digitalocean": {"bucket", "security_group"},
	"nifcloud":     {"certificate", "database", "endpoint", "instance", "network_interface", "security_group", "store"},
	"openstack":    {"security_group"},
	"oracle":       {"bucket", "provider_config"},
}
