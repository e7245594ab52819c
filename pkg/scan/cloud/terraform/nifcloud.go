package terraform

import (
	"strings"
	"time"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// NIFCLOUD's shared networks: the internet-facing one and the private
// one every customer's resources can join.
const (
	nifcloudGlobal  = "net-COMMON_GLOBAL"
	nifcloudPrivate = "net-COMMON_PRIVATE"
)

// nifcloudDescription reads a description; the provider's stand-in
// ("Managed by Terraform") says nothing of the group, so it reads as empty.
func nifcloudDescription(a cloud.Attrs) string {
	d := a.Str("description", "", "unknown")
	if d == "Managed by Terraform" {
		return ""
	}
	return d
}

// nifcloudRule reads a security group rule: type IN or OUT, cidr_ip (or
// a source group), ports and protocol.
func nifcloudRule(a cloud.Attrs) map[string]any {
	dir := "ingress"
	if strings.EqualFold(a.Str("type", "IN", "IN"), "OUT") {
		dir = "egress"
	}
	var peers []string
	if c := a.Str("cidr_ip", "", ""); c != "" {
		peers = []string{c}
	}
	proto := protocol(a.Str("protocol", "TCP", "TCP"))
	from, to := a.Num("from_port", 0, 0), a.Num("to_port", -1, -1)
	if to < 0 {
		to = from
	}
	if proto == "all" || proto == "any" || (from == 0 && to == 0) {
		from, to = 0, allPorts
	}
	return cloud.Rule(dir, "allow", proto, int(from), int(to), peers, a.Str("description", "", "unknown"))
}

// nifcloudGroups maps computing, database and NAS security groups.
func nifcloudGroups(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["nifcloud_security_group"] {
		r := resource("security_group", "nifcloud", b)
		r.Attrs["description"] = nifcloudDescription(b.Attrs)
		var rules []any
		for _, sr := range g.linked(b, "nifcloud_security_group_rule", "security_group_names") {
			rules = append(rules, nifcloudRule(sr.Attrs))
		}
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	// Rules whose groups are defined elsewhere count on their own.
	for _, b := range g.byType["nifcloud_security_group_rule"] {
		if defined(g, b.Attrs["security_group_names"], "nifcloud_security_group") {
			continue
		}
		r := resource("security_group", "nifcloud", b)
		r.Attrs["description"] = "-" // the group's, not the rule's
		r.Attrs["rules"] = []any{nifcloudRule(b.Attrs)}
		out = append(out, r)
	}
	for _, typ := range []string{"nifcloud_db_security_group", "nifcloud_nas_security_group"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := resource("security_group", "nifcloud", b)
			r.Attrs["description"] = nifcloudDescription(a)
			var rules []any
			for _, rule := range a.Blocks("rule") {
				rule["type"] = "IN"
				rule["description"] = "-" // these rules carry none
				rules = append(rules, nifcloudRule(rule))
			}
			if rules != nil {
				r.Attrs["rules"] = rules
			}
			out = append(out, r)
		}
	}
	return out
}

// nifcloudNetworks lists the network ids a resource is attached to.
func nifcloudNetworks(a cloud.Attrs) []string {
	var ids []string
	if id := a.Str("network_id", "", ""); id != "" {
		ids = append(ids, id)
	}
	for _, ni := range a.Blocks("network_interface") {
		if id := ni.Str("network_id", "", ""); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func onNetwork(a cloud.Attrs, id string) bool {
	for _, n := range nifcloudNetworks(a) {
		if n == id {
			return true
		}
	}
	return false
}

// nifcloudMachines maps instances, routers, VPN gateways, databases, NAS
// instances and load balancers.
func nifcloudMachines(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["nifcloud_instance"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("instance", "nifcloud", b)
		r.Attrs["volumes_encrypted"], r.Attrs["imds_v2_required"] = true, true // neither applies
		r.Attrs["firewalled"] = a.Str("security_group", "", "unknown") != ""
		r.Attrs["shared_network"] = onNetwork(a, nifcloudPrivate)
		r.Attrs["public_ip"] = onNetwork(a, nifcloudGlobal)
		r.Attrs["user_data"] = a.Str("user_data", "", "")
		out = append(out, r)
	}
	for _, typ := range []string{"nifcloud_router", "nifcloud_vpn_gateway"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := resource("network_interface", "nifcloud", b)
			r.Attrs["firewalled"] = a.Str("security_group", "", "unknown") != ""
			r.Attrs["shared_network"] = onNetwork(a, nifcloudPrivate)
			out = append(out, r)
		}
	}
	for _, b := range g.byType["nifcloud_db_instance"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("database", "nifcloud", b)
		r.Attrs["engine"] = a.Str("engine", "", "")
		public := a.Bool("publicly_accessible", false, false)
		r.Attrs["publicly_accessible"] = public
		if public {
			r.Attrs["public_cidrs"] = []any{"0.0.0.0/0"}
		}
		r.Attrs["encrypted"] = true // the service offers no switch
		r.Attrs["kms_key"] = "-"
		r.Attrs["backup_retention"] = a.Num("backup_retention_period", 0, 7)
		r.Attrs["shared_network"] = onNetwork(a, nifcloudPrivate)
		out = append(out, r)
	}
	for _, b := range g.byType["nifcloud_nas_instance"] {
		r := resource("store", "nifcloud", b)
		r.Attrs["service"], r.Attrs["kms_key"] = "nas", "-"
		r.Attrs["shared_network"] = onNetwork(b.Attrs, nifcloudPrivate)
		out = append(out, r)
	}
	for _, b := range g.byType["nifcloud_elb"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("endpoint", "nifcloud", b)
		r.Attrs["https_only"] = !strings.EqualFold(a.Str("protocol", "HTTP", "HTTPS"), "HTTP")
		// Without a network interface the ELB takes the global network.
		r.Attrs["public"] = len(a.Blocks("network_interface")) == 0 || onNetwork(a, nifcloudGlobal)
		r.Attrs["shared_network"] = onNetwork(a, nifcloudPrivate)
		out = append(out, r)
	}
	for _, b := range g.byType["nifcloud_load_balancer"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("endpoint", "nifcloud", b)
		r.Attrs["https_only"] = a.Num("load_balancer_port", 443, 443) != 80
		r.Attrs["public"] = true
		out = append(out, r)
	}
	return out
}

// otherCertificates maps certificates uploaded with their body in the
// configuration: IAM server certificates, imported ACM certificates and
// NIFCLOUD SSL certificates.
func otherCertificates(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for typ, attr := range map[string]string{"aws_iam_server_certificate": "certificate_body", "aws_acm_certificate": "certificate_body",
		"nifcloud_ssl_certificate": "certificate"} {
		for _, b := range g.byType[typ] {
			provider, _, _ := strings.Cut(typ, "_")
			r := resource("certificate", provider, b)
			if notAfter, ok := cloud.CertificateExpiry(cloud.Attrs(b.Attrs).Str(attr, "", "")); ok {
				r.Attrs["not_after"] = notAfter.UTC().Format(time.RFC3339)
				r.Attrs["expired"] = time.Now().After(notAfter)
			}
			out = append(out, r)
		}
	}
	return out
}
