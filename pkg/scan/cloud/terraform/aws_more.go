package terraform

import (
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// awsContainerClusters maps ECS clusters.
func awsContainerClusters(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_ecs_cluster"] {
		r := resource("container_cluster", "aws", b)
		insights := false
		for _, s := range cloud.Attrs(b.Attrs).Blocks("setting") {
			if s.Str("name", "", "") == "containerInsights" {
				v := strings.ToLower(s.Str("value", "", "enabled"))
				insights = v == "enabled" || v == "enhanced"
			}
		}
		r.Attrs["insights"] = insights
		out = append(out, r)
	}
	return out
}

// awsConfigAggregators maps AWS Config aggregators to "audit_log".
func awsConfigAggregators(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_config_configuration_aggregator"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("audit_log", "aws", b)
		r.Attrs["source"] = "config"
		all := true
		for _, src := range append(a.Blocks("account_aggregation_source"), a.Blocks("organization_aggregation_source")...) {
			all = all && src.Bool("all_regions", false, true)
		}
		r.Attrs["all_regions"] = all
		out = append(out, r)
	}
	return out
}

// awsLambdaPermissions maps each Lambda permission to a resource policy
// of one statement; a source ARN or account is its condition.
func awsLambdaPermissions(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["aws_lambda_permission"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("iam_policy", "aws", b)
		r.Attrs["resource_policy"] = true
		conditional := a.Has("source_arn") || a.Has("source_account") || a.Has("principal_org_id")
		r.Attrs["statements"] = []any{cloud.Statement("Allow", []string{a.Str("action", "lambda:InvokeFunction", "lambda:InvokeFunction")}, nil,
			[]string{a.Str("function_name", "", "")}, []string{a.Str("principal", "", "unknown")}, conditional)}
		out = append(out, r)
	}
	return out
}

// awsClassicGroups maps EC2-Classic security groups of ElastiCache,
// Redshift and RDS. The provider's stand-in description ("Managed by
// Terraform") says nothing of the group, so an absent one reads as empty.
func awsClassicGroups(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, typ := range []string{"aws_elasticache_security_group", "aws_redshift_security_group", "aws_db_security_group"} {
		for _, b := range g.byType[typ] {
			r := resource("security_group", "aws", b)
			r.Attrs["classic"] = true
			r.Attrs["description"] = cloud.Attrs(b.Attrs).Str("description", "", "unknown")
			out = append(out, r)
		}
	}
	return out
}
