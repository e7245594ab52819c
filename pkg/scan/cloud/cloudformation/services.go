package cloudformation

import (
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// cfnStores maps the data services onto the "store" kind.
var cfnStores = []cloud.Mapping{
	{Types: []string{"AWS::SQS::Queue"}, Service: "sqs", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = p.Has("KmsMasterKeyId") || p.Bool("SqsManagedSseEnabled", true, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(p.Str("KmsMasterKeyId", "", "unknown"))
	}},
	{Types: []string{"AWS::SNS::Topic"}, Service: "sns", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = p.Has("KmsMasterKeyId")
		r.Attrs["kms_key"] = cloud.CustomerKey(p.Str("KmsMasterKeyId", "", "unknown"))
	}},
	{Types: []string{"AWS::Logs::LogGroup"}, Service: "logs", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["kms_key"] = p.Str("KmsKeyId", "", "unknown")
	}},
	{Types: []string{"AWS::DynamoDB::Table"}, Service: "dynamodb", Set: func(p cloud.Attrs, r *cloud.Resource) {
		dynamoKey(p, r)
		r.Attrs["backups"] = p.Block("PointInTimeRecoverySpecification").Bool("PointInTimeRecoveryEnabled", false, true)
	}},
	{Types: []string{"AWS::Serverless::SimpleTable"}, Service: "dynamodb", Set: func(p cloud.Attrs, r *cloud.Resource) {
		dynamoKey(p, r)
		r.Attrs["encrypted"] = p.Block("SSESpecification").Bool("SSEEnabled", false, true)
	}},
	{Types: []string{"AWS::DAX::Cluster"}, Service: "dax", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = p.Block("SSESpecification").Bool("SSEEnabled", false, true)
		r.Attrs["kms_key"] = "-"
	}},
	{Types: []string{"AWS::ECR::Repository"}, Service: "ecr", Set: func(p cloud.Attrs, r *cloud.Resource) {
		ec := p.Block("EncryptionConfiguration")
		k := ""
		if ec.Str("EncryptionType", "AES256", "KMS") == "KMS" {
			k = cloud.CustomerKey(ec.Str("KmsKey", "", "unknown"))
		}
		r.Attrs["kms_key"] = k
		r.Attrs["image_scanning"] = p.Block("ImageScanningConfiguration").Bool("ScanOnPush", false, true)
		r.Attrs["immutable_tags"] = strings.HasPrefix(p.Str("ImageTagMutability", "MUTABLE", "IMMUTABLE"), "IMMUTABLE")
	}},
	{Types: []string{"AWS::SecretsManager::Secret"}, Service: "secretsmanager", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["kms_key"] = cloud.CustomerKey(p.Str("KmsKeyId", "", "unknown"))
	}},
	{Types: []string{"AWS::EFS::FileSystem"}, Service: "efs", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = p.Bool("Encrypted", false, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(p.Str("KmsKeyId", "", "unknown"))
	}},
	{Types: []string{"AWS::ElastiCache::ReplicationGroup"}, Service: "elasticache", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = p.Bool("AtRestEncryptionEnabled", false, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(p.Str("KmsKeyId", "", "unknown"))
		r.Attrs["in_transit"] = p.Bool("TransitEncryptionEnabled", false, true)
		r.Attrs["backups"] = p.Num("SnapshotRetentionLimit", 0, 1) > 0
	}},
	{Types: []string{"AWS::ElastiCache::CacheCluster"}, Service: "elasticache", Set: func(p cloud.Attrs, r *cloud.Resource) {
		// Memcached and cache.t1.micro nodes take no snapshots.
		r.Attrs["kms_key"] = "-"
		if strings.EqualFold(p.Str("Engine", "redis", "redis"), "redis") && p.Str("CacheNodeType", "", "") != "cache.t1.micro" {
			r.Attrs["backups"] = p.Num("SnapshotRetentionLimit", 0, 1) > 0
		}
	}},
	{Types: []string{"AWS::Elasticsearch::Domain", "AWS::OpenSearchService::Domain"}, Service: "elasticsearch", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["in_vpc"] = p.Has("VPCOptions")
		at := p.Block("EncryptionAtRestOptions")
		r.Attrs["encrypted"] = at.Bool("Enabled", false, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(at.Str("KmsKeyId", "", "unknown"))
		ep := p.Block("DomainEndpointOptions")
		policy := ep.Str("TLSSecurityPolicy", "Policy-Min-TLS-1-0-2019-07", "Policy-Min-TLS-1-2-2019-07")
		r.Attrs["in_transit"] = p.Block("NodeToNodeEncryptionOptions").Bool("Enabled", false, true) &&
			ep.Bool("EnforceHTTPS", false, true) && strings.Contains(policy, "TLS-1-2")
		r.Attrs["logging"] = p.Block("LogPublishingOptions").Block("AUDIT_LOGS").Bool("Enabled", false, true)
	}},
	{Types: []string{"AWS::Kinesis::Stream"}, Service: "kinesis", Set: func(p cloud.Attrs, r *cloud.Resource) {
		se := p.Block("StreamEncryption")
		r.Attrs["encrypted"] = se.Str("EncryptionType", "NONE", "KMS") == "KMS"
		r.Attrs["kms_key"] = cloud.CustomerKey(se.Str("KeyId", "", "unknown"))
	}},
	{Types: []string{"AWS::MSK::Cluster"}, Service: "msk", Set: func(p cloud.Attrs, r *cloud.Resource) {
		ei := p.Block("EncryptionInfo")
		r.Attrs["kms_key"] = ei.Block("EncryptionAtRest").Str("DataVolumeKMSKeyId", "", "unknown")
		tr := ei.Block("EncryptionInTransit")
		r.Attrs["in_transit"] = tr.Str("ClientBroker", "TLS", "TLS") == "TLS" && tr.Bool("InCluster", true, true)
		bl := p.Block("LoggingInfo").Block("BrokerLogs")
		r.Attrs["logging"] = bl.Block("CloudWatchLogs").Bool("Enabled", false, true) ||
			bl.Block("Firehose").Bool("Enabled", false, true) || bl.Block("S3").Bool("Enabled", false, true)
	}},
	{Types: []string{"AWS::AmazonMQ::Broker"}, Service: "mq", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["public"] = p.Bool("PubliclyAccessible", false, false)
		logs := p.Block("Logs")
		r.Attrs["logging"] = logs.Bool("General", false, true) && (logs.Bool("Audit", false, true) || strings.EqualFold(p.Str("EngineType", "", ""), "RabbitMQ"))
	}},
	{Types: []string{"AWS::Athena::WorkGroup"}, Service: "athena", Set: func(p cloud.Attrs, r *cloud.Resource) {
		c := p.Block("WorkGroupConfiguration")
		r.Attrs["encrypted"] = c.Block("ResultConfiguration").Has("EncryptionConfiguration") &&
			c.Bool("EnforceWorkGroupConfiguration", true, true)
	}},
	{Types: []string{"AWS::CodeBuild::Project"}, Service: "codebuild", Set: func(p cloud.Attrs, r *cloud.Resource) {
		enc := !p.Block("Artifacts").Bool("EncryptionDisabled", false, false)
		for _, a := range p.Blocks("SecondaryArtifacts") {
			enc = enc && !a.Bool("EncryptionDisabled", false, false)
		}
		r.Attrs["encrypted"] = enc
		r.Attrs["kms_key"] = p.Str("EncryptionKey", "", "unknown")
	}},
	{Types: []string{"AWS::WorkSpaces::Workspace"}, Service: "workspaces", Set: func(p cloud.Attrs, r *cloud.Resource) {
		r.Attrs["encrypted"] = p.Bool("RootVolumeEncryptionEnabled", false, true) && p.Bool("UserVolumeEncryptionEnabled", false, true)
		r.Attrs["kms_key"] = p.Str("VolumeEncryptionKey", "", "unknown")
	}},
	{Types: []string{"AWS::ApiGateway::Stage", "AWS::Serverless::Api"}, Service: "apigateway", Set: func(p cloud.Attrs, r *cloud.Resource) {
		enc := true
		for _, m := range p.Blocks("MethodSettings") {
			enc = enc && (!m.Bool("CachingEnabled", false, false) || m.Bool("CacheDataEncrypted", false, true))
		}
		if p.Bool("CacheClusterEnabled", false, false) && len(p.Blocks("MethodSettings")) == 0 {
			enc = false
		}
		r.Attrs["encrypted"] = enc
		r.Attrs["kms_key"] = "-"
	}},
}

// dynamoKey reads the key of a table's server-side encryption: a table is
// always encrypted, with the AWS-owned key unless SSE is enabled.
func dynamoKey(p cloud.Attrs, r *cloud.Resource) {
	sse := p.Block("SSESpecification")
	r.Attrs["kms_key"] = ""
	if sse.Bool("SSEEnabled", false, true) {
		r.Attrs["kms_key"] = cloud.CustomerKey(sse.Str("KMSMasterKeyId", "", "unknown"))
	}
}

// stores maps the data services of a template to the "store" kind.
func (s *stack) stores() []*cloud.Resource {
	var out []*cloud.Resource
	for _, m := range cfnStores {
		for _, typ := range m.Types {
			for _, res := range s.byType[typ] {
				r := s.resource("store", res)
				r.Attrs["service"] = m.Service
				m.Set(res.Properties, r)
				out = append(out, r)
			}
		}
	}
	for _, td := range s.byType["AWS::ECS::TaskDefinition"] {
		for _, v := range td.Properties.Blocks("Volumes") {
			efs := v.Block("EFSVolumeConfiguration")
			if len(efs) == 0 {
				continue
			}
			r := s.resource("store", td)
			r.Address = td.ID + "/volume/" + v.Str("Name", "", "")
			r.Attrs["service"] = "efs"
			r.Attrs["kms_key"] = "-"
			r.Attrs["in_transit"] = efs.Str("TransitEncryption", "DISABLED", "ENABLED") == "ENABLED"
			out = append(out, r)
		}
	}
	return out
}

// endpoints maps distributions, API stages and domains, load balancers
// and listeners to the "endpoint" kind.
func (s *stack) endpoints() []*cloud.Resource {
	var out []*cloud.Resource
	for _, d := range s.byType["AWS::CloudFront::Distribution"] {
		c := d.Properties.Block("DistributionConfig")
		r := s.resource("endpoint", d)
		https := true
		for _, cb := range append(c.Blocks("DefaultCacheBehavior"), c.Blocks("CacheBehaviors")...) {
			https = https && cb.Str("ViewerProtocolPolicy", "allow-all", "redirect-to-https") != "allow-all"
		}
		r.Attrs["https_only"] = https
		vc := c.Block("ViewerCertificate")
		if !vc.Bool("CloudFrontDefaultCertificate", len(vc) == 0, true) {
			r.Attrs["min_tls_version"] = cloud.TLSVersion(vc.Str("MinimumProtocolVersion", "TLSv1", "TLSv1.2_2021"))
		}
		r.Attrs["logging"] = c.Has("Logging")
		r.Attrs["waf"] = c.Str("WebACLId", "", "unknown") != ""
		out = append(out, r)
	}
	for _, typ := range []string{"AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage", "AWS::Serverless::Api", "AWS::Serverless::HttpApi"} {
		for _, st := range s.byType[typ] {
			r := s.resource("endpoint", st)
			// Logs go nowhere without a destination.
			r.Attrs["logging"] = st.Properties.Block("AccessLogSetting").Has("DestinationArn") ||
				st.Properties.Block("AccessLogSettings").Has("DestinationArn")
			if typ == "AWS::ApiGateway::Stage" || typ == "AWS::Serverless::Api" { // HTTP APIs have no X-Ray tracing
				r.Attrs["tracing"] = st.Properties.Bool("TracingEnabled", false, true)
			}
			if dom := st.Properties.Block("Domain"); len(dom) > 0 {
				r.Attrs["min_tls_version"] = cloud.TLSVersion(dom.Str("SecurityPolicy", "TLS_1_0", "TLS_1_2"))
			}
			out = append(out, r)
		}
	}
	for _, typ := range []string{"AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::DomainName"} {
		for _, dn := range s.byType[typ] {
			r := s.resource("endpoint", dn)
			policy := dn.Properties.Str("SecurityPolicy", "TLS_1_0", "TLS_1_2")
			for _, c := range dn.Properties.Blocks("DomainNameConfigurations") {
				policy = c.Str("SecurityPolicy", "TLS_1_2", "TLS_1_2")
			}
			r.Attrs["min_tls_version"] = cloud.TLSVersion(policy)
			out = append(out, r)
		}
	}
	for _, lb := range s.byType["AWS::ElasticLoadBalancingV2::LoadBalancer"] {
		p := lb.Properties
		r := s.resource("endpoint", lb)
		r.Attrs["public"] = p.Str("Scheme", "internet-facing", "internal") == "internet-facing" && p.Str("Type", "application", "application") == "application"
		logs, drops := false, false
		for _, a := range p.Blocks("LoadBalancerAttributes") {
			switch a.Str("Key", "", "") {
			case "access_logs.s3.enabled":
				logs = a.Str("Value", "false", "true") == "true"
			case "routing.http.drop_invalid_header_fields.enabled":
				drops = a.Str("Value", "false", "true") == "true"
			}
		}
		r.Attrs["logging"] = logs
		if p.Str("Type", "application", "application") == "application" {
			r.Attrs["drops_invalid_headers"] = drops
		}
		out = append(out, r)
	}
	for _, l := range s.byType["AWS::ElasticLoadBalancingV2::Listener"] {
		p := l.Properties
		r := s.resource("endpoint", l)
		proto := strings.ToUpper(p.Str("Protocol", "HTTP", "HTTPS"))
		redirect := false
		for _, a := range p.Blocks("DefaultActions") {
			redirect = redirect || a.Str("Type", "", "") == "redirect" && strings.EqualFold(a.Block("RedirectConfig").Str("Protocol", "", "HTTPS"), "HTTPS")
		}
		r.Attrs["https_only"] = proto != "HTTP" || redirect
		if proto == "HTTPS" || proto == "TLS" {
			r.Attrs["min_tls_version"] = cloud.TLSVersion(p.Str("SslPolicy", "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-2021-06"))
		}
		out = append(out, r)
	}
	return out
}

// subnets reports subnets that give instances public addresses.
func (s *stack) subnets() []*cloud.Resource {
	var out []*cloud.Resource
	for _, sn := range s.byType["AWS::EC2::Subnet"] {
		r := s.resource("subnet", sn)
		r.Attrs["public_ip_on_launch"] = sn.Properties.Bool("MapPublicIpOnLaunch", false, false)
		out = append(out, r)
	}
	return out
}

// tasks maps ECS task definitions to the "function" kind.
func (s *stack) tasks() []*cloud.Resource {
	var out []*cloud.Resource
	for _, td := range s.byType["AWS::ECS::TaskDefinition"] {
		r := s.resource("function", td)
		env := map[string]any{}
		for _, c := range td.Properties.Blocks("ContainerDefinitions") {
			for _, e := range c.Blocks("Environment") {
				if n := e.Str("Name", "", ""); n != "" {
					env[n] = e.Str("Value", "", "")
				}
			}
		}
		r.Attrs["env"] = env
		out = append(out, r)
	}
	return out
}
