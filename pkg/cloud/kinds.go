package cloud

import "strings"

// Kind documents one normalised resource kind: what it stands for and
// each attribute with the value it has when the source does not set it.
type Kind struct {
	Doc   string
	Attrs map[string]Attr
}

// Attr is one attribute of a kind.
type Attr struct {
	Doc     string
	Default any
}

// Rule is one entry of a security group's or network ACL's rules, as a
// map in Attrs["rules"]: direction ("ingress", "egress"), action ("allow",
// "deny"), protocol ("tcp", "udp", "icmp", "all"), from_port and to_port
// (0 and 65535 for every port), peers (CIDRs, "*" or provider tags such as
// "Internet", for the remote side), description.
func Rule(direction, action, protocol string, from, to int, peers []string, description string) map[string]any {
	ps := make([]any, len(peers))
	for i, p := range peers {
		ps[i] = p
	}
	return map[string]any{"direction": direction, "action": action, "protocol": protocol,
		"from_port": int64(from), "to_port": int64(to), "peers": ps, "description": description}
}

// Statement is one statement of a policy document, as a map: effect
// ("Allow", "Deny"), actions, not_actions, resources, principals ("*" for
// anyone; AWS account, service and federated principals as written), and
// conditional (the statement has a Condition).
func Statement(effect string, actions, notActions, resources, principals []string, conditional bool) map[string]any {
	return map[string]any{"effect": effect, "actions": List(actions), "not_actions": List(notActions),
		"resources": List(resources), "principals": List(principals), "conditional": conditional}
}

// List converts strings to the []any of attribute values.
func List(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Kinds are the normalised kinds and their attributes.
var Kinds = map[string]Kind{
	"bucket": {Doc: "object storage: an S3 bucket, a GCS bucket, an Azure storage account or container, an OSS bucket, a Spaces bucket", Attrs: map[string]Attr{
		"public_acl":              {"an ACL or grant gives everyone (or every authenticated user of the provider) read or write access", false},
		"public_policy":           {"a bucket policy or IAM binding allows anyone without a restricting condition", false},
		"public_access_block":     {"a public access block applies (S3: bucket or account level)", false},
		"block_public_acls":       {"new public ACLs are rejected", false},
		"ignore_public_acls":      {"existing public ACLs are ignored", false},
		"block_public_policy":     {"public bucket policies are rejected", false},
		"restrict_public_buckets": {"access through public policies is restricted to the account", false},
		"encrypted":               {"objects are encrypted at rest by default", false},
		"kms_key":                 {"customer-managed key used for encryption, empty for provider-managed keys", ""},
		"uniform_access":          {"access is granted by IAM alone, object ACLs are off (GCS uniform bucket-level access); true where the provider has no object ACLs", true},
		"replication":             {"objects are copied to a bucket in another region (S3 replication); true where the provider replicates by storage class", true},
		"versioning":              {"object versioning is enabled", false},
		"logging":                 {"access logging is enabled", false},
		"https_only":              {"plain-HTTP access is refused", true},
		"min_tls_version":         {"lowest TLS version accepted (\"1.0\", \"1.1\", \"1.2\"); empty when the provider's default applies", ""},
		"network_default_deny":    {"requests from networks no rule names are refused (Azure network rules default_action Deny); true where the provider has no such firewall", true},
		"trusted_services_bypass": {"the provider's own trusted services may pass the network rules (Azure bypass AzureServices); true where there are no network rules", true},
		"geo_redundant":           {"data is replicated to a second region (Azure GRS, RA-GRS, GZRS, RA-GZRS); true where the provider decides elsewhere", true},
		"double_encryption":       {"data is encrypted a second time at the infrastructure layer (Azure infrastructure encryption); true where the provider has no such option", true},
		"soft_delete":             {"deleted blobs can be recovered for a retention period; true where the provider has no such switch", true},
	}},
	"security_group": {Doc: "a stateful firewall attached to instances: an AWS security group, a GCP firewall rule, an Azure network security group, a DigitalOcean or OpenStack firewall", Attrs: map[string]Attr{
		"rules":       {"the group's rules (see Rule)", []any{}},
		"classic":     {"an EC2-Classic group (ElastiCache, Redshift or RDS security group), a platform AWS has retired", false},
		"is_default":  {"the VPC's default security group", false},
		"description": {"the group's description", ""},
	}},
	"network_acl": {Doc: "a stateless subnet firewall: an AWS network ACL", Attrs: map[string]Attr{
		"rules":      {"the ACL's rules (see Rule); deny rules are listed too", []any{}},
		"is_default": {"the VPC's default network ACL", false},
	}},
	"iam_policy": {Doc: "a permissions policy: managed, inline, or a resource policy (SQS, SNS, ECR, KMS)", Attrs: map[string]Attr{
		"statements":        {"the policy's statements (see Statement)", []any{}},
		"attached_to_users": {"users the policy is attached to directly", []any{}},
		"resource_policy":   {"a policy on a resource (principals matter), not an identity's", false},
	}},
	"iam_binding": {Doc: "a grant of one role to members at a level of the resource hierarchy: a GCP project, folder or organization IAM binding or member", Attrs: map[string]Attr{
		"level":       {"where the grant applies: project, folder or organization", ""},
		"role":        {"the role granted", ""},
		"members":     {"who gets it, as written (user:, group:, serviceAccount:, domain:)", []any{}},
		"conditional": {"the grant has a condition", false},
	}},
	"iam_role": {Doc: "a role that principals assume", Attrs: map[string]Attr{
		"trust_statements": {"statements of the trust (assume role) policy", []any{}},
	}},
	"password_policy": {Doc: "an account's password policy for console users", Attrs: map[string]Attr{
		"exists":            {"a password policy is set (else the provider default applies)", false},
		"min_length":        {"minimum password length", int64(0)},
		"require_symbols":   {"passwords need a symbol", false},
		"require_numbers":   {"passwords need a digit", false},
		"require_uppercase": {"passwords need an upper-case letter", false},
		"require_lowercase": {"passwords need a lower-case letter", false},
		"reuse_prevention":  {"how many previous passwords cannot be reused", int64(0)},
		"max_age_days":      {"days before a password expires, 0 for never", int64(0)},
	}},
	"account": {Doc: "a cloud account's identity settings (live only)", Attrs: map[string]Attr{
		"root_access_keys": {"the root user has active access keys", false},
		"root_mfa":         {"the root user has MFA", true},
		"users":            {"IAM users: name, console (has a password), mfa, access_key_ages (days), admin (has an admin policy attached directly)", []any{}},
		"cloudtrail":       {"a multi-region CloudTrail trail is logging the account's activity", true},
	}},
	"volume": {Doc: "a block storage volume: an EBS volume, a GCE disk, an Azure managed disk", Attrs: map[string]Attr{
		"encrypted":     {"the volume is encrypted at rest", false},
		"kms_key":       {"customer-managed key, empty for provider-managed keys", ""},
		"key_in_config": {"the key material itself is written in the configuration (a customer-supplied raw key)", false},
	}},
	"instance": {Doc: "a virtual machine or the template it starts from", Attrs: map[string]Attr{
		"shared_network":          {"it is attached to the provider's network shared by all its customers (NIFCLOUD common private network)", false},
		"firewalled":              {"a security group filters its traffic", true},
		"detailed_monitoring":     {"metrics are collected every minute (EC2 detailed monitoring); true where the provider has no such switch", true},
		"volumes_encrypted":       {"every root and data volume it defines is encrypted", false},
		"host_encryption":         {"the host encrypts the machine's temporary disk and disk caches too (Azure encryption at host); true where the provider has no such layer", true},
		"imds_v2_required":        {"the metadata service requires session tokens (IMDSv2)", false},
		"public_ip":               {"it gets a public IP address", false},
		"user_data":               {"the startup script, decoded", ""},
		"serial_port":             {"the interactive serial console accepts connections", false},
		"ip_forwarding":           {"it may send and receive packets not addressed to it", false},
		"os_login_disabled":       {"OS Login is turned off for it, so SSH keys in metadata grant access", false},
		"project_ssh_keys":        {"SSH keys of the project's metadata let their owners in (not blocked, no OS Login on the instance)", false},
		"secure_boot":             {"it boots with secure boot (a shielded VM)", true},
		"measured_boot":           {"its boot is measured into a virtual TPM and the measurements are monitored (a shielded VM's vTPM and integrity monitoring)", true},
		"default_service_account": {"it runs as the project's default compute service account", false},
		"password_auth":           {"SSH accepts passwords, not only keys (Azure Linux machines)", false},
	}},
	"project": {Doc: "a project's or account's own settings that apply to every machine in it: GCP project metadata", Attrs: map[string]Attr{
		"default_network": {"the project was created with the auto-mode default network and its permissive firewall rules", false},
		"os_login":        {"OS Login governs SSH access to the project's machines", true},
	}},
	"database": {Doc: "a managed database: RDS instance or cluster, Cloud SQL, Azure SQL, PostgreSQL or MySQL server, DocumentDB, Neptune", Attrs: map[string]Attr{
		"shared_network":        {"it is attached to the provider's network shared by all its customers (NIFCLOUD common private network)", false},
		"engine":                {"the database engine", ""},
		"publicly_accessible":   {"it has a public endpoint", false},
		"public_cidrs":          {"networks allowed to reach the public endpoint", []any{}},
		"encrypted":             {"storage is encrypted at rest", false},
		"kms_key":               {"customer-managed key, empty for provider-managed keys", ""},
		"backup_retention":      {"days automated backups are kept, 0 for none", int64(0)},
		"ssl_required":          {"clients must use TLS", true},
		"audit_logging":         {"audit or query logs are exported", true},
		"iam_auth":              {"IAM database authentication is on (RDS and Aurora MySQL, MariaDB and PostgreSQL); true where the engine has none or a cluster decides", true},
		"deletion_protection":   {"the database cannot be deleted until protection is turned off (RDS and Aurora); true where a cluster decides", true},
		"threat_detection":      {"the provider's threat detection watches the server (Azure MySQL and PostgreSQL threat_detection_policy); true where it is configured elsewhere", true},
		"double_encryption":     {"data is encrypted a second time at the infrastructure layer (Azure MySQL and PostgreSQL infrastructure encryption); true where the provider has no such option", true},
		"performance_insights":  {"Performance Insights records the database's load and queries (RDS and Aurora)", true},
		"in_vpc":                {"it runs in a VPC subnet group, not on the retired EC2-Classic network (Redshift)", true},
		"local_infile":          {"clients may make the server read files from their machine (MySQL local_infile)", false},
		"cross_db_chaining":     {"ownership chains cross databases (SQL Server cross db ownership chaining)", false},
		"contained_db_auth":     {"databases authenticate their own users (SQL Server contained database authentication)", false},
		"multi_az":              {"a standby in another availability zone takes over on failure (RDS Multi-AZ); true where a cluster or the provider decides", true},
		"enhanced_monitoring":   {"operating-system metrics are collected (RDS enhanced monitoring); true where the provider has none", true},
		"auto_minor_upgrade":    {"minor engine versions, which carry security fixes, are applied automatically", true},
		"password_in_config":    {"the administrator password is written in the configuration (a literal or a variable's default)", false},
		"geo_backup":            {"backups are copied to a paired region (Azure MySQL and PostgreSQL); true where the provider decides elsewhere", true},
		"directory_admin":       {"a directory (Entra ID) administrator is set, so logins can be managed centrally (Azure SQL)", true},
		"connection_throttling": {"repeated failed logins from one address are throttled (Azure PostgreSQL connection_throttling)", true},
	}},
	"trail": {Doc: "an audit log trail: CloudTrail", Attrs: map[string]Attr{
		"logging":        {"the trail is recording", true},
		"multi_region":   {"it records every region", false},
		"log_validation": {"log file integrity validation is on", false},
		"kms_key":        {"key that encrypts the log files, empty for none", ""},
		"cloudwatch":     {"it delivers to CloudWatch Logs", false},
	}},
	"key": {Doc: "an encryption key: AWS KMS, Cloud KMS, Key Vault key", Attrs: map[string]Attr{
		"customer_managed": {"a symmetric key the customer manages (rotation applies)", true},
		"rotation":         {"automatic rotation is on", false},
		"expires":          {"the key has an expiry date (Key Vault); true where the provider has none", true},
		"hsm":              {"the key lives in a hardware security module (Key Vault RSA-HSM, EC-HSM); true where the provider decides elsewhere", true},
	}},
	"k8s_cluster": {Doc: "a managed Kubernetes control plane: EKS, GKE, AKS", Attrs: map[string]Attr{
		"public_endpoint":       {"the API server has a public endpoint", true},
		"public_cidrs":          {"networks allowed to reach the public endpoint", []any{"0.0.0.0/0"}},
		"secrets_encrypted":     {"Secrets are encrypted with a customer-managed key", false},
		"control_plane_logging": {"control-plane log types sent to the provider's logging", []any{}},
		"network_policy":        {"NetworkPolicies are enforced (GKE network policy or Dataplane V2, an AKS network policy engine); true where the provider leaves it to an add-on", true},
		"private_nodes":         {"nodes get no public IP addresses", true},
		"rbac":                  {"requests are authorized by Kubernetes RBAC (not GKE's legacy ABAC, not an AKS cluster with RBAC off)", true},
		"legacy_credentials":    {"static credentials are issued: GKE basic authentication or client certificates", false},
		"monitoring":            {"the provider's Kubernetes-aware monitoring is on", true},
		"shielded_nodes":        {"nodes boot with verified (shielded) images", true},
		"admission_policy":      {"a managed policy add-on enforces admission policies (AKS Azure Policy); true where the provider has none", true},
		"dashboard":             {"the Kubernetes dashboard add-on runs", false},
		"binary_authorization":  {"only images that pass the project's Binary Authorization policy are admitted; true where the provider has no such switch", true},
		"labelled":              {"the cluster carries resource labels, so its owner and purpose can be traced (GKE)", true},
		"vpc_native":            {"pods get addresses from the VPC (alias IP ranges), so VPC firewall rules and flow logs see them (GKE)", true},
		"group_rbac":            {"RBAC can name directory groups, not only users (GKE Google Groups for RBAC)", true},
		"release_channel":       {"the cluster follows a release channel, so it gets patch versions automatically; true where the provider has no channels", true},
	}},
	"k8s_node_pool": {Doc: "the nodes of a managed Kubernetes cluster: a GKE node pool, a cluster's default node_config or its auto-provisioning defaults", Attrs: map[string]Attr{
		"auto_upgrade":              {"nodes are upgraded automatically", true},
		"auto_repair":               {"unhealthy nodes are repaired automatically", true},
		"default_service_account":   {"nodes run as the project's default compute service account (none named)", false},
		"image_type":                {"node image, empty for the provider default", ""},
		"legacy_metadata_endpoints": {"the metadata server's legacy (v0.1, v1beta1) endpoints answer pods", false},
		"metadata_exposed":          {"pods reach the node's metadata server, and with it the node's credentials (GKE without the GKE metadata server)", false},
		"secure_boot":               {"nodes boot with secure boot", true},
	}},
	"function": {Doc: "a serverless function or a container task definition: Lambda, ECS, Cloud Functions, Azure Functions", Attrs: map[string]Attr{
		"in_vpc":            {"it runs attached to a VPC, so VPC controls apply to its traffic (Lambda)", true},
		"dead_letter":       {"failed asynchronous invocations go to a dead-letter queue or failure destination (Lambda); true where the service has none", true},
		"concurrency_limit": {"the function has reserved concurrency, so it cannot take every execution slot of the account (Lambda); true where the service has no such pool", true},
		"env":               {"environment variables, name to value", map[string]any{}},
		"tracing":           {"requests are traced end to end (X-Ray active tracing); true where the service has no tracing", true},
	}},
	"vpc": {Doc: "a virtual network", Attrs: map[string]Attr{
		"private_google_access": {"machines without public addresses reach Google APIs privately (GCP subnetworks); true where the provider has no such switch", true},
		"flow_logs":             {"flow logs record its traffic", false},
		"is_default":            {"the region's default VPC", false},
	}},
	"subnet": {Doc: "a subnet of a virtual network", Attrs: map[string]Attr{
		"public_ip_on_launch": {"instances get public IP addresses by default", false},
	}},
	"store": {Doc: "a managed service that keeps data: queue, topic, stream, table, cache, search domain, file system, log group, secret, container registry, analytics workgroup, build project, virtual desktop, API cache", Attrs: map[string]Attr{
		"shared_network":       {"it is attached to the provider's network shared by all its customers (NIFCLOUD common private network)", false},
		"in_vpc":               {"it runs inside a VPC, not on a public service endpoint (OpenSearch domains); true where the service has no choice", true},
		"service":              {"the service: sqs, sns, kinesis, dynamodb, dax, elasticache, elasticsearch, efs, logs, secretsmanager, ecr, athena, codebuild, workspaces, emr, msk, mq, apigateway", ""},
		"encrypted":            {"data is encrypted at rest", true},
		"kms_key":              {"customer-managed key, empty for provider-managed keys, \"-\" where the service offers no choice of key", ""},
		"in_transit":           {"connections to and within the service are encrypted", true},
		"logging":              {"the service's audit or access logs are kept", true},
		"public":               {"reachable from the internet without authentication", false},
		"image_scanning":       {"images are scanned for vulnerabilities when pushed (container registries)", true},
		"immutable_tags":       {"a tag, once pushed, cannot be moved to another image (container registries)", true},
		"backups":              {"automatic backups or point-in-time recovery keep the data restorable (ElastiCache Redis snapshots, DynamoDB point-in-time recovery); true where the service has none to turn on", true},
		"purge_protection":     {"deleted items cannot be purged before their retention ends (Key Vault purge protection); true where the service has no such switch", true},
		"soft_delete_days":     {"days deleted items stay recoverable (Key Vault soft delete, 7 to 90); 90 where the service has no such setting", int64(90)},
		"network_default_deny": {"requests from networks no rule names are refused (Key Vault network_acls default_action Deny); true where the service has no such firewall", true},
	}},
	"endpoint": {Doc: "a public entry point for HTTP traffic: API stage, CDN distribution, load balancer listener, web app", Attrs: map[string]Attr{
		"shared_network":         {"it is attached to the provider's network shared by all its customers (NIFCLOUD common private network)", false},
		"https_only":             {"plain HTTP is refused or redirected", true},
		"min_tls_version":        {"lowest TLS version accepted (\"1.0\", \"1.1\", \"1.2\"); empty for the provider default", ""},
		"logging":                {"access logs are kept", true},
		"public":                 {"it faces the internet", false},
		"drops_invalid_headers":  {"requests with malformed header fields are dropped before reaching targets (application load balancers)", true},
		"tracing":                {"requests are traced end to end (API Gateway X-Ray tracing); true where the service has no tracing", true},
		"waf":                    {"a web application firewall filters its requests (CDN distributions); true where the association is made elsewhere", true},
		"authentication":         {"the platform authenticates callers before the app sees the request (App Service authentication)", true},
		"managed_identity":       {"the app has a managed identity to reach other services without stored credentials", true},
		"client_certs":           {"callers must present a TLS client certificate", true},
		"http2":                  {"HTTP/2 is offered", true},
		"runtime":                {"the language runtime and version it runs, as \"python 3.8\"; empty when none is named", ""},
		"runtime_end_of_life":    {"the runtime's version no longer gets security fixes from its maintainers", false},
		"detailed_errors":        {"detailed error pages are logged (App Service)", true},
		"failed_request_tracing": {"failed requests are traced to logs (App Service)", true},
	}},
	"container_cluster": {Doc: "a cluster that runs containers outside Kubernetes: an ECS cluster", Attrs: map[string]Attr{
		"insights": {"per-task and per-container metrics are collected (ECS Container Insights)", true},
	}},
	"dns_zone": {Doc: "a public DNS zone: a Cloud DNS managed zone", Attrs: map[string]Attr{
		"dnssec":       {"answers are signed (DNSSEC), so resolvers can detect forged records; true where the zone is private", true},
		"weak_signing": {"a signing key uses RSA/SHA-1", false},
	}},
	"federation": {Doc: "trust in an outside identity provider: a GCP workload identity pool provider", Attrs: map[string]Attr{
		"conditional": {"an attribute condition limits which outside identities may sign in", true},
	}},
	"certificate": {Doc: "an X.509 certificate uploaded to the provider: an IAM server certificate, an imported ACM certificate, a NIFCLOUD SSL certificate", Attrs: map[string]Attr{
		"not_after": {"when it expires, RFC 3339; empty when the configuration does not hold it", ""},
		"expired":   {"it had expired when the scan ran", false},
	}},
	"provider_config": {Doc: "how a tool signs in to a provider: a Terraform provider block", Attrs: map[string]Attr{
		"static_credentials": {"a secret (secret key, client secret, service account key) is written in the configuration", false},
	}},
	"secret": {Doc: "a stored secret value: a Key Vault secret", Attrs: map[string]Attr{
		"expires": {"the secret has an expiry date", true},
		"typed":   {"the secret records what kind of value it holds (Key Vault content_type)", true},
	}},
	"security_contact": {Doc: "who the provider's threat protection alerts: an Azure Security Center contact", Attrs: map[string]Attr{
		"email":               {"address alerts go to", ""},
		"phone":               {"phone number for urgent alerts", ""},
		"alert_notifications": {"high-severity alerts are emailed to the contact", false},
		"alerts_to_admins":    {"alerts are also sent to subscription owners", false},
	}},
	"threat_protection": {Doc: "the provider's threat protection for one kind of resource: a Microsoft Defender for Cloud plan", Attrs: map[string]Attr{
		"resource_type": {"the kind of resource the plan covers", ""},
		"standard":      {"the paid (Standard) plan is on, not the free tier", true},
	}},
	"alert_policy": {Doc: "a database's threat alert settings: an Azure SQL security alert policy", Attrs: map[string]Attr{
		"enabled":         {"the policy is on", true},
		"disabled_alerts": {"alert types turned off", []any{}},
		"emails":          {"addresses alerts go to", []any{}},
		"email_admins":    {"alerts also go to the subscription's administrators", false},
	}},
	"audit_log": {Doc: "where audit records are kept: an Azure Monitor log profile, a SQL auditing policy", Attrs: map[string]Attr{
		"source":         {"what is audited: activity (the subscription's control plane) or database", ""},
		"retention_days": {"days records are kept, 0 for indefinitely", int64(0)},
		"all_regions":    {"records come from every region (AWS Config aggregators); true where the source is global", true},
		"all_operations": {"every category of operation is recorded (Action, Write and Delete)", true},
	}},
	"flow_log": {Doc: "a record of traffic through a network filter: an Azure network watcher flow log", Attrs: map[string]Attr{
		"enabled":        {"traffic is being recorded", true},
		"retention_days": {"days records are kept, 0 for indefinitely", int64(0)},
	}},
	"network_interface": {Doc: "a virtual network card, or a network appliance's attachment: an Azure network interface, a NIFCLOUD router or VPN gateway", Attrs: map[string]Attr{
		"shared_network": {"it is attached to the provider's network shared by all its customers (NIFCLOUD common private network)", false},
		"ip_forwarding":  {"it may send and receive packets not addressed to it", false},
		"firewalled":     {"a network security group filters its traffic, on the card or its subnet", true},
		"public_ip":      {"it has a public IP address", false},
	}},
	"region": {Doc: "a region's account-wide settings", Attrs: map[string]Attr{
		"guardduty":              {"GuardDuty (threat detection) is enabled", false},
		"ebs_default_encryption": {"new EBS volumes are encrypted by default", false},
	}},
}

// IAMAuthEngine reports whether an RDS engine accepts IAM database
// authentication: MySQL, MariaDB, PostgreSQL and their Aurora editions.
func IAMAuthEngine(engine string) bool {
	e := strings.ToLower(engine)
	return strings.Contains(e, "mysql") || strings.Contains(e, "mariadb") || strings.Contains(e, "postgres") || e == "aurora"
}

// New returns a resource of kind with every attribute at its default.
func New(kind, provider, typ, address string) *Resource {
	r := &Resource{Kind: kind, Provider: provider, Type: typ, Address: address, Attrs: map[string]any{}}
	for name, a := range Kinds[kind].Attrs {
		r.Attrs[name] = cloneDefault(a.Default)
	}
	return r
}

func cloneDefault(v any) any {
	switch v := v.(type) {
	case []any:
		return append([]any{}, v...)
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = x
		}
		return m
	}
	return v
}
