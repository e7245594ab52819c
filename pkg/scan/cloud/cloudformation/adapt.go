package cloudformation

import (
	"slices"
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// stack indexes a template's resources for the adapters.
type stack struct {
	path   string
	byType map[string][]*Resource
}

// refers reports whether v names resource id (Ref, or Fn::GetAtt of it).
func refers(v any, id string) bool {
	s, ok := v.(string)
	return ok && (s == id || strings.HasPrefix(s, id+"."))
}

// linked returns the resources of typ whose property prop names id.
func (s *stack) linked(id, typ, prop string) []*Resource {
	var out []*Resource
	for _, r := range s.byType[typ] {
		if refers(r.Properties[prop], id) {
			out = append(out, r)
			continue
		}
		for _, v := range r.Properties.Strs(prop) {
			if refers(v, id) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func (s *stack) resource(kind string, r *Resource) *cloud.Resource {
	c := cloud.New(kind, "aws", r.Type, r.ID)
	c.Path, c.Line, c.Name = s.path, r.Line, r.ID
	c.Locate(r.Lines)
	return c
}

// Adapt maps a template's resources to the normalised model.
func Adapt(path string, t *Template) []*cloud.Resource {
	s := &stack{path: path, byType: map[string][]*Resource{}}
	for _, r := range t.Resources {
		s.byType[r.Type] = append(s.byType[r.Type], r)
	}
	var out []*cloud.Resource
	for _, a := range []func() []*cloud.Resource{s.buckets, s.securityGroups, s.networkACLs, s.policies, s.volumes,
		s.instances, s.databases, s.trails, s.keys, s.clusters, s.functions, s.vpcs, s.detectors, s.stores, s.endpoints,
		s.subnets, s.tasks, s.more} {
		out = append(out, a()...)
	}
	return out
}

var publicCanned = map[string]bool{"PublicRead": true, "PublicReadWrite": true, "AuthenticatedRead": true}

func (s *stack) buckets() []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range s.byType["AWS::S3::Bucket"] {
		p := b.Properties
		r := s.resource("bucket", b)
		if n := p.Str("BucketName", "", ""); n != "" {
			r.Name = n
		}
		r.Attrs["public_acl"] = publicCanned[p.Str("AccessControl", "", "")]
		for _, pol := range s.linked(b.ID, "AWS::S3::BucketPolicy", "Bucket") {
			if cloud.PublicPolicy(pol.Properties["PolicyDocument"]) {
				r.Attrs["public_policy"] = true
			}
		}
		if pab, ok := p["PublicAccessBlockConfiguration"].(map[string]any); ok {
			a := cloud.Attrs(pab)
			r.Attrs["public_access_block"] = true
			r.Attrs["block_public_acls"] = a.Bool("BlockPublicAcls", false, true)
			r.Attrs["ignore_public_acls"] = a.Bool("IgnorePublicAcls", false, true)
			r.Attrs["block_public_policy"] = a.Bool("BlockPublicPolicy", false, true)
			r.Attrs["restrict_public_buckets"] = a.Bool("RestrictPublicBuckets", false, true)
		}
		// Every S3 bucket encrypts new objects with S3-managed keys by default.
		r.Attrs["encrypted"] = true
		for _, rule := range p.Block("BucketEncryption").Blocks("ServerSideEncryptionConfiguration") {
			def := rule.Block("ServerSideEncryptionByDefault")
			if k := def.Str("KMSMasterKeyID", "", "unknown"); k != "" {
				r.Attrs["kms_key"] = k
			} else if strings.HasPrefix(def.Str("SSEAlgorithm", "", ""), "aws:kms") {
				r.Attrs["kms_key"] = "aws/s3"
			}
		}
		r.Attrs["versioning"] = p.Block("VersioningConfiguration").Str("Status", "", "Enabled") == "Enabled"
		r.Attrs["logging"] = p.Has("LoggingConfiguration")
		r.Attrs["replication"] = p.Has("ReplicationConfiguration")
		out = append(out, r)
	}
	return out
}

// statements reads a policy document value.
func statements(doc any) []any {
	if doc == nil {
		return nil
	}
	if _, ok := doc.(cloud.Unknown); ok {
		return nil
	}
	st, err := cloud.ParsePolicy(doc)
	if err != nil {
		return nil
	}
	return st
}

// rule reads a security group or network ACL entry.
func rule(direction, action string, a cloud.Attrs) map[string]any {
	proto := protocolName(a.Str("IpProtocol", a.Str("Protocol", "all", "all"), "all"))
	from, to := a.Num("FromPort", -1, 0), a.Num("ToPort", -1, 65535)
	if pr := a.Block("PortRange"); len(pr) > 0 {
		from, to = pr.Num("From", 0, 0), pr.Num("To", 65535, 65535)
	}
	if proto == "all" || from < 0 || to < 0 {
		from, to = 0, 65535
	}
	var peers []string
	for _, k := range []string{"CidrIp", "CidrIpv6", "CidrBlock", "Ipv6CidrBlock"} {
		if v := a.Str(k, "", ""); v != "" {
			peers = append(peers, v)
		}
	}
	return cloud.Rule(direction, action, proto, int(from), int(to), peers, a.Str("Description", "", ""))
}

func protocolName(p string) string {
	switch strings.ToLower(p) {
	case "-1", "all":
		return "all"
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	}
	return strings.ToLower(p)
}

func (s *stack) securityGroups() []*cloud.Resource {
	var out []*cloud.Resource
	for _, g := range s.byType["AWS::EC2::SecurityGroup"] {
		p := g.Properties
		r := s.resource("security_group", g)
		r.Attrs["description"] = p.Str("GroupDescription", "", "unknown")
		var rules []any
		for dir, prop := range map[string]string{"ingress": "SecurityGroupIngress", "egress": "SecurityGroupEgress"} {
			for _, e := range p.Blocks(prop) {
				rules = append(rules, rule(dir, "allow", e))
			}
		}
		for dir, typ := range map[string]string{"ingress": "AWS::EC2::SecurityGroupIngress", "egress": "AWS::EC2::SecurityGroupEgress"} {
			for _, e := range s.linked(g.ID, typ, "GroupId") {
				rules = append(rules, rule(dir, "allow", e.Properties))
			}
		}
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	// Rules on groups the template does not define.
	for dir, typ := range map[string]string{"ingress": "AWS::EC2::SecurityGroupIngress", "egress": "AWS::EC2::SecurityGroupEgress"} {
		for _, e := range s.byType[typ] {
			if s.defines(e.Properties["GroupId"], "AWS::EC2::SecurityGroup") {
				continue
			}
			r := s.resource("security_group", e)
			r.Attrs["rules"] = []any{rule(dir, "allow", e.Properties)}
			out = append(out, r)
		}
	}
	return out
}

// defines reports whether v names a resource of typ in the template.
func (s *stack) defines(v any, typ string) bool {
	for _, r := range s.byType[typ] {
		if refers(v, r.ID) {
			return true
		}
	}
	return false
}

// aclEntry reads an AWS::EC2::NetworkAclEntry.
func aclEntry(p cloud.Attrs) map[string]any {
	dir := "ingress"
	if p.Bool("Egress", false, false) {
		dir = "egress"
	}
	return rule(dir, strings.ToLower(p.Str("RuleAction", "deny", "deny")), p)
}

func (s *stack) networkACLs() []*cloud.Resource {
	var out []*cloud.Resource
	entries := func(acl any) []any {
		var rules []any
		for _, e := range s.byType["AWS::EC2::NetworkAclEntry"] {
			if acl != nil && !refers(e.Properties["NetworkAclId"], acl.(string)) {
				continue
			}
			rules = append(rules, aclEntry(e.Properties))
		}
		return rules
	}
	for _, n := range s.byType["AWS::EC2::NetworkAcl"] {
		r := s.resource("network_acl", n)
		if rules := entries(n.ID); rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	for _, e := range s.byType["AWS::EC2::NetworkAclEntry"] {
		if s.defines(e.Properties["NetworkAclId"], "AWS::EC2::NetworkAcl") {
			continue
		}
		r := s.resource("network_acl", e)
		r.Attrs["rules"] = []any{aclEntry(e.Properties)}
		out = append(out, r)
	}
	return out
}

func (s *stack) policies() []*cloud.Resource {
	var out []*cloud.Resource
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for _, p := range s.byType[typ] {
			r := s.resource("iam_policy", p)
			if st := statements(p.Properties["PolicyDocument"]); st != nil {
				r.Attrs["statements"] = st
			}
			if users := p.Properties.Strs("Users"); len(users) > 0 {
				r.Attrs["attached_to_users"] = cloud.List(users)
			}
			out = append(out, r)
		}
	}
	// Inline policies of users, roles and groups.
	for _, typ := range []string{"AWS::IAM::User", "AWS::IAM::Role", "AWS::IAM::Group"} {
		for _, o := range s.byType[typ] {
			for _, pol := range o.Properties.Blocks("Policies") {
				r := s.resource("iam_policy", o)
				r.Address = o.ID + "/" + pol.Str("PolicyName", "inline", "inline")
				if st := statements(pol["PolicyDocument"]); st != nil {
					r.Attrs["statements"] = st
				}
				if typ == "AWS::IAM::User" {
					r.Attrs["attached_to_users"] = []any{o.ID}
				}
				out = append(out, r)
			}
			if typ == "AWS::IAM::Role" {
				r := s.resource("iam_role", o)
				if st := statements(o.Properties["AssumeRolePolicyDocument"]); st != nil {
					r.Attrs["trust_statements"] = st
				}
				out = append(out, r)
			}
		}
	}
	for typ, prop := range map[string]string{"AWS::SQS::QueuePolicy": "PolicyDocument", "AWS::SNS::TopicPolicy": "PolicyDocument",
		"AWS::ECR::Repository": "RepositoryPolicyText", "AWS::KMS::Key": "KeyPolicy", "AWS::S3::BucketPolicy": "PolicyDocument",
		"AWS::Elasticsearch::Domain": "AccessPolicies", "AWS::OpenSearchService::Domain": "AccessPolicies"} {
		for _, o := range s.byType[typ] {
			st := statements(o.Properties[prop])
			if st == nil {
				continue
			}
			r := s.resource("iam_policy", o)
			r.Attrs["statements"] = st
			r.Attrs["resource_policy"] = true
			out = append(out, r)
		}
	}
	return out
}

func (s *stack) volumes() []*cloud.Resource {
	var out []*cloud.Resource
	for _, v := range s.byType["AWS::EC2::Volume"] {
		r := s.resource("volume", v)
		r.Attrs["encrypted"] = v.Properties.Bool("Encrypted", false, true)
		r.Attrs["kms_key"] = cloud.CustomerKey(v.Properties.Str("KmsKeyId", "", "unknown"))
		out = append(out, r)
	}
	return out
}

// devicesEncrypted reports whether every EBS device mapping is encrypted.
func devicesEncrypted(a cloud.Attrs) bool {
	for _, m := range a.Blocks("BlockDeviceMappings") {
		if ebs := m.Block("Ebs"); len(ebs) > 0 && !ebs.Bool("Encrypted", false, true) {
			return false
		}
	}
	return true
}

func (s *stack) instances() []*cloud.Resource {
	var out []*cloud.Resource
	add := func(res *Resource, a cloud.Attrs, imdsV2 bool) {
		r := s.resource("instance", res)
		r.Attrs["volumes_encrypted"] = devicesEncrypted(a)
		r.Attrs["imds_v2_required"] = imdsV2
		public := a.Bool("AssociatePublicIpAddress", false, false)
		for _, ni := range a.Blocks("NetworkInterfaces") {
			public = public || ni.Bool("AssociatePublicIpAddress", false, false)
		}
		r.Attrs["public_ip"] = public
		r.Attrs["user_data"] = a.Str("UserData", "", "")
		switch res.Type {
		case "AWS::EC2::Instance":
			r.Attrs["detailed_monitoring"] = a.Bool("Monitoring", false, true)
		case "AWS::EC2::LaunchTemplate":
			r.Attrs["detailed_monitoring"] = a.Block("Monitoring").Bool("Enabled", false, true)
		case "AWS::AutoScaling::LaunchConfiguration":
			r.Attrs["detailed_monitoring"] = a.Bool("InstanceMonitoring", true, true)
		}
		out = append(out, r)
	}
	for _, i := range s.byType["AWS::EC2::Instance"] {
		// An instance's metadata options come from its launch template.
		v2 := false
		if lt := i.Properties.Block("LaunchTemplate"); len(lt) > 0 {
			for _, t := range s.byType["AWS::EC2::LaunchTemplate"] {
				if refers(lt["LaunchTemplateId"], t.ID) || refers(lt["LaunchTemplateName"], t.ID) {
					v2 = t.Properties.Block("LaunchTemplateData").Block("MetadataOptions").Str("HttpTokens", "optional", "required") == "required"
				}
			}
		}
		add(i, i.Properties, v2)
	}
	for _, t := range s.byType["AWS::EC2::LaunchTemplate"] {
		d := t.Properties.Block("LaunchTemplateData")
		add(t, d, d.Block("MetadataOptions").Str("HttpTokens", "optional", "required") == "required")
	}
	for _, c := range s.byType["AWS::AutoScaling::LaunchConfiguration"] {
		add(c, c.Properties, c.Properties.Block("MetadataOptions").Str("HttpTokens", "optional", "required") == "required")
	}
	return out
}

func (s *stack) databases() []*cloud.Resource {
	var out []*cloud.Resource
	for _, typ := range []string{"AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DocDB::DBCluster", "AWS::Neptune::DBCluster", "AWS::Redshift::Cluster"} {
		for _, d := range s.byType[typ] {
			p := d.Properties
			r := s.resource("database", d)
			r.Attrs["engine"] = p.Str("Engine", strings.ToLower(strings.Split(typ, "::")[1]), "")
			public := p.Bool("PubliclyAccessible", false, false)
			r.Attrs["publicly_accessible"] = public
			if public {
				r.Attrs["public_cidrs"] = []any{"0.0.0.0/0"}
			}
			encProp := "StorageEncrypted"
			if typ == "AWS::Redshift::Cluster" {
				encProp = "Encrypted"
			}
			// Instances of an Aurora cluster take the cluster's encryption.
			inCluster := typ == "AWS::RDS::DBInstance" && p.Has("DBClusterIdentifier")
			r.Attrs["encrypted"] = p.Bool(encProp, inCluster || p.Str("EngineMode", "", "") == "serverless", true)
			r.Attrs["kms_key"] = cloud.CustomerKey(p.Str("KmsKeyId", "", "unknown"))
			def := int64(1)
			if p.Has("SourceDBInstanceIdentifier") || p.Has("SourceDBClusterIdentifier") {
				def = 7 // a read replica is restored from its source's backups
			}
			r.Attrs["backup_retention"] = p.Num("BackupRetentionPeriod", def, 7)
			if (typ == "AWS::RDS::DBInstance" && !inCluster) || typ == "AWS::RDS::DBCluster" {
				r.Attrs["deletion_protection"] = p.Bool("DeletionProtection", false, true)
				if cloud.IAMAuthEngine(r.Attrs["engine"].(string)) {
					r.Attrs["iam_auth"] = p.Bool("EnableIAMDatabaseAuthentication", false, true)
				}
			}
			exports := p.Strs("EnableCloudwatchLogsExports")
			if typ == "AWS::Neptune::DBCluster" {
				exports = p.Strs("EnableCloudwatchLogsExports")
				if !p.Has("EnableCloudwatchLogsExports") {
					exports = p.Strs("EnableCloudWatchLogsExports")
				}
			}
			r.Attrs["password_in_config"] = p.Str("MasterUserPassword", "", "") != ""
			if typ == "AWS::RDS::DBInstance" || typ == "AWS::RDS::DBCluster" {
				r.Attrs["auto_minor_upgrade"] = p.Bool("AutoMinorVersionUpgrade", true, true)
				if !inCluster {
					r.Attrs["audit_logging"] = len(p.Strs("EnableCloudwatchLogsExports")) > 0 || p.IsUnknown("EnableCloudwatchLogsExports")
				}
			}
			if typ == "AWS::RDS::DBInstance" && !inCluster {
				r.Attrs["multi_az"] = p.Bool("MultiAZ", false, true) || p.Has("SourceDBInstanceIdentifier")
				r.Attrs["enhanced_monitoring"] = p.Num("MonitoringInterval", 0, 60) > 0
			}
			switch typ {
			case "AWS::RDS::DBInstance":
				if !inCluster {
					r.Attrs["performance_insights"] = p.Bool("EnablePerformanceInsights", false, true)
				}
			case "AWS::RDS::DBCluster":
				r.Attrs["performance_insights"] = p.Bool("PerformanceInsightsEnabled", false, true)
			case "AWS::Redshift::Cluster":
				r.Attrs["in_vpc"] = p.Has("ClusterSubnetGroupName")
			}
			switch typ {
			case "AWS::DocDB::DBCluster":
				r.Attrs["audit_logging"] = slices.Contains(exports, "audit") || slices.Contains(exports, "profiler")
			case "AWS::Neptune::DBCluster":
				r.Attrs["audit_logging"] = slices.Contains(exports, "audit")
			}
			out = append(out, r)
		}
	}
	return out
}

func (s *stack) trails() []*cloud.Resource {
	var out []*cloud.Resource
	for _, t := range s.byType["AWS::CloudTrail::Trail"] {
		p := t.Properties
		r := s.resource("trail", t)
		r.Attrs["logging"] = p.Bool("IsLogging", true, true)
		r.Attrs["multi_region"] = p.Bool("IsMultiRegionTrail", false, true)
		r.Attrs["log_validation"] = p.Bool("EnableLogFileValidation", false, true)
		r.Attrs["kms_key"] = p.Str("KMSKeyId", "", "unknown")
		r.Attrs["cloudwatch"] = p.Str("CloudWatchLogsLogGroupArn", "", "unknown") != ""
		out = append(out, r)
	}
	return out
}

func (s *stack) keys() []*cloud.Resource {
	var out []*cloud.Resource
	for _, k := range s.byType["AWS::KMS::Key"] {
		p := k.Properties
		r := s.resource("key", k)
		r.Attrs["customer_managed"] = p.Str("KeySpec", "SYMMETRIC_DEFAULT", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT" &&
			p.Str("KeyUsage", "ENCRYPT_DECRYPT", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
		r.Attrs["rotation"] = p.Bool("EnableKeyRotation", false, true)
		out = append(out, r)
	}
	return out
}

func (s *stack) clusters() []*cloud.Resource {
	var out []*cloud.Resource
	for _, c := range s.byType["AWS::EKS::Cluster"] {
		p := c.Properties
		r := s.resource("k8s_cluster", c)
		vpc := p.Block("ResourcesVpcConfig")
		public := vpc.Bool("EndpointPublicAccess", true, false)
		r.Attrs["public_endpoint"] = public
		cidrs := vpc.Strs("PublicAccessCidrs")
		if !vpc.Has("PublicAccessCidrs") {
			cidrs = []string{"0.0.0.0/0"}
		}
		if !public {
			cidrs = nil
		}
		r.Attrs["public_cidrs"] = cloud.List(cidrs)
		encrypted := false
		for _, ec := range p.Blocks("EncryptionConfig") {
			for _, res := range ec.Strs("Resources") {
				encrypted = encrypted || res == "secrets"
			}
		}
		r.Attrs["secrets_encrypted"] = encrypted
		var logs []string
		for _, t := range p.Block("Logging").Block("ClusterLogging").Blocks("EnabledTypes") {
			logs = append(logs, t.Str("Type", "", ""))
		}
		r.Attrs["control_plane_logging"] = cloud.List(logs)
		out = append(out, r)
	}
	return out
}

func (s *stack) functions() []*cloud.Resource {
	var out []*cloud.Resource
	for _, typ := range []string{"AWS::Lambda::Function", "AWS::Serverless::Function"} {
		for _, f := range s.byType[typ] {
			r := s.resource("function", f)
			env := map[string]any{}
			for k, v := range f.Properties.Block("Environment").Block("Variables") {
				if str, ok := v.(string); ok {
					env[k] = str
				}
			}
			r.Attrs["env"] = env
			vc := f.Properties.Block("VpcConfig")
			r.Attrs["in_vpc"] = len(vc.Strs("SubnetIds")) > 0 || vc.IsUnknown("SubnetIds")
			r.Attrs["concurrency_limit"] = f.Properties.Has("ReservedConcurrentExecutions")
			r.Attrs["dead_letter"] = f.Properties.Block("DeadLetterConfig").Has("TargetArn") || f.Properties.Has("DeadLetterQueue") ||
				len(s.linked(f.ID, "AWS::Lambda::EventInvokeConfig", "FunctionName")) > 0
			if typ == "AWS::Serverless::Function" {
				r.Attrs["tracing"] = strings.EqualFold(f.Properties.Str("Tracing", "PassThrough", "Active"), "Active")
			} else {
				r.Attrs["tracing"] = strings.EqualFold(f.Properties.Block("TracingConfig").Str("Mode", "PassThrough", "Active"), "Active")
			}
			out = append(out, r)
		}
	}
	for typ, prop := range map[string]string{"AWS::StepFunctions::StateMachine": "TracingConfiguration", "AWS::Serverless::StateMachine": "Tracing"} {
		for _, f := range s.byType[typ] {
			r := s.resource("function", f)
			r.Attrs["tracing"] = f.Properties.Block(prop).Bool("Enabled", false, true)
			out = append(out, r)
		}
	}
	return out
}

func (s *stack) vpcs() []*cloud.Resource {
	var out []*cloud.Resource
	for _, v := range s.byType["AWS::EC2::VPC"] {
		r := s.resource("vpc", v)
		r.Attrs["flow_logs"] = len(s.linked(v.ID, "AWS::EC2::FlowLog", "ResourceId")) > 0
		out = append(out, r)
	}
	return out
}

func (s *stack) detectors() []*cloud.Resource {
	var out []*cloud.Resource
	for _, d := range s.byType["AWS::GuardDuty::Detector"] {
		r := s.resource("region", d)
		r.Attrs["guardduty"] = d.Properties.Bool("Enable", true, true)
		delete(r.Attrs, "ebs_default_encryption")
		r.NotAssessed = map[string]string{"ebs_default_encryption": "not declared in this template"}
		out = append(out, r)
	}
	return out
}
