package cloudformation

import (
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// more maps ECS clusters, Config aggregators, Lambda permissions and
// EC2-Classic security groups.
func (s *stack) more() []*cloud.Resource {
	var out []*cloud.Resource
	for _, c := range s.byType["AWS::ECS::Cluster"] {
		r := s.resource("container_cluster", c)
		insights := false
		for _, set := range c.Properties.Blocks("ClusterSettings") {
			if set.Str("Name", "", "") == "containerInsights" {
				v := strings.ToLower(set.Str("Value", "", "enabled"))
				insights = v == "enabled" || v == "enhanced"
			}
		}
		r.Attrs["insights"] = insights
		out = append(out, r)
	}
	for _, a := range s.byType["AWS::Config::ConfigurationAggregator"] {
		r := s.resource("audit_log", a)
		r.Attrs["source"] = "config"
		p := a.Properties
		all := true
		for _, src := range append(p.Blocks("AccountAggregationSources"), p.Blocks("OrganizationAggregationSource")...) {
			all = all && src.Bool("AllAwsRegions", false, true)
		}
		r.Attrs["all_regions"] = all
		out = append(out, r)
	}
	for _, perm := range s.byType["AWS::Lambda::Permission"] {
		p := perm.Properties
		r := s.resource("iam_policy", perm)
		r.Attrs["resource_policy"] = true
		conditional := p.Has("SourceArn") || p.Has("SourceAccount") || p.Has("PrincipalOrgID")
		r.Attrs["statements"] = []any{cloud.Statement("Allow", []string{p.Str("Action", "lambda:InvokeFunction", "lambda:InvokeFunction")}, nil,
			[]string{p.Str("FunctionName", "", "")}, []string{p.Str("Principal", "", "unknown")}, conditional)}
		out = append(out, r)
	}
	for _, typ := range []string{"AWS::ElastiCache::SecurityGroup", "AWS::Redshift::ClusterSecurityGroup", "AWS::RDS::DBSecurityGroup"} {
		for _, g := range s.byType[typ] {
			r := s.resource("security_group", g)
			r.Attrs["classic"] = true
			r.Attrs["description"] = g.Properties.Str("Description", g.Properties.Str("GroupDescription", "", "unknown"), "unknown")
			out = append(out, r)
		}
	}
	return out
}
