package terraform

import (
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// graph indexes a configuration's blocks for the adapters: by type, and
// the references between them (an aws_s3_bucket_versioning's bucket names
// its aws_s3_bucket by address, id, arn or name).
type graph struct {
	byType map[string][]*Block
	// byValue[typ+"."+attr][v] are the blocks of typ whose attr is, or
	// lists, the string v; built on first use.
	byValue map[string]map[string][]*Block
}

func newGraph(cfg *Config) *graph {
	g := &graph{byType: map[string][]*Block{}, byValue: map[string]map[string][]*Block{}}
	for _, b := range cfg.Blocks {
		switch b.Mode {
		case "resource":
			g.byType[b.Type] = append(g.byType[b.Type], b)
		default: // "data." and "provider." keep them apart from resources
			g.byType[b.Mode+"."+b.Type] = append(g.byType[b.Mode+"."+b.Type], b)
		}
	}
	return g
}

// names are the strings by which other blocks refer to t.
func names(t *Block) []string {
	out := []string{t.Address, "arn:vigil:" + t.Address}
	a := cloud.Attrs(t.Attrs)
	for _, n := range []string{"bucket", "name", "id", "arn", "group_name"} {
		if x := a.Str(n, "", ""); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// refers reports whether value v names block t.
func refers(v any, t *Block) bool {
	s, ok := v.(string)
	if !ok || s == "" {
		return false
	}
	for _, n := range names(t) {
		if n == s {
			return true
		}
	}
	return false
}

// linked returns the blocks of typ whose attribute attr names t, each once.
func (g *graph) linked(t *Block, typ, attr string) []*Block {
	key := typ + "." + attr
	idx, ok := g.byValue[key]
	if !ok {
		idx = map[string][]*Block{}
		for _, b := range g.byType[typ] {
			seen := map[string]bool{}
			for _, v := range cloud.Attrs(b.Attrs).Strs(attr) {
				if !seen[v] {
					seen[v] = true
					idx[v] = append(idx[v], b)
				}
			}
		}
		g.byValue[key] = idx
	}
	var out []*Block
	seen := map[*Block]bool{}
	for _, n := range names(t) {
		for _, b := range idx[n] {
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	return out
}

// resource starts a normalised resource for block b.
func resource(kind, provider string, b *Block) *cloud.Resource {
	r := cloud.New(kind, provider, b.Type, b.Address)
	r.Path, r.Line = b.Path, b.Line
	r.Locate(b.Lines)
	r.Name = cloud.Attrs(b.Attrs).Str("name", "", "")
	if r.Name == "" {
		r.Name = b.Name
	}
	return r
}

// Adapt maps a configuration's resources to the normalised model.
func Adapt(cfg *Config) []*cloud.Resource {
	g := newGraph(cfg)
	var out []*cloud.Resource
	for _, a := range adapters {
		out = append(out, a(g)...)
	}
	return out
}

var adapters = []func(*graph) []*cloud.Resource{
	awsBuckets, awsSecurityGroups, awsNetworkACLs, awsPolicies, awsRoles, awsPasswordPolicy, awsVolumes, awsInstances,
	awsDatabases, awsTrails, awsKeys, awsClusters, awsFunctions, awsVPCs, awsRegion, awsStores, awsEndpoints, awsSubnets, awsTasks,
	awsContainerClusters, awsConfigAggregators, awsLambdaPermissions, awsClassicGroups,
	googleBuckets, googleFirewalls, googleDatabases, googleClusters, googleKeys, googleDisks, googleInstances, googleSubnetworks, googleZones,
	azureStorage, azureNSGs, azureDatabases, azureClusters, azureDisks, azureWebApps,
	azureVaults, azureSecurityCenter, azureAlertPolicies, azureAuditLogs, azureNetworkWatch, azureMachines, azureDataLakes,
	nifcloudGroups, nifcloudMachines, otherCertificates, googleDatasets, ociBuckets, alicloudServices, azureGateways, providerConfigs,
	otherBuckets, googleBindings, googleGrants, googleProjects, azureRoles, openstackGroups,
}

// allPorts is the port range of a rule for every port.
const allPorts = 65535

// protocol normalises a rule protocol: "all" for every protocol.
func protocol(p string) string {
	switch strings.ToLower(p) {
	case "-1", "all", "*", "any":
		return "all"
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	}
	return strings.ToLower(p)
}
