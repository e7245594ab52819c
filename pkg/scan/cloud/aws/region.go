package aws

import (
	"context"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// collectRegion reads the regional services of one region, each in its
// own goroutine.
func collectRegion(ctx context.Context, a *account, cfg aws.Config) {
	var wg sync.WaitGroup
	for _, f := range []func(context.Context, *account, aws.Config){network, compute, regionSettings, trails, keys, databases, clusters, functions,
		registries, containerClusters, tables, loadBalancers, queues, topics, secrets, caches, warehouses} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx, a, cfg) }()
	}
	wg.Wait()
}

func rule(direction string, p ec2types.IpPermission) map[string]any {
	proto := strings.ToLower(aws.ToString(p.IpProtocol))
	from, to := int(aws.ToInt32(p.FromPort)), int(aws.ToInt32(p.ToPort))
	if proto == "-1" || proto == "all" {
		proto, from, to = "all", 0, 65535
	}
	var peers []string
	for _, r := range p.IpRanges {
		peers = append(peers, aws.ToString(r.CidrIp))
	}
	for _, r := range p.Ipv6Ranges {
		peers = append(peers, aws.ToString(r.CidrIpv6))
	}
	return cloud.Rule(direction, "allow", proto, from, to, peers, "")
}

// network reads security groups, network ACLs and VPCs with their flow logs.
func network(ctx context.Context, a *account, cfg aws.Config) {
	c := ec2.NewFromConfig(cfg)
	region := cfg.Region
	sgs := ec2.NewDescribeSecurityGroupsPaginator(c, &ec2.DescribeSecurityGroupsInput{})
	for sgs.HasMorePages() {
		page, err := sgs.NextPage(ctx)
		if err != nil {
			a.fail(region, "ec2:DescribeSecurityGroups", err)
			break
		}
		for _, g := range page.SecurityGroups {
			r := cloud.New("security_group", "aws", "ec2:security-group", arn(region, a.id, "ec2", "security-group/"+aws.ToString(g.GroupId)))
			r.Name, r.Region = aws.ToString(g.GroupName), region
			r.Attrs["is_default"] = aws.ToString(g.GroupName) == "default"
			r.Attrs["description"] = aws.ToString(g.Description)
			rules := []any{}
			for _, p := range g.IpPermissions {
				rules = append(rules, rule("ingress", p))
			}
			for _, p := range g.IpPermissionsEgress {
				rules = append(rules, rule("egress", p))
			}
			r.Attrs["rules"] = rules
			a.add(r)
		}
	}
	acls := ec2.NewDescribeNetworkAclsPaginator(c, &ec2.DescribeNetworkAclsInput{})
	for acls.HasMorePages() {
		page, err := acls.NextPage(ctx)
		if err != nil {
			a.fail(region, "ec2:DescribeNetworkAcls", err)
			break
		}
		for _, n := range page.NetworkAcls {
			r := cloud.New("network_acl", "aws", "ec2:network-acl", arn(region, a.id, "ec2", "network-acl/"+aws.ToString(n.NetworkAclId)))
			r.Name, r.Region = aws.ToString(n.NetworkAclId), region
			r.Attrs["is_default"] = aws.ToBool(n.IsDefault)
			rules := []any{}
			for _, e := range n.Entries {
				dir := "ingress"
				if aws.ToBool(e.Egress) {
					dir = "egress"
				}
				proto := map[string]string{"-1": "all", "6": "tcp", "17": "udp", "1": "icmp"}[aws.ToString(e.Protocol)]
				from, to := 0, 65535
				if e.PortRange != nil && proto != "all" {
					from, to = int(aws.ToInt32(e.PortRange.From)), int(aws.ToInt32(e.PortRange.To))
				}
				var peers []string
				if e.CidrBlock != nil {
					peers = append(peers, aws.ToString(e.CidrBlock))
				}
				if e.Ipv6CidrBlock != nil {
					peers = append(peers, aws.ToString(e.Ipv6CidrBlock))
				}
				rules = append(rules, cloud.Rule(dir, string(e.RuleAction), proto, from, to, peers, ""))
			}
			r.Attrs["rules"] = rules
			a.add(r)
		}
	}
	logged := map[string]bool{}
	flowsRead := true
	fl := ec2.NewDescribeFlowLogsPaginator(c, &ec2.DescribeFlowLogsInput{})
	for fl.HasMorePages() {
		page, err := fl.NextPage(ctx)
		if err != nil {
			a.fail(region, "ec2:DescribeFlowLogs", err)
			flowsRead = false
			break
		}
		for _, f := range page.FlowLogs {
			logged[aws.ToString(f.ResourceId)] = true
		}
	}
	vpcs := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{})
	for vpcs.HasMorePages() {
		page, err := vpcs.NextPage(ctx)
		if err != nil {
			a.fail(region, "ec2:DescribeVpcs", err)
			break
		}
		for _, v := range page.Vpcs {
			id := aws.ToString(v.VpcId)
			r := cloud.New("vpc", "aws", "ec2:vpc", arn(region, a.id, "ec2", "vpc/"+id))
			r.Name, r.Region = id, region
			r.Attrs["is_default"] = aws.ToBool(v.IsDefault)
			if flowsRead {
				r.Attrs["flow_logs"] = logged[id]
			} else {
				notAssessed(r, "flow_logs", "ec2:DescribeFlowLogs", nil)
			}
			a.add(r)
		}
	}
}

// compute reads volumes and instances.
func compute(ctx context.Context, a *account, cfg aws.Config) {
	c := ec2.NewFromConfig(cfg)
	region := cfg.Region
	encrypted := map[string]bool{}
	vols := ec2.NewDescribeVolumesPaginator(c, &ec2.DescribeVolumesInput{})
	volsRead := true
	for vols.HasMorePages() {
		page, err := vols.NextPage(ctx)
		if err != nil {
			a.fail(region, "ec2:DescribeVolumes", err)
			volsRead = false
			break
		}
		for _, v := range page.Volumes {
			id := aws.ToString(v.VolumeId)
			encrypted[id] = aws.ToBool(v.Encrypted)
			r := cloud.New("volume", "aws", "ec2:volume", arn(region, a.id, "ec2", "volume/"+id))
			r.Name, r.Region = id, region
			r.Attrs["encrypted"] = aws.ToBool(v.Encrypted)
			k := aws.ToString(v.KmsKeyId)
			if strings.Contains(k, "alias/aws/") {
				k = ""
			}
			r.Attrs["kms_key"] = k
			a.add(r)
		}
	}
	ins := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{})
	for ins.HasMorePages() {
		page, err := ins.NextPage(ctx)
		if err != nil {
			a.fail(region, "ec2:DescribeInstances", err)
			return
		}
		for _, res := range page.Reservations {
			for _, i := range res.Instances {
				if i.State != nil && i.State.Name == ec2types.InstanceStateNameTerminated {
					continue
				}
				id := aws.ToString(i.InstanceId)
				r := cloud.New("instance", "aws", "ec2:instance", arn(region, a.id, "ec2", "instance/"+id))
				r.Name, r.Region = id, region
				all := true
				for _, m := range i.BlockDeviceMappings {
					if m.Ebs != nil && !encrypted[aws.ToString(m.Ebs.VolumeId)] {
						all = false
					}
				}
				if volsRead {
					r.Attrs["volumes_encrypted"] = all
				} else {
					notAssessed(r, "volumes_encrypted", "ec2:DescribeVolumes", nil)
				}
				r.Attrs["imds_v2_required"] = i.MetadataOptions != nil && (i.MetadataOptions.HttpTokens == ec2types.HttpTokensStateRequired ||
					i.MetadataOptions.HttpEndpoint == ec2types.InstanceMetadataEndpointStateDisabled)
				r.Attrs["public_ip"] = aws.ToString(i.PublicIpAddress) != ""
				// User data needs a call per instance; its secrets are left
				// to the image and code scans.
				notAssessed(r, "user_data", "ec2:DescribeInstanceAttribute", nil)
				a.add(r)
			}
		}
	}
}

// regionSettings reads EBS encryption by default and GuardDuty.
func regionSettings(ctx context.Context, a *account, cfg aws.Config) {
	region := cfg.Region
	r := cloud.New("region", "aws", "region", "arn:aws:::"+a.id+":region/"+region)
	r.Name, r.Region = region, region
	if out, err := ec2.NewFromConfig(cfg).GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}); err != nil {
		notAssessed(r, "ebs_default_encryption", "ec2:GetEbsEncryptionByDefault", err)
	} else {
		r.Attrs["ebs_default_encryption"] = aws.ToBool(out.EbsEncryptionByDefault)
	}
	gd := guardduty.NewFromConfig(cfg)
	enabled := false
	p := guardduty.NewListDetectorsPaginator(gd, &guardduty.ListDetectorsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			notAssessed(r, "guardduty", "guardduty:ListDetectors", err)
			break
		}
		for _, id := range page.DetectorIds {
			d, err := gd.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
			if err != nil {
				notAssessed(r, "guardduty", "guardduty:GetDetector", err)
				continue
			}
			enabled = enabled || d.Status == "ENABLED"
		}
	}
	if _, skipped := r.NotAssessed["guardduty"]; !skipped {
		r.Attrs["guardduty"] = enabled
	}
	a.add(r)
}

// trails reads the trails whose home is this region, and their status.
func trails(ctx context.Context, a *account, cfg aws.Config) {
	c := cloudtrail.NewFromConfig(cfg)
	out, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil {
		a.fail(cfg.Region, "cloudtrail:DescribeTrails", err)
		a.mu.Lock()
		a.trailsUnread = err
		a.mu.Unlock()
		return
	}
	for _, t := range out.TrailList {
		r := cloud.New("trail", "aws", "cloudtrail:trail", aws.ToString(t.TrailARN))
		r.Name, r.Region = aws.ToString(t.Name), cfg.Region
		r.Attrs["multi_region"] = aws.ToBool(t.IsMultiRegionTrail)
		r.Attrs["log_validation"] = aws.ToBool(t.LogFileValidationEnabled)
		r.Attrs["kms_key"] = aws.ToString(t.KmsKeyId)
		r.Attrs["cloudwatch"] = aws.ToString(t.CloudWatchLogsLogGroupArn) != ""
		if st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN}); err != nil {
			notAssessed(r, "logging", "cloudtrail:GetTrailStatus", err)
		} else {
			r.Attrs["logging"] = aws.ToBool(st.IsLogging)
		}
		a.add(r)
	}
}

// keys reads customer-managed KMS keys and their rotation.
func keys(ctx context.Context, a *account, cfg aws.Config) {
	c := kms.NewFromConfig(cfg)
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "kms:ListKeys", err)
			return
		}
		for _, k := range page.Keys {
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if err != nil {
				a.fail(cfg.Region, "kms:DescribeKey", err)
				continue
			}
			m := d.KeyMetadata
			if m.KeyManager != kmstypes.KeyManagerTypeCustomer || m.KeyState != kmstypes.KeyStateEnabled {
				continue // AWS-managed keys rotate on their own
			}
			r := cloud.New("key", "aws", "kms:key", aws.ToString(m.Arn))
			r.Name, r.Region = aws.ToString(m.KeyId), cfg.Region
			r.Attrs["customer_managed"] = m.KeySpec == kmstypes.KeySpecSymmetricDefault && m.KeyUsage == kmstypes.KeyUsageTypeEncryptDecrypt
			if rot, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId}); err != nil {
				notAssessed(r, "rotation", "kms:GetKeyRotationStatus", err)
			} else {
				r.Attrs["rotation"] = rot.KeyRotationEnabled
			}
			a.add(r)
		}
	}
}

// databases reads RDS instances.
func databases(ctx context.Context, a *account, cfg aws.Config) {
	p := rds.NewDescribeDBInstancesPaginator(rds.NewFromConfig(cfg), &rds.DescribeDBInstancesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "rds:DescribeDBInstances", err)
			return
		}
		for _, d := range page.DBInstances {
			r := cloud.New("database", "aws", "rds:db", aws.ToString(d.DBInstanceArn))
			r.Name, r.Region = aws.ToString(d.DBInstanceIdentifier), cfg.Region
			r.Attrs["engine"] = aws.ToString(d.Engine)
			public := aws.ToBool(d.PubliclyAccessible)
			r.Attrs["publicly_accessible"] = public
			if public {
				r.Attrs["public_cidrs"] = []any{"0.0.0.0/0"}
			}
			r.Attrs["encrypted"] = aws.ToBool(d.StorageEncrypted)
			k := aws.ToString(d.KmsKeyId)
			if strings.Contains(k, "alias/aws/") {
				k = ""
			}
			r.Attrs["kms_key"] = k
			r.Attrs["backup_retention"] = int64(aws.ToInt32(d.BackupRetentionPeriod))
			r.Attrs["auto_minor_upgrade"] = aws.ToBool(d.AutoMinorVersionUpgrade)
			r.Attrs["performance_insights"] = aws.ToBool(d.PerformanceInsightsEnabled)
			if d.DBClusterIdentifier == nil {
				r.Attrs["audit_logging"] = len(d.EnabledCloudwatchLogsExports) > 0
				r.Attrs["multi_az"] = aws.ToBool(d.MultiAZ) || d.ReadReplicaSourceDBInstanceIdentifier != nil
				r.Attrs["enhanced_monitoring"] = aws.ToInt32(d.MonitoringInterval) > 0
				r.Attrs["deletion_protection"] = aws.ToBool(d.DeletionProtection)
				if cloud.IAMAuthEngine(aws.ToString(d.Engine)) {
					r.Attrs["iam_auth"] = aws.ToBool(d.IAMDatabaseAuthenticationEnabled)
				}
			}
			if d.ReadReplicaSourceDBInstanceIdentifier != nil {
				r.Attrs["backup_retention"] = int64(7) // restored from its source's backups
			}
			a.add(r)
		}
	}
}

// clusters reads EKS clusters.
func clusters(ctx context.Context, a *account, cfg aws.Config) {
	c := eks.NewFromConfig(cfg)
	p := eks.NewListClustersPaginator(c, &eks.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "eks:ListClusters", err)
			return
		}
		for _, name := range page.Clusters {
			d, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
			if err != nil {
				a.fail(cfg.Region, "eks:DescribeCluster", err)
				continue
			}
			cl := d.Cluster
			r := cloud.New("k8s_cluster", "aws", "eks:cluster", aws.ToString(cl.Arn))
			r.Name, r.Region = name, cfg.Region
			public := cl.ResourcesVpcConfig != nil && cl.ResourcesVpcConfig.EndpointPublicAccess
			r.Attrs["public_endpoint"] = public
			cidrs := []any{}
			if public {
				for _, c := range cl.ResourcesVpcConfig.PublicAccessCidrs {
					cidrs = append(cidrs, c)
				}
			}
			r.Attrs["public_cidrs"] = cidrs
			enc := false
			for _, e := range cl.EncryptionConfig {
				for _, res := range e.Resources {
					enc = enc || res == "secrets"
				}
			}
			r.Attrs["secrets_encrypted"] = enc
			logs := []any{}
			if cl.Logging != nil {
				for _, l := range cl.Logging.ClusterLogging {
					if aws.ToBool(l.Enabled) {
						for _, t := range l.Types {
							logs = append(logs, string(t))
						}
					}
				}
			}
			r.Attrs["control_plane_logging"] = logs
			a.add(r)
		}
	}
}

// functions reads Lambda functions' environment variables.
func functions(ctx context.Context, a *account, cfg aws.Config) {
	p := lambda.NewListFunctionsPaginator(lambda.NewFromConfig(cfg), &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "lambda:ListFunctions", err)
			return
		}
		for _, f := range page.Functions {
			r := cloud.New("function", "aws", "lambda:function", aws.ToString(f.FunctionArn))
			r.Name, r.Region = aws.ToString(f.FunctionName), cfg.Region
			env := map[string]any{}
			if f.Environment != nil {
				for k, v := range f.Environment.Variables {
					env[k] = v
				}
			}
			r.Attrs["env"] = env
			r.Attrs["tracing"] = f.TracingConfig != nil && f.TracingConfig.Mode == lambdatypes.TracingModeActive
			r.Attrs["in_vpc"] = f.VpcConfig != nil && len(f.VpcConfig.SubnetIds) > 0
			// Failure destinations and reserved concurrency take a call per
			// function (GetFunctionEventInvokeConfig, GetFunctionConcurrency)
			// that the collector does not make: without a dead-letter queue,
			// and always for concurrency, those checks are not assessed.
			notCollected(r, "concurrency_limit", "reserved concurrency is not collected (lambda:GetFunctionConcurrency)")
			if f.DeadLetterConfig != nil && aws.ToString(f.DeadLetterConfig.TargetArn) != "" {
				r.Attrs["dead_letter"] = true
			} else {
				notCollected(r, "dead_letter", "failure destinations are not collected (lambda:GetFunctionEventInvokeConfig)")
			}
			a.add(r)
		}
	}
}
