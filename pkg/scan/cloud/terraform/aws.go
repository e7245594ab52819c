package terraform

import (
	"encoding/base64"
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// publicACLs are canned ACLs that grant access to everyone or to every
// authenticated user of the provider.
var publicACLs = map[string]bool{"public-read": true, "public-read-write": true, "authenticated-read": true, "website": true}

// publicGrantees are the S3 groups of everyone and every AWS user.
func publicGrantee(uri string) bool {
	return strings.HasSuffix(uri, "/global/AllUsers") || strings.HasSuffix(uri, "/global/AuthenticatedUsers")
}

func awsBuckets(g *graph) []*cloud.Resource {
	// An account-level public access block applies to every bucket.
	var account cloud.Attrs
	for _, b := range g.byType["aws_s3_account_public_access_block"] {
		account = b.Attrs
	}
	var out []*cloud.Resource
	for _, b := range g.byType["aws_s3_bucket"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("bucket", "aws", b)
		if n := a.Str("bucket", "", ""); n != "" {
			r.Name = n
		}
		acls := []cloud.Attrs{a}
		acls = append(acls, attrsOf(g.linked(b, "aws_s3_bucket_acl", "bucket"))...)
		for _, acl := range acls {
			if publicACLs[acl.Str("acl", "", "")] {
				r.Attrs["public_acl"] = true
			}
			for _, grant := range append(acl.Blocks("grant"), acl.Path("access_control_policy").Blocks("grant")...) {
				uri := grant.Str("uri", "", "")
				if uri == "" {
					uri = grant.Block("grantee").Str("uri", "", "")
				}
				if publicGrantee(uri) {
					r.Attrs["public_acl"] = true
				}
			}
		}
		policies := []any{a["policy"]}
		for _, p := range g.linked(b, "aws_s3_bucket_policy", "policy") {
			policies = append(policies, p.Attrs["policy"])
		}
		for _, p := range g.linked(b, "aws_s3_bucket_policy", "bucket") {
			policies = append(policies, p.Attrs["policy"])
		}
		for _, p := range policies {
			if cloud.PublicPolicy(p) {
				r.Attrs["public_policy"] = true
			}
		}
		pab := account
		for _, p := range g.linked(b, "aws_s3_bucket_public_access_block", "bucket") {
			pab = p.Attrs
		}
		if pab != nil {
			r.Attrs["public_access_block"] = true
			for _, f := range []string{"block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"} {
				r.Attrs[f] = pab.Bool(f, false, true)
			}
		}
		// Since January 2023 every S3 bucket encrypts new objects with
		// S3-managed keys unless told otherwise.
		r.Attrs["encrypted"] = true
		sse := append(a.Blocks("server_side_encryption_configuration"), attrsOf(g.linked(b, "aws_s3_bucket_server_side_encryption_configuration", "bucket"))...)
		for _, s := range sse {
			def := s.Path("rule", "apply_server_side_encryption_by_default")
			if k := def.Str("kms_master_key_id", "", "unknown"); k != "" {
				r.Attrs["kms_key"] = k
			} else if strings.HasPrefix(def.Str("sse_algorithm", "", ""), "aws:kms") {
				r.Attrs["kms_key"] = "aws/s3"
			}
		}
		if a.Block("versioning").Bool("enabled", false, true) {
			r.Attrs["versioning"] = true
		}
		for _, v := range g.linked(b, "aws_s3_bucket_versioning", "bucket") {
			st := cloud.Attrs(v.Attrs).Block("versioning_configuration").Str("status", "", "Enabled")
			r.Attrs["versioning"] = st == "Enabled"
		}
		if len(a.Blocks("logging")) > 0 || len(g.linked(b, "aws_s3_bucket_logging", "bucket")) > 0 {
			r.Attrs["logging"] = true
		}
		r.Attrs["replication"] = len(a.Blocks("replication_configuration")) > 0 ||
			len(g.linked(b, "aws_s3_bucket_replication_configuration", "bucket")) > 0
		out = append(out, r)
	}
	return out
}

func attrsOf(bs []*Block) []cloud.Attrs {
	out := make([]cloud.Attrs, len(bs))
	for i, b := range bs {
		out[i] = b.Attrs
	}
	return out
}

// sgRule reads an AWS rule block (inline, aws_security_group_rule or a
// VPC ingress/egress rule resource).
func sgRule(direction string, a cloud.Attrs) map[string]any {
	proto := protocol(a.Str("protocol", "", a.Str("ip_protocol", "all", "all")))
	from, to := a.Num("from_port", 0, 0), a.Num("to_port", 0, allPorts)
	if proto == "all" || (from == 0 && to == 0 && proto != "icmp") {
		from, to = 0, allPorts
	}
	peers := append(a.Strs("cidr_blocks"), a.Strs("ipv6_cidr_blocks")...)
	peers = append(peers, a.Strs("cidr_block")...)
	peers = append(peers, a.Strs("ipv6_cidr_block")...)
	peers = append(peers, a.Strs("cidr_ipv4")...)
	peers = append(peers, a.Strs("cidr_ipv6")...)
	return cloud.Rule(direction, "allow", proto, int(from), int(to), peers, a.Str("description", "", ""))
}

func awsSecurityGroups(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	groups := append(append([]*Block{}, g.byType["aws_security_group"]...), g.byType["aws_default_security_group"]...)
	for _, b := range groups {
		a := cloud.Attrs(b.Attrs)
		r := resource("security_group", "aws", b)
		r.Attrs["is_default"] = b.Type == "aws_default_security_group"
		r.Attrs["description"] = a.Str("description", "", "unknown")
		var rules []any
		for _, dir := range []string{"ingress", "egress"} {
			for _, rule := range a.Blocks(dir) {
				rules = append(rules, sgRule(dir, rule))
			}
		}
		for _, sr := range g.linked(b, "aws_security_group_rule", "security_group_id") {
			ra := cloud.Attrs(sr.Attrs)
			rules = append(rules, sgRule(ra.Str("type", "ingress", "ingress"), ra))
		}
		for _, dir := range []string{"ingress", "egress"} {
			for _, sr := range g.linked(b, "aws_vpc_security_group_"+dir+"_rule", "security_group_id") {
				rules = append(rules, sgRule(dir, sr.Attrs))
			}
		}
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	// Rules whose group the configuration does not define stand alone.
	for _, sr := range g.byType["aws_security_group_rule"] {
		if defined(g, sr.Attrs["security_group_id"], "aws_security_group", "aws_default_security_group") {
			continue
		}
		ra := cloud.Attrs(sr.Attrs)
		r := resource("security_group", "aws", sr)
		r.Attrs["rules"] = []any{sgRule(ra.Str("type", "ingress", "ingress"), ra)}
		out = append(out, r)
	}
	for _, dir := range []string{"ingress", "egress"} {
		for _, sr := range g.byType["aws_vpc_security_group_"+dir+"_rule"] {
			if defined(g, sr.Attrs["security_group_id"], "aws_security_group", "aws_default_security_group") {
				continue
			}
			r := resource("security_group", "aws", sr)
			r.Attrs["rules"] = []any{sgRule(dir, sr.Attrs)}
			out = append(out, r)
		}
	}
	return out
}

// defined reports whether v names a block of one of types.
func defined(g *graph, v any, types ...string) bool {
	if list, ok := v.([]any); ok { // a list names a defined block if any element does
		for _, x := range list {
			if defined(g, x, types...) {
				return true
			}
		}
		return false
	}
	for _, t := range types {
		for _, b := range g.byType[t] {
			if refers(v, b) {
				return true
			}
		}
	}
	return false
}

func naclRule(direction string, a cloud.Attrs) map[string]any {
	rule := sgRule(direction, a)
	action := strings.ToLower(a.Str("rule_action", a.Str("action", "allow", "deny"), "deny"))
	rule["action"] = action
	return rule
}

// naclEntry reads an aws_network_acl_rule.
func naclEntry(a cloud.Attrs) map[string]any {
	dir := "ingress"
	if a.Bool("egress", false, false) {
		dir = "egress"
	}
	return naclRule(dir, a)
}

func awsNetworkACLs(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range append(append([]*Block{}, g.byType["aws_network_acl"]...), g.byType["aws_default_network_acl"]...) {
		a := cloud.Attrs(b.Attrs)
		r := resource("network_acl", "aws", b)
		r.Attrs["is_default"] = b.Type == "aws_default_network_acl"
		var rules []any
		for _, dir := range []string{"ingress", "egress"} {
			for _, rule := range a.Blocks(dir) {
				rules = append(rules, naclRule(dir, rule))
			}
		}
		for _, nr := range g.linked(b, "aws_network_acl_rule", "network_acl_id") {
			rules = append(rules, naclEntry(nr.Attrs))
		}
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	for _, nr := range g.byType["aws_network_acl_rule"] {
		if defined(g, nr.Attrs["network_acl_id"], "aws_network_acl", "aws_default_network_acl") {
			continue
		}
		r := resource("network_acl", "aws", nr)
		r.Attrs["rules"] = []any{naclEntry(nr.Attrs)}
		out = append(out, r)
	}
	return out
}

// policyDocument returns the statements of a policy attribute: JSON text,
// or a reference to an aws_iam_policy_document data source.
func policyDocument(g *graph, v any) []any {
	if s, ok := v.(string); ok {
		if strings.HasPrefix(strings.TrimSpace(s), "{") {
			st, _ := cloud.ParsePolicy(s)
			return st
		}
		for _, d := range g.byType["data.aws_iam_policy_document"] {
			if strings.HasPrefix(s, d.Address) || strings.HasPrefix(s, "arn:vigil:"+d.Address) {
				return documentStatements(d.Attrs)
			}
		}
	}
	if m, ok := v.(map[string]any); ok {
		st, _ := cloud.ParsePolicy(m)
		return st
	}
	return nil
}

// documentStatements reads an aws_iam_policy_document's statement blocks.
func documentStatements(a cloud.Attrs) []any {
	var out []any
	for _, s := range a.Blocks("statement") {
		var principals []string
		for _, p := range s.Blocks("principals") {
			principals = append(principals, p.Strs("identifiers")...)
		}
		out = append(out, cloud.Statement(s.Str("effect", "Allow", "Allow"), s.Strs("actions"), s.Strs("not_actions"),
			s.Strs("resources"), principals, len(s.Blocks("condition")) > 0))
	}
	return out
}

func awsPolicies(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	userAttached := map[*Block][]any{}
	for _, att := range g.byType["aws_iam_user_policy_attachment"] {
		for _, p := range g.byType["aws_iam_policy"] {
			if refers(att.Attrs["policy_arn"], p) {
				userAttached[p] = append(userAttached[p], cloud.Attrs(att.Attrs).Str("user", "", "unknown"))
			}
		}
	}
	for _, att := range g.byType["aws_iam_policy_attachment"] {
		users := cloud.Attrs(att.Attrs).Strs("users")
		for _, p := range g.byType["aws_iam_policy"] {
			if refers(att.Attrs["policy_arn"], p) {
				for _, u := range users {
					userAttached[p] = append(userAttached[p], u)
				}
			}
		}
	}
	for _, typ := range []string{"aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"} {
		for _, b := range g.byType[typ] {
			r := resource("iam_policy", "aws", b)
			if st := policyDocument(g, b.Attrs["policy"]); st != nil {
				r.Attrs["statements"] = st
			}
			if typ == "aws_iam_user_policy" {
				r.Attrs["attached_to_users"] = []any{cloud.Attrs(b.Attrs).Str("user", "", "unknown")}
			} else if u := userAttached[b]; u != nil {
				r.Attrs["attached_to_users"] = u
			}
			out = append(out, r)
		}
	}
	// Resource policies: principals matter.
	for typ, attr := range map[string]string{"aws_sqs_queue_policy": "policy", "aws_sns_topic_policy": "policy",
		"aws_ecr_repository_policy": "policy", "aws_s3_bucket_policy": "policy", "aws_kms_key": "policy",
		"aws_elasticsearch_domain_policy": "access_policies", "aws_opensearch_domain_policy": "access_policies",
		"aws_sqs_queue": "policy", "aws_lambda_permission": ""} {
		for _, b := range g.byType[typ] {
			if attr == "" {
				continue
			}
			st := policyDocument(g, b.Attrs[attr])
			if st == nil {
				continue
			}
			r := resource("iam_policy", "aws", b)
			r.Attrs["statements"] = st
			r.Attrs["resource_policy"] = true
			out = append(out, r)
		}
	}
	return out
}

func awsRoles(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_iam_role"] {
		r := resource("iam_role", "aws", b)
		if st := policyDocument(g, b.Attrs["assume_role_policy"]); st != nil {
			r.Attrs["trust_statements"] = st
		}
		out = append(out, r)
	}
	return out
}

func awsPasswordPolicy(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_iam_account_password_policy"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("password_policy", "aws", b)
		r.Attrs["exists"] = true
		r.Attrs["min_length"] = a.Num("minimum_password_length", 6, 14)
		r.Attrs["require_symbols"] = a.Bool("require_symbols", false, true)
		r.Attrs["require_numbers"] = a.Bool("require_numbers", false, true)
		r.Attrs["require_uppercase"] = a.Bool("require_uppercase_characters", false, true)
		r.Attrs["require_lowercase"] = a.Bool("require_lowercase_characters", false, true)
		r.Attrs["reuse_prevention"] = a.Num("password_reuse_prevention", 0, 24)
		r.Attrs["max_age_days"] = a.Num("max_password_age", 0, 90)
		out = append(out, r)
	}
	return out
}

func awsVolumes(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	defaultOn := ebsDefaultEncryption(g)
	for _, b := range g.byType["aws_ebs_volume"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("volume", "aws", b)
		r.Attrs["encrypted"] = a.Bool("encrypted", defaultOn, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(a.Str("kms_key_id", "", "unknown"))
		out = append(out, r)
	}
	return out
}

// ebsDefaultEncryption reports whether the configuration turns on EBS
// encryption by default, which new volumes then inherit.
func ebsDefaultEncryption(g *graph) bool {
	for _, b := range g.byType["aws_ebs_encryption_by_default"] {
		if cloud.Attrs(b.Attrs).Bool("enabled", true, true) {
			return true
		}
	}
	return false
}

// devicesEncrypted reports whether every root and data device a block
// defines is encrypted.
func devicesEncrypted(a cloud.Attrs, defaultOn bool) bool {
	for _, name := range []string{"root_block_device", "ebs_block_device"} {
		for _, d := range a.Blocks(name) {
			if !d.Bool("encrypted", defaultOn, true) {
				return false
			}
		}
	}
	for _, m := range a.Blocks("block_device_mappings") {
		for _, d := range m.Blocks("ebs") {
			if !d.Bool("encrypted", defaultOn, true) {
				return false
			}
		}
	}
	return true
}

func awsInstances(g *graph) []*cloud.Resource {
	defaultOn := ebsDefaultEncryption(g)
	var out []*cloud.Resource
	for _, typ := range []string{"aws_instance", "aws_launch_template", "aws_launch_configuration"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := resource("instance", "aws", b)
			r.Attrs["volumes_encrypted"] = devicesEncrypted(a, defaultOn)
			md := a.Block("metadata_options")
			r.Attrs["imds_v2_required"] = md.Str("http_tokens", "optional", "required") == "required" ||
				md.Str("http_endpoint", "enabled", "enabled") == "disabled"
			public := a.Bool("associate_public_ip_address", false, false)
			for _, ni := range a.Blocks("network_interfaces") {
				public = public || ni.Bool("associate_public_ip_address", false, false)
			}
			r.Attrs["public_ip"] = public
			ud := a.Str("user_data", "", "")
			if enc := a.Str("user_data_base64", "", ""); enc != "" || typ == "aws_launch_template" {
				if enc == "" {
					enc = ud
				}
				if raw, err := base64.StdEncoding.DecodeString(enc); err == nil {
					ud = string(raw)
				}
			}
			r.Attrs["user_data"] = ud
			switch typ {
			case "aws_instance":
				r.Attrs["detailed_monitoring"] = a.Bool("monitoring", false, true)
			case "aws_launch_configuration":
				r.Attrs["detailed_monitoring"] = a.Bool("enable_monitoring", true, true)
			case "aws_launch_template":
				r.Attrs["detailed_monitoring"] = a.Block("monitoring").Bool("enabled", false, true)
			}
			out = append(out, r)
		}
	}
	return out
}

func awsDatabases(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, typ := range []string{"aws_db_instance", "aws_rds_cluster", "aws_docdb_cluster", "aws_neptune_cluster", "aws_redshift_cluster"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := resource("database", "aws", b)
			engine := strings.TrimPrefix(strings.TrimSuffix(typ, "_cluster"), "aws_")
			if typ == "aws_rds_cluster" {
				engine = "aurora" // the provider's default engine (Aurora MySQL)
			}
			r.Attrs["engine"] = a.Str("engine", engine, "")
			public := a.Bool("publicly_accessible", false, false)
			r.Attrs["publicly_accessible"] = public
			if public {
				r.Attrs["public_cidrs"] = []any{"0.0.0.0/0"}
			}
			encAttr := "storage_encrypted"
			if typ == "aws_redshift_cluster" {
				encAttr = "encrypted"
			}
			// Aurora clusters of the serverless engine mode are always encrypted.
			r.Attrs["encrypted"] = a.Bool(encAttr, a.Str("engine_mode", "", "") == "serverless", true)
			r.Attrs["kms_key"] = cloud.CustomerKey(a.Str("kms_key_id", "", "unknown"))
			// RDS keeps automated backups for one day unless told otherwise.
			def := int64(1)
			if a.Has("replicate_source_db") {
				def = 7 // a read replica is restored from its source's backups
			}
			r.Attrs["backup_retention"] = a.Num("backup_retention_period", def, 7)
			// Instances of an Aurora cluster take these from the cluster.
			if (typ == "aws_db_instance" && !a.Has("cluster_identifier")) || typ == "aws_rds_cluster" {
				r.Attrs["deletion_protection"] = a.Bool("deletion_protection", false, true)
				if cloud.IAMAuthEngine(r.Attrs["engine"].(string)) {
					r.Attrs["iam_auth"] = a.Bool("iam_database_authentication_enabled", false, true)
				}
			}
			awsDatabaseLogs(g, r, b)
			r.Attrs["password_in_config"] = a.Str("password", a.Str("master_password", "", ""), "") != ""
			standalone := typ == "aws_db_instance" && !a.Has("cluster_identifier")
			if standalone || typ == "aws_rds_cluster" {
				// RDS.9: logs go to CloudWatch Logs only when exported.
				r.Attrs["audit_logging"] = len(a.Strs("enabled_cloudwatch_logs_exports")) > 0 || a.IsUnknown("enabled_cloudwatch_logs_exports")
			}
			if standalone {
				r.Attrs["multi_az"] = a.Bool("multi_az", false, true) || a.Has("replicate_source_db")
				r.Attrs["enhanced_monitoring"] = a.Num("monitoring_interval", 0, 60) > 0
			}
			if typ == "aws_db_instance" || typ == "aws_rds_cluster" {
				r.Attrs["auto_minor_upgrade"] = a.Bool("auto_minor_version_upgrade", true, true)
			}
			switch typ {
			case "aws_db_instance", "aws_rds_cluster":
				r.Attrs["performance_insights"] = a.Bool("performance_insights_enabled", false, true)
			case "aws_redshift_cluster":
				r.Attrs["in_vpc"] = a.Has("cluster_subnet_group_name") || a.IsUnknown("cluster_subnet_group_name")
			}
			out = append(out, r)
		}
	}
	return out
}

func awsTrails(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_cloudtrail"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("trail", "aws", b)
		r.Attrs["logging"] = a.Bool("enable_logging", true, true)
		r.Attrs["multi_region"] = a.Bool("is_multi_region_trail", false, true)
		r.Attrs["log_validation"] = a.Bool("enable_log_file_validation", false, true)
		r.Attrs["kms_key"] = a.Str("kms_key_id", "", "unknown")
		r.Attrs["cloudwatch"] = a.Str("cloud_watch_logs_group_arn", "", "unknown") != ""
		out = append(out, r)
	}
	return out
}

func awsKeys(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_kms_key"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("key", "aws", b)
		spec := a.Str("customer_master_key_spec", "SYMMETRIC_DEFAULT", "SYMMETRIC_DEFAULT")
		usage := a.Str("key_usage", "ENCRYPT_DECRYPT", "ENCRYPT_DECRYPT")
		// Rotation applies to symmetric encryption keys only.
		r.Attrs["customer_managed"] = spec == "SYMMETRIC_DEFAULT" && usage == "ENCRYPT_DECRYPT"
		r.Attrs["rotation"] = a.Bool("enable_key_rotation", false, true)
		out = append(out, r)
	}
	return out
}

func awsClusters(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_eks_cluster"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("k8s_cluster", "aws", b)
		vpc := a.Block("vpc_config")
		public := vpc.Bool("endpoint_public_access", true, false)
		r.Attrs["public_endpoint"] = public
		cidrs := vpc.Strs("public_access_cidrs")
		if vpc.IsUnknown("public_access_cidrs") {
			cidrs = []string{}
		} else if !vpc.Has("public_access_cidrs") {
			cidrs = []string{"0.0.0.0/0"}
		}
		if !public {
			cidrs = []string{}
		}
		r.Attrs["public_cidrs"] = cloud.List(cidrs)
		encrypted := false
		for _, ec := range a.Blocks("encryption_config") {
			secrets := ec.IsUnknown("resources")
			for _, res := range ec.Strs("resources") {
				secrets = secrets || res == "secrets"
			}
			// Envelope encryption needs the KMS key it names.
			encrypted = encrypted || secrets && ec.Block("provider").Str("key_arn", "", "unknown") != ""
		}
		r.Attrs["secrets_encrypted"] = encrypted
		logs := a.Strs("enabled_cluster_log_types")
		if a.IsUnknown("enabled_cluster_log_types") {
			logs = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}
		}
		r.Attrs["control_plane_logging"] = cloud.List(logs)
		out = append(out, r)
	}
	return out
}

func awsFunctions(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_lambda_function"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("function", "aws", b)
		if n := a.Str("function_name", "", ""); n != "" {
			r.Name = n
		}
		env := map[string]any{}
		for k, v := range a.Block("environment").Block("variables") {
			if s, ok := v.(string); ok {
				env[k] = s
			}
		}
		r.Attrs["env"] = env
		r.Attrs["tracing"] = strings.EqualFold(a.Block("tracing_config").Str("mode", "PassThrough", "Active"), "Active")
		r.Attrs["dead_letter"] = a.Block("dead_letter_config").Str("target_arn", "", "unknown") != "" ||
			len(g.linked(b, "aws_lambda_function_event_invoke_config", "function_name")) > 0
		r.Attrs["concurrency_limit"] = a.Num("reserved_concurrent_executions", -1, 1) >= 0
		vc := a.Block("vpc_config")
		r.Attrs["in_vpc"] = len(vc.Strs("subnet_ids")) > 0 || vc.IsUnknown("subnet_ids")
		out = append(out, r)
	}
	for _, b := range g.byType["aws_sfn_state_machine"] {
		r := resource("function", "aws", b)
		r.Attrs["tracing"] = cloud.Attrs(b.Attrs).Block("tracing_configuration").Bool("enabled", false, true)
		out = append(out, r)
	}
	return out
}

func awsVPCs(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range append(append([]*Block{}, g.byType["aws_vpc"]...), g.byType["aws_default_vpc"]...) {
		r := resource("vpc", "aws", b)
		r.Attrs["is_default"] = b.Type == "aws_default_vpc"
		r.Attrs["flow_logs"] = len(g.linked(b, "aws_flow_log", "vpc_id")) > 0
		out = append(out, r)
	}
	return out
}

// awsRegion reports region-wide settings a configuration declares; what
// it does not declare is not assessed from code.
func awsRegion(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	declared := func(b *Block, attr, other string, v bool) {
		r := resource("region", "aws", b)
		r.Attrs[attr] = v
		delete(r.Attrs, other)
		r.NotAssessed = map[string]string{other: "not declared in this configuration"}
		out = append(out, r)
	}
	for _, b := range g.byType["aws_guardduty_detector"] {
		declared(b, "guardduty", "ebs_default_encryption", cloud.Attrs(b.Attrs).Bool("enable", true, true))
	}
	for _, b := range g.byType["aws_ebs_encryption_by_default"] {
		declared(b, "ebs_default_encryption", "guardduty", cloud.Attrs(b.Attrs).Bool("enabled", true, true))
	}
	return out
}
