package terraform

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// store starts a "store" resource of a service.
func store(service string, b *Block) *cloud.Resource {
	r := resource("store", "aws", b)
	r.Attrs["service"] = service
	return r
}

// awsStoreMappings maps the data services onto the "store" kind.
var awsStoreMappings = []cloud.Mapping{
	{Types: []string{"aws_sqs_queue"}, Service: "sqs", Set: func(a cloud.Attrs, r *cloud.Resource) {
		k := cloud.CustomerKey(a.Str("kms_master_key_id", "", "unknown"))
		// New queues get SQS-managed encryption unless it is turned off.
		r.Attrs["encrypted"] = a.Has("kms_master_key_id") || a.Bool("sqs_managed_sse_enabled", true, true)
		r.Attrs["kms_key"] = k
	}},
	{Types: []string{"aws_sns_topic"}, Service: "sns", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = a.Has("kms_master_key_id")
		r.Attrs["kms_key"] = cloud.CustomerKey(a.Str("kms_master_key_id", "", "unknown"))
	}},
	{Types: []string{"aws_cloudwatch_log_group"}, Service: "logs", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["kms_key"] = a.Str("kms_key_id", "", "unknown")
	}},
	{Types: []string{"aws_dynamodb_table"}, Service: "dynamodb", Set: func(a cloud.Attrs, r *cloud.Resource) {
		sse := a.Block("server_side_encryption")
		k := ""
		if sse.Bool("enabled", false, true) {
			k = cloud.CustomerKey(sse.Str("kms_key_arn", "", "unknown"))
		}
		r.Attrs["kms_key"] = k
		r.Attrs["backups"] = a.Block("point_in_time_recovery").Bool("enabled", false, true)
	}},
	{Types: []string{"aws_dax_cluster"}, Service: "dax", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = a.Block("server_side_encryption").Bool("enabled", false, true)
		r.Attrs["kms_key"] = "-" // DAX offers no customer-managed key
	}},
	{Types: []string{"aws_ecr_repository"}, Service: "ecr", Set: func(a cloud.Attrs, r *cloud.Resource) {
		ec := a.Block("encryption_configuration")
		k := ""
		if ec.Str("encryption_type", "AES256", "KMS") == "KMS" {
			k = ec.Str("kms_key", "aws/ecr", "unknown")
			if k == "aws/ecr" {
				k = ""
			}
		}
		r.Attrs["kms_key"] = k
		r.Attrs["image_scanning"] = a.Block("image_scanning_configuration").Bool("scan_on_push", false, true)
		r.Attrs["immutable_tags"] = strings.HasPrefix(a.Str("image_tag_mutability", "MUTABLE", "IMMUTABLE"), "IMMUTABLE")
	}},
	{Types: []string{"aws_secretsmanager_secret"}, Service: "secretsmanager", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["kms_key"] = cloud.CustomerKey(a.Str("kms_key_id", "", "unknown"))
	}},
	{Types: []string{"aws_efs_file_system"}, Service: "efs", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = a.Bool("encrypted", false, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(a.Str("kms_key_id", "", "unknown"))
	}},
	{Types: []string{"aws_elasticache_replication_group"}, Service: "elasticache", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = a.Bool("at_rest_encryption_enabled", false, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(a.Str("kms_key_id", "", "unknown"))
		r.Attrs["in_transit"] = a.Bool("transit_encryption_enabled", false, true)
		r.Attrs["backups"] = a.Num("snapshot_retention_limit", 0, 1) > 0
	}},
	{Types: []string{"aws_elasticache_cluster"}, Service: "elasticache", Set: func(a cloud.Attrs, r *cloud.Resource) {
		// Encryption is a replication group setting; a member takes the
		// group's backups, and Memcached keeps no snapshots at all.
		r.Attrs["kms_key"] = "-"
		// cache.t1.micro nodes cannot take snapshots either.
		if !a.Has("replication_group_id") && strings.EqualFold(a.Str("engine", "redis", "redis"), "redis") &&
			a.Str("node_type", "", "") != "cache.t1.micro" {
			r.Attrs["backups"] = a.Num("snapshot_retention_limit", 0, 1) > 0
		}
	}},
	{Types: []string{"aws_elasticsearch_domain", "aws_opensearch_domain"}, Service: "elasticsearch", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["in_vpc"] = len(a.Blocks("vpc_options")) > 0
		r.Attrs["encrypted"] = a.Block("encrypt_at_rest").Bool("enabled", false, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(a.Block("encrypt_at_rest").Str("kms_key_id", "", "unknown"))
		ep := a.Block("domain_endpoint_options")
		policy := ep.Str("tls_security_policy", "Policy-Min-TLS-1-0-2019-07", "Policy-Min-TLS-1-2-2019-07")
		r.Attrs["in_transit"] = a.Block("node_to_node_encryption").Bool("enabled", false, true) &&
			ep.Bool("enforce_https", false, true) && strings.Contains(policy, "TLS-1-2")
		audit := false
		for _, l := range a.Blocks("log_publishing_options") {
			t := l.Str("log_type", "", "AUDIT_LOGS")
			audit = audit || (t == "AUDIT_LOGS" && l.Bool("enabled", true, true))
		}
		r.Attrs["logging"] = audit
	}},
	{Types: []string{"aws_kinesis_stream"}, Service: "kinesis", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = a.Str("encryption_type", "NONE", "KMS") == "KMS"
		r.Attrs["kms_key"] = cloud.CustomerKey(a.Str("kms_key_id", "", "unknown"))
	}},
	{Types: []string{"aws_msk_cluster"}, Service: "msk", Set: func(a cloud.Attrs, r *cloud.Resource) {
		ei := a.Block("encryption_info")
		r.Attrs["kms_key"] = ei.Str("encryption_at_rest_kms_key_arn", "", "unknown")
		tr := ei.Block("encryption_in_transit")
		r.Attrs["in_transit"] = tr.Str("client_broker", "TLS", "TLS") == "TLS" && tr.Bool("in_cluster", true, true)
		bl := a.Block("logging_info").Block("broker_logs")
		r.Attrs["logging"] = bl.Block("cloudwatch_logs").Bool("enabled", false, true) ||
			bl.Block("firehose").Bool("enabled", false, true) || bl.Block("s3").Bool("enabled", false, true)
	}},
	{Types: []string{"aws_mq_broker"}, Service: "mq", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["public"] = a.Bool("publicly_accessible", false, false)
		logs := a.Block("logs")
		r.Attrs["logging"] = logs.Bool("general", false, true) && (logs.Bool("audit", false, true) || strings.EqualFold(a.Str("engine_type", "", ""), "RabbitMQ"))
	}},
	{Types: []string{"aws_athena_workgroup"}, Service: "athena", Set: func(a cloud.Attrs, r *cloud.Resource) {
		c := a.Block("configuration")
		r.Attrs["encrypted"] = len(c.Block("result_configuration").Blocks("encryption_configuration")) > 0 &&
			c.Bool("enforce_workgroup_configuration", true, true)
	}},
	{Types: []string{"aws_athena_database"}, Service: "athena", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = len(a.Blocks("encryption_configuration")) > 0
	}},
	{Types: []string{"aws_codebuild_project"}, Service: "codebuild", Set: func(a cloud.Attrs, r *cloud.Resource) {
		enc := !a.Block("artifacts").Bool("encryption_disabled", false, false)
		for _, s := range a.Blocks("secondary_artifacts") {
			enc = enc && !s.Bool("encryption_disabled", false, false)
		}
		r.Attrs["encrypted"] = enc
		r.Attrs["kms_key"] = a.Str("encryption_key", "", "unknown")
	}},
	{Types: []string{"aws_workspaces_workspace"}, Service: "workspaces", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = a.Bool("root_volume_encryption_enabled", false, true) && a.Bool("user_volume_encryption_enabled", false, true)
		r.Attrs["kms_key"] = a.Str("volume_encryption_key", "", "unknown")
	}},
	{Types: []string{"aws_emr_security_configuration"}, Service: "emr", Set: func(a cloud.Attrs, r *cloud.Resource) {
		var conf struct {
			EncryptionConfiguration struct {
				EnableAtRestEncryption        bool
				EnableInTransitEncryption     bool
				AtRestEncryptionConfiguration struct {
					LocalDiskEncryptionConfiguration map[string]any
				}
			}
		}
		s := a.Str("configuration", "", "")
		if s == "" || json.Unmarshal([]byte(s), &conf) != nil {
			return
		}
		ec := conf.EncryptionConfiguration
		local, _ := ec.AtRestEncryptionConfiguration.LocalDiskEncryptionConfiguration["EncryptionKeyProviderType"].(string)
		r.Attrs["encrypted"] = ec.EnableAtRestEncryption && local != ""
		r.Attrs["in_transit"] = ec.EnableInTransitEncryption
		r.Attrs["kms_key"] = "-"
	}},
	// API caches: a stage's cache, or method settings that cache.
	{Types: []string{"aws_api_gateway_method_settings"}, Service: "apigateway", Set: func(a cloud.Attrs, r *cloud.Resource) {
		st := a.Block("settings")
		r.Attrs["encrypted"] = !st.Bool("caching_enabled", false, false) || st.Bool("cache_data_encrypted", false, true)
		r.Attrs["kms_key"] = "-"
	}},
	// A method without authorization is public, unless an API key guards it.
	{Types: []string{"aws_api_gateway_method"}, Service: "apigateway", Set: func(a cloud.Attrs, r *cloud.Resource) {
		r.Attrs["public"] = strings.EqualFold(a.Str("authorization", "NONE", "AWS_IAM"), "NONE") &&
			!a.Bool("api_key_required", false, true) && !strings.EqualFold(a.Str("http_method", "", ""), "OPTIONS")
		r.Attrs["kms_key"] = "-"
	}},
}

// awsStores maps the data services of AWS to the "store" kind.
func awsStores(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, m := range awsStoreMappings {
		for _, typ := range m.Types {
			for _, b := range g.byType[typ] {
				r := store(m.Service, b)
				m.Set(b.Attrs, r)
				if m.Service == "ecr" && registryScans(g) {
					r.Attrs["image_scanning"] = true
				}
				out = append(out, r)
			}
		}
	}
	return out
}

// registryScans reports whether the account's registry scanning
// configuration scans pushed images, which applies to every repository
// whatever its own setting.
func registryScans(g *graph) bool {
	for _, b := range g.byType["aws_ecr_registry_scanning_configuration"] {
		a := cloud.Attrs(b.Attrs)
		if a.Str("scan_type", "BASIC", "ENHANCED") == "ENHANCED" {
			return true
		}
		for _, rule := range a.Blocks("rule") {
			if rule.Str("scan_frequency", "", "SCAN_ON_PUSH") != "MANUAL" {
				return true
			}
		}
	}
	return false
}

// awsDatabaseLogs reads which managed databases export their audit logs.
func awsDatabaseLogs(g *graph, r *cloud.Resource, b *Block) {
	exports := cloud.Attrs(b.Attrs).Strs("enabled_cloudwatch_logs_exports")
	switch b.Type {
	case "aws_docdb_cluster":
		r.Attrs["audit_logging"] = slices.Contains(exports, "audit") || slices.Contains(exports, "profiler")
	case "aws_neptune_cluster":
		r.Attrs["audit_logging"] = slices.Contains(exports, "audit")
	}
}

func endpoint(b *Block) *cloud.Resource { return resource("endpoint", "aws", b) }

// awsEndpoints maps distributions, API stages and domains, and load
// balancers and their listeners to the "endpoint" kind.
func awsEndpoints(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_cloudfront_distribution"] {
		a := cloud.Attrs(b.Attrs)
		r := endpoint(b)
		https := true
		for _, cb := range append(a.Blocks("default_cache_behavior"), a.Blocks("ordered_cache_behavior")...) {
			https = https && cb.Str("viewer_protocol_policy", "allow-all", "redirect-to-https") != "allow-all"
		}
		r.Attrs["https_only"] = https
		vc := a.Block("viewer_certificate")
		if !vc.Bool("cloudfront_default_certificate", false, true) {
			r.Attrs["min_tls_version"] = cloud.TLSVersion(vc.Str("minimum_protocol_version", "TLSv1", "TLSv1.2_2021"))
		}
		r.Attrs["logging"] = len(a.Blocks("logging_config")) > 0
		r.Attrs["waf"] = a.Str("web_acl_id", "", "unknown") != ""
		out = append(out, r)
	}
	for _, typ := range []string{"aws_api_gateway_stage", "aws_apigatewayv2_stage"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := endpoint(b)
			r.Attrs["logging"] = len(a.Blocks("access_log_settings")) > 0
			if typ == "aws_api_gateway_stage" { // HTTP APIs have no X-Ray tracing
				r.Attrs["tracing"] = a.Bool("xray_tracing_enabled", false, true)
			}
			out = append(out, r)
		}
	}
	for _, typ := range []string{"aws_api_gateway_domain_name", "aws_apigatewayv2_domain_name"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := endpoint(b)
			policy := a.Str("security_policy", "TLS_1_0", "TLS_1_2")
			if c := a.Block("domain_name_configuration"); len(c) > 0 {
				policy = c.Str("security_policy", "TLS_1_2", "TLS_1_2")
			}
			r.Attrs["min_tls_version"] = cloud.TLSVersion(policy)
			out = append(out, r)
		}
	}
	for _, typ := range []string{"aws_lb", "aws_alb", "aws_elb"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := endpoint(b)
			r.Attrs["public"] = !a.Bool("internal", false, true) && a.Str("load_balancer_type", "application", "application") == "application"
			r.Attrs["logging"] = a.Block("access_logs").Bool("enabled", len(a.Blocks("access_logs")) > 0, true)
			if typ != "aws_elb" && a.Str("load_balancer_type", "application", "application") == "application" {
				r.Attrs["drops_invalid_headers"] = a.Bool("drop_invalid_header_fields", false, true)
			}
			out = append(out, r)
		}
	}
	for _, typ := range []string{"aws_lb_listener", "aws_alb_listener"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := endpoint(b)
			proto := strings.ToUpper(a.Str("protocol", "HTTP", "HTTPS"))
			redirect := false
			for _, act := range a.Blocks("default_action") {
				redirect = redirect || act.Str("type", "", "") == "redirect" && strings.EqualFold(act.Block("redirect").Str("protocol", "", "HTTPS"), "HTTPS")
			}
			// Network load balancers pass TCP through; only HTTP listeners matter.
			r.Attrs["https_only"] = proto != "HTTP" || redirect
			if proto == "HTTPS" || proto == "TLS" {
				r.Attrs["min_tls_version"] = cloud.TLSVersion(a.Str("ssl_policy", "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-2021-06"))
			}
			out = append(out, r)
		}
	}
	return out
}

// awsSubnets reports subnets that give instances public addresses.
func awsSubnets(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_subnet"] {
		r := resource("subnet", "aws", b)
		r.Attrs["public_ip_on_launch"] = cloud.Attrs(b.Attrs).Bool("map_public_ip_on_launch", false, false)
		out = append(out, r)
	}
	return out
}

// awsTasks maps ECS task definitions to the "function" kind (their
// containers' environment) and reports EFS volumes mounted without TLS.
func awsTasks(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_ecs_task_definition"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("function", "aws", b)
		env := map[string]any{}
		var defs []map[string]any
		if s := a.Str("container_definitions", "", ""); s != "" && json.Unmarshal([]byte(s), &defs) == nil {
			for _, d := range defs {
				for _, e := range cloud.Attrs(d).Blocks("environment") {
					if n := e.Str("name", "", ""); n != "" {
						env[n] = e.Str("value", "", "")
					}
				}
			}
		}
		r.Attrs["env"] = env
		out = append(out, r)
		for _, v := range a.Blocks("volume") {
			efs := v.Block("efs_volume_configuration")
			if len(efs) == 0 {
				continue
			}
			s := store("efs", b)
			s.Address = b.Address + "/volume/" + v.Str("name", "", "")
			s.Attrs["kms_key"] = "-"
			s.Attrs["in_transit"] = efs.Str("transit_encryption", "DISABLED", "ENABLED") == "ENABLED"
			out = append(out, s)
		}
	}
	return out
}
