package aws

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/redshift"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// registries reads ECR repositories: their key, tag mutability and scan
// on push, which a registry-wide scanning configuration also turns on.
func registries(ctx context.Context, a *account, cfg aws.Config) {
	c := ecr.NewFromConfig(cfg)
	registryScans := false
	sc, scanErr := c.GetRegistryScanningConfiguration(ctx, &ecr.GetRegistryScanningConfigurationInput{})
	if scanErr != nil {
		a.fail(cfg.Region, "ecr:GetRegistryScanningConfiguration", scanErr)
	} else if sc.ScanningConfiguration != nil {
		registryScans = sc.ScanningConfiguration.ScanType == ecrtypes.ScanTypeEnhanced
		for _, r := range sc.ScanningConfiguration.Rules {
			registryScans = registryScans || r.ScanFrequency != ecrtypes.ScanFrequencyManual
		}
	}
	p := ecr.NewDescribeRepositoriesPaginator(c, &ecr.DescribeRepositoriesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "ecr:DescribeRepositories", err)
			return
		}
		for _, repo := range page.Repositories {
			r := cloud.New("store", "aws", "ecr:repository", aws.ToString(repo.RepositoryArn))
			r.Name, r.Region = aws.ToString(repo.RepositoryName), cfg.Region
			r.Attrs["service"] = "ecr"
			k := ""
			if e := repo.EncryptionConfiguration; e != nil && e.EncryptionType != ecrtypes.EncryptionTypeAes256 {
				k = aws.ToString(e.KmsKey)
			}
			r.Attrs["kms_key"] = k
			r.Attrs["immutable_tags"] = strings.HasPrefix(string(repo.ImageTagMutability), "IMMUTABLE")
			onPush := repo.ImageScanningConfiguration != nil && repo.ImageScanningConfiguration.ScanOnPush
			switch {
			case onPush || registryScans:
				r.Attrs["image_scanning"] = true
			case scanErr != nil:
				notAssessed(r, "image_scanning", "ecr:GetRegistryScanningConfiguration", scanErr)
			default:
				r.Attrs["image_scanning"] = false
			}
			a.add(r)
		}
	}
}

// containerClusters reads ECS clusters and their Container Insights setting.
func containerClusters(ctx context.Context, a *account, cfg aws.Config) {
	c := ecs.NewFromConfig(cfg)
	p := ecs.NewListClustersPaginator(c, &ecs.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "ecs:ListClusters", err)
			return
		}
		// DescribeClusters takes at most 100 clusters a call.
		for start := 0; start < len(page.ClusterArns); start += 100 {
			arns := page.ClusterArns[start:min(start+100, len(page.ClusterArns))]
			d, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: arns, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings}})
			if err != nil {
				a.fail(cfg.Region, "ecs:DescribeClusters", err)
				continue
			}
			for _, cl := range d.Clusters {
				r := cloud.New("container_cluster", "aws", "ecs:cluster", aws.ToString(cl.ClusterArn))
				r.Name, r.Region = aws.ToString(cl.ClusterName), cfg.Region
				insights := false
				for _, s := range cl.Settings {
					if s.Name == ecstypes.ClusterSettingNameContainerInsights {
						v := strings.ToLower(aws.ToString(s.Value))
						insights = v == "enabled" || v == "enhanced"
					}
				}
				r.Attrs["insights"] = insights
				a.add(r)
			}
		}
	}
}

// tables reads DynamoDB tables: their key and point-in-time recovery.
func tables(ctx context.Context, a *account, cfg aws.Config) {
	c := dynamodb.NewFromConfig(cfg)
	p := dynamodb.NewListTablesPaginator(c, &dynamodb.ListTablesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "dynamodb:ListTables", err)
			return
		}
		for _, name := range page.TableNames {
			d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				a.fail(cfg.Region, "dynamodb:DescribeTable", err)
				continue
			}
			t := d.Table
			r := cloud.New("store", "aws", "dynamodb:table", aws.ToString(t.TableArn))
			r.Name, r.Region = name, cfg.Region
			r.Attrs["service"] = "dynamodb"
			k := "" // without an SSE description the table uses an AWS owned key
			if s := t.SSEDescription; s != nil && s.SSEType == dynamotypes.SSETypeKms {
				k = cloud.CustomerKey(aws.ToString(s.KMSMasterKeyArn))
			}
			r.Attrs["kms_key"] = k
			b, err := c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(name)})
			switch {
			case err != nil:
				a.fail(cfg.Region, "dynamodb:DescribeContinuousBackups", err)
				notAssessed(r, "backups", "dynamodb:DescribeContinuousBackups", err)
			default:
				pitr := b.ContinuousBackupsDescription != nil && b.ContinuousBackupsDescription.PointInTimeRecoveryDescription != nil &&
					b.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus == dynamotypes.PointInTimeRecoveryStatusEnabled
				r.Attrs["backups"] = pitr
			}
			a.add(r)
		}
	}
}

// loadBalancers reads application and network load balancers (scheme,
// access logs, invalid-header handling) and their listeners (protocol,
// TLS policy, redirects to HTTPS).
func loadBalancers(ctx context.Context, a *account, cfg aws.Config) {
	c := elbv2.NewFromConfig(cfg)
	p := elbv2.NewDescribeLoadBalancersPaginator(c, &elbv2.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "elasticloadbalancing:DescribeLoadBalancers", err)
			return
		}
		for _, lb := range page.LoadBalancers {
			arn := aws.ToString(lb.LoadBalancerArn)
			r := cloud.New("endpoint", "aws", "elbv2:loadbalancer", arn)
			r.Name, r.Region = aws.ToString(lb.LoadBalancerName), cfg.Region
			app := lb.Type == elbtypes.LoadBalancerTypeEnumApplication
			r.Attrs["public"] = lb.Scheme == elbtypes.LoadBalancerSchemeEnumInternetFacing && app
			attrs, err := c.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn})
			if err != nil {
				a.fail(cfg.Region, "elasticloadbalancing:DescribeLoadBalancerAttributes", err)
				notAssessed(r, "logging", "elasticloadbalancing:DescribeLoadBalancerAttributes", err)
				notAssessed(r, "drops_invalid_headers", "elasticloadbalancing:DescribeLoadBalancerAttributes", err)
			} else {
				logs, drops := false, false
				for _, kv := range attrs.Attributes {
					switch aws.ToString(kv.Key) {
					case "access_logs.s3.enabled":
						logs = aws.ToString(kv.Value) == "true"
					case "routing.http.drop_invalid_header_fields.enabled":
						drops = aws.ToString(kv.Value) == "true"
					}
				}
				r.Attrs["logging"] = logs
				if app {
					r.Attrs["drops_invalid_headers"] = drops
				}
			}
			a.add(r)
			listeners(ctx, a, cfg, c, lb)
		}
	}
}

func listeners(ctx context.Context, a *account, cfg aws.Config, c *elbv2.Client, lb elbtypes.LoadBalancer) {
	p := elbv2.NewDescribeListenersPaginator(c, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "elasticloadbalancing:DescribeListeners", err)
			return
		}
		for _, l := range page.Listeners {
			r := cloud.New("endpoint", "aws", "elbv2:listener", aws.ToString(l.ListenerArn))
			r.Name, r.Region = aws.ToString(lb.LoadBalancerName)+":"+strconv.Itoa(int(aws.ToInt32(l.Port))), cfg.Region
			redirect := false
			for _, act := range l.DefaultActions {
				redirect = redirect || act.Type == elbtypes.ActionTypeEnumRedirect && act.RedirectConfig != nil &&
					strings.EqualFold(aws.ToString(act.RedirectConfig.Protocol), "HTTPS")
			}
			r.Attrs["https_only"] = l.Protocol != elbtypes.ProtocolEnumHttp || redirect
			if l.Protocol == elbtypes.ProtocolEnumHttps || l.Protocol == elbtypes.ProtocolEnumTls {
				r.Attrs["min_tls_version"] = cloud.TLSVersion(aws.ToString(l.SslPolicy))
			}
			a.add(r)
		}
	}
}

// caches reads ElastiCache replication groups (encryption at rest and in
// transit, key, snapshots) and the Redis clusters outside any group.
func caches(ctx context.Context, a *account, cfg aws.Config) {
	c := elasticache.NewFromConfig(cfg)
	groups := elasticache.NewDescribeReplicationGroupsPaginator(c, &elasticache.DescribeReplicationGroupsInput{})
	for groups.HasMorePages() {
		page, err := groups.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "elasticache:DescribeReplicationGroups", err)
			break
		}
		for _, g := range page.ReplicationGroups {
			r := cloud.New("store", "aws", "elasticache:replicationgroup", aws.ToString(g.ARN))
			r.Name, r.Region = aws.ToString(g.ReplicationGroupId), cfg.Region
			r.Attrs["service"] = "elasticache"
			r.Attrs["encrypted"] = aws.ToBool(g.AtRestEncryptionEnabled)
			r.Attrs["kms_key"] = cloud.CustomerKey(aws.ToString(g.KmsKeyId))
			r.Attrs["in_transit"] = aws.ToBool(g.TransitEncryptionEnabled)
			r.Attrs["backups"] = aws.ToInt32(g.SnapshotRetentionLimit) > 0
			a.add(r)
		}
	}
	clusters := elasticache.NewDescribeCacheClustersPaginator(c, &elasticache.DescribeCacheClustersInput{})
	for clusters.HasMorePages() {
		page, err := clusters.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "elasticache:DescribeCacheClusters", err)
			return
		}
		for _, cl := range page.CacheClusters {
			// Members of a group were judged with it; Memcached and
			// cache.t1.micro nodes take no snapshots.
			if cl.ReplicationGroupId != nil || !strings.EqualFold(aws.ToString(cl.Engine), "redis") {
				continue
			}
			r := cloud.New("store", "aws", "elasticache:cluster", aws.ToString(cl.ARN))
			r.Name, r.Region = aws.ToString(cl.CacheClusterId), cfg.Region
			r.Attrs["service"] = "elasticache"
			r.Attrs["kms_key"] = "-" // encryption is a replication group setting
			r.Attrs["encrypted"] = aws.ToBool(cl.AtRestEncryptionEnabled)
			r.Attrs["in_transit"] = aws.ToBool(cl.TransitEncryptionEnabled)
			r.Attrs["backups"] = aws.ToInt32(cl.SnapshotRetentionLimit) > 0 || aws.ToString(cl.CacheNodeType) == "cache.t1.micro"
			a.add(r)
		}
	}
}

// warehouses reads Redshift clusters: reachability, encryption, key,
// snapshots, VPC and audit logging.
func warehouses(ctx context.Context, a *account, cfg aws.Config) {
	c := redshift.NewFromConfig(cfg)
	p := redshift.NewDescribeClustersPaginator(c, &redshift.DescribeClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "redshift:DescribeClusters", err)
			return
		}
		for _, cl := range page.Clusters {
			id := aws.ToString(cl.ClusterIdentifier)
			r := cloud.New("database", "aws", "redshift:cluster", aws.ToString(cl.ClusterNamespaceArn))
			if r.Address == "" {
				r.Address = arn(cfg.Region, a.id, "redshift", "cluster:"+id)
			}
			r.Name, r.Region = id, cfg.Region
			r.Attrs["engine"] = "redshift"
			public := aws.ToBool(cl.PubliclyAccessible)
			r.Attrs["publicly_accessible"] = public
			if public {
				r.Attrs["public_cidrs"] = []any{"0.0.0.0/0"}
			}
			r.Attrs["encrypted"] = aws.ToBool(cl.Encrypted)
			r.Attrs["kms_key"] = cloud.CustomerKey(aws.ToString(cl.KmsKeyId))
			r.Attrs["backup_retention"] = int64(aws.ToInt32(cl.AutomatedSnapshotRetentionPeriod))
			r.Attrs["in_vpc"] = aws.ToString(cl.VpcId) != ""
			if ls, err := c.DescribeLoggingStatus(ctx, &redshift.DescribeLoggingStatusInput{ClusterIdentifier: cl.ClusterIdentifier}); err != nil {
				a.fail(cfg.Region, "redshift:DescribeLoggingStatus", err)
				notAssessed(r, "audit_logging", "redshift:DescribeLoggingStatus", err)
			} else {
				r.Attrs["audit_logging"] = aws.ToBool(ls.LoggingEnabled)
			}
			a.add(r)
		}
	}
}
