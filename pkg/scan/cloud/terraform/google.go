package terraform

import (
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// publicMembers are the GCP members that mean anyone.
func publicMember(m string) bool { return m == "allUsers" || m == "allAuthenticatedUsers" }

func googleBuckets(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_storage_bucket"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("bucket", "google", b)
		for _, m := range g.linked(b, "google_storage_bucket_iam_member", "bucket") {
			if publicMember(cloud.Attrs(m.Attrs).Str("member", "", "")) {
				r.Attrs["public_policy"] = true
			}
		}
		for _, m := range g.linked(b, "google_storage_bucket_iam_binding", "bucket") {
			for _, mem := range cloud.Attrs(m.Attrs).Strs("members") {
				if publicMember(mem) {
					r.Attrs["public_policy"] = true
				}
			}
		}
		for _, typ := range []string{"google_storage_bucket_access_control", "google_storage_default_object_access_control", "google_storage_object_access_control"} {
			for _, m := range g.linked(b, typ, "bucket") {
				if publicMember(cloud.Attrs(m.Attrs).Str("entity", "", "")) {
					r.Attrs["public_acl"] = true
				}
			}
		}
		// Cloud Storage always encrypts; a customer key is optional.
		r.Attrs["encrypted"] = true
		r.Attrs["kms_key"] = a.Block("encryption").Str("default_kms_key_name", "", "unknown")
		r.Attrs["versioning"] = a.Block("versioning").Bool("enabled", false, true)
		r.Attrs["logging"] = len(a.Blocks("logging")) > 0
		// bucket_policy_only is the field's name before provider 3.
		r.Attrs["uniform_access"] = a.Bool("uniform_bucket_level_access", a.Bool("bucket_policy_only", false, true), true)
		out = append(out, r)
	}
	return out
}

// gcpPorts reads a firewall's allow or deny entries into rules.
func gcpRules(direction, action string, entries []cloud.Attrs, peers []string) []any {
	var out []any
	for _, e := range entries {
		proto := protocol(e.Str("protocol", "all", "all"))
		ports := e.Strs("ports")
		if len(ports) == 0 || proto == "all" {
			out = append(out, cloud.Rule(direction, action, proto, 0, allPorts, peers, ""))
			continue
		}
		for _, p := range ports {
			from, to := portRange(p)
			out = append(out, cloud.Rule(direction, action, proto, from, to, peers, ""))
		}
	}
	return out
}

// portRange reads "22", "1000-2000" or "*".
func portRange(p string) (int, int) {
	p = strings.TrimSpace(p)
	if p == "*" || p == "" {
		return 0, allPorts
	}
	lo, hi, ok := strings.Cut(p, "-")
	from, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return 0, allPorts
	}
	if !ok {
		return from, from
	}
	to, err := strconv.Atoi(strings.TrimSpace(hi))
	if err != nil {
		return from, allPorts
	}
	return from, to
}

func googleFirewalls(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_compute_firewall"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("security_group", "google", b)
		r.Attrs["description"] = a.Str("description", "", "unknown")
		// The rules GCP pre-populates on an auto-created default network.
		r.Attrs["is_default"] = a.Str("network", "", "") == "default" && strings.HasPrefix(a.Str("name", "", ""), "default-allow-")
		if a.Bool("disabled", false, true) {
			out = append(out, r)
			continue
		}
		dir := "ingress"
		peers := a.Strs("source_ranges")
		if strings.EqualFold(a.Str("direction", "INGRESS", "INGRESS"), "EGRESS") {
			dir = "egress"
			peers = a.Strs("destination_ranges")
			if !a.Has("destination_ranges") {
				peers = []string{"0.0.0.0/0"} // egress to everywhere is the default
			}
		}
		rules := gcpRules(dir, "allow", a.Blocks("allow"), peers)
		rules = append(rules, gcpRules(dir, "deny", a.Blocks("deny"), peers)...)
		if rules != nil {
			r.Attrs["rules"] = rules
		}
		out = append(out, r)
	}
	return out
}

func googleDatabases(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_sql_database_instance"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("database", "google", b)
		r.Attrs["engine"] = a.Str("database_version", "", "")
		ip := a.Path("settings", "ip_configuration")
		public := ip.Bool("ipv4_enabled", true, false)
		r.Attrs["publicly_accessible"] = public
		var cidrs []string
		for _, n := range ip.Blocks("authorized_networks") {
			cidrs = append(cidrs, n.Str("value", "", ""))
		}
		r.Attrs["public_cidrs"] = cloud.List(cidrs)
		r.Attrs["encrypted"] = true
		r.Attrs["kms_key"] = a.Str("encryption_key_name", "", "unknown")
		// A read replica takes no backups of its own: its primary does.
		if a.Path("settings", "backup_configuration").Bool("enabled", false, true) || a.Has("master_instance_name") {
			r.Attrs["backup_retention"] = int64(7)
		}
		mode := ip.Str("ssl_mode", "", "ENCRYPTED_ONLY")
		r.Attrs["ssl_required"] = ip.Bool("require_ssl", false, true) || mode == "ENCRYPTED_ONLY" || mode == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
		r.Attrs["audit_logging"] = googlePGLogging(a)
		flags := map[string]string{}
		for _, f := range a.Block("settings").Blocks("database_flags") {
			flags[strings.ToLower(f.Str("name", "", ""))] = strings.ToLower(f.Str("value", "", "unknown"))
		}
		version := r.Attrs["engine"].(string)
		if strings.HasPrefix(version, "MYSQL") {
			// MySQL turned local_infile off by default in 8.0.
			v, set := flags["local_infile"]
			r.Attrs["local_infile"] = v == "on" || !set && (strings.HasPrefix(version, "MYSQL_5_"))
		}
		if strings.HasPrefix(version, "SQLSERVER") {
			r.Attrs["cross_db_chaining"] = flags["cross db ownership chaining"] == "on"
			r.Attrs["contained_db_auth"] = flags["contained database authentication"] == "on"
		}
		out = append(out, r)
	}
	return out
}

func googleClusters(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_container_cluster"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("k8s_cluster", "google", b)
		private := a.Block("private_cluster_config").Bool("enable_private_endpoint", false, true)
		r.Attrs["public_endpoint"] = !private
		cidrs := []string{"0.0.0.0/0"}
		if mans := a.Blocks("master_authorized_networks_config"); len(mans) > 0 {
			cidrs = nil
			for _, c := range mans[0].Blocks("cidr_blocks") {
				cidrs = append(cidrs, c.Str("cidr_block", "", ""))
			}
		}
		if private {
			cidrs = nil
		}
		r.Attrs["public_cidrs"] = cloud.List(cidrs)
		r.Attrs["secrets_encrypted"] = a.Block("database_encryption").Str("state", "DECRYPTED", "ENCRYPTED") == "ENCRYPTED"
		logs := []string{}
		// The legacy Stackdriver service does not log Kubernetes components.
		if svc := a.Str("logging_service", "logging.googleapis.com/kubernetes", "unknown"); svc == "logging.googleapis.com/kubernetes" || svc == "unknown" {
			logs = append(logs, "api")
		}
		r.Attrs["control_plane_logging"] = cloud.List(logs)
		np := a.Block("network_policy")
		r.Attrs["network_policy"] = np.Bool("enabled", false, true) || a.Str("datapath_provider", "", "ADVANCED_DATAPATH") == "ADVANCED_DATAPATH" ||
			a.Bool("enable_autopilot", false, true)
		r.Attrs["private_nodes"] = a.Block("private_cluster_config").Bool("enable_private_nodes", false, true)
		r.Attrs["rbac"] = !a.Bool("enable_legacy_abac", false, false)
		ma := a.Block("master_auth")
		r.Attrs["legacy_credentials"] = ma.Str("username", "", "") != "" || ma.Str("password", "", "") != "" ||
			ma.Block("client_certificate_config").Bool("issue_client_certificate", false, false)
		mon := a.Str("monitoring_service", "monitoring.googleapis.com/kubernetes", "monitoring.googleapis.com/kubernetes")
		r.Attrs["monitoring"] = mon == "monitoring.googleapis.com/kubernetes"
		r.Attrs["shielded_nodes"] = a.Bool("enable_shielded_nodes", true, true)
		ac := a.Block("addons_config")
		r.Attrs["dashboard"] = ac.Has("kubernetes_dashboard") && !ac.Block("kubernetes_dashboard").Bool("disabled", true, true)
		ba := a.Block("binary_authorization")
		r.Attrs["binary_authorization"] = a.Bool("enable_binary_authorization", false, true) || ba.Bool("enabled", false, true) ||
			strings.HasSuffix(ba.Str("evaluation_mode", "", "_ENFORCE"), "_ENFORCE")
		rc := a.Block("release_channel").Str("channel", "UNSPECIFIED", "REGULAR")
		r.Attrs["release_channel"] = rc != "UNSPECIFIED" || a.Bool("enable_autopilot", false, true)
		r.Attrs["labelled"] = len(a.Block("resource_labels")) > 0 || a.IsUnknown("resource_labels")
		r.Attrs["vpc_native"] = a.Has("ip_allocation_policy") || a.Str("networking_mode", "", "VPC_NATIVE") == "VPC_NATIVE" ||
			a.Bool("enable_autopilot", false, true)
		r.Attrs["group_rbac"] = a.Block("authenticator_groups_config").Str("security_group", "", "unknown") != ""
		out = append(out, r)
		// The default pool's settings, and those of the pools node
		// auto-provisioning creates, are written on the cluster.
		wi := workloadIdentity(a)
		if a.Has("node_config") && !a.Bool("remove_default_node_pool", false, false) {
			out = append(out, googleNodePool(a.Block("node_config"), cloud.Attrs{}, wi, b))
		}
		if ca := a.Block("cluster_autoscaling"); ca.Has("auto_provisioning_defaults") {
			d := ca.Block("auto_provisioning_defaults")
			out = append(out, googleNodePool(d, d.Block("management"), wi, b))
		}
	}
	for _, b := range g.byType["google_container_node_pool"] {
		a := cloud.Attrs(b.Attrs)
		// A pool whose cluster is not in the configuration: its workload
		// identity is unknown, and so is the metadata default.
		wi := true
		for _, c := range g.byType["google_container_cluster"] {
			if refers(a["cluster"], c) {
				wi = workloadIdentity(cloud.Attrs(c.Attrs))
			}
		}
		out = append(out, googleNodePool(a.Block("node_config"), a.Block("management"), wi, b))
	}
	return out
}

// workloadIdentity reports whether a GKE cluster turns on Workload
// Identity, which makes the GKE metadata server the nodes' default.
func workloadIdentity(a cloud.Attrs) bool {
	return a.Bool("enable_autopilot", false, true) || a.Block("workload_identity_config").Str("workload_pool", "", "unknown") != "" ||
		a.Block("workload_identity_config").Str("identity_namespace", "", "unknown") != ""
}

// googleNodePool reads a GKE node_config (or auto-provisioning defaults,
// which spell the same fields) and a management block.
func googleNodePool(nc, mgmt cloud.Attrs, workloadIdentity bool, b *Block) *cloud.Resource {
	r := resource("k8s_node_pool", "google", b)
	r.Attrs["auto_upgrade"] = mgmt.Bool("auto_upgrade", true, true)
	r.Attrs["auto_repair"] = mgmt.Bool("auto_repair", true, true)
	sa := nc.Str("service_account", "", "unknown")
	r.Attrs["default_service_account"] = sa == "" || sa == "default"
	r.Attrs["image_type"] = nc.Str("image_type", "", "")
	md := nc.Block("metadata")
	r.Attrs["legacy_metadata_endpoints"] = !md.Bool("disable-legacy-endpoints", true, true)
	wm := nc.Block("workload_metadata_config")
	mode := wm.Str("mode", "", "")
	legacy := wm.Str("node_metadata", "", "")
	switch {
	case mode != "" || legacy != "":
		r.Attrs["metadata_exposed"] = mode == "GCE_METADATA" || mode == "MODE_UNSPECIFIED" || legacy == "EXPOSE" || legacy == "UNSPECIFIED"
	default:
		// Pools take the GKE metadata server only when the cluster has
		// Workload Identity.
		r.Attrs["metadata_exposed"] = !workloadIdentity
	}
	r.Attrs["secure_boot"] = nc.Block("shielded_instance_config").Bool("enable_secure_boot", false, true)
	return r
}

func googleKeys(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_kms_crypto_key"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("key", "google", b)
		purpose := a.Str("purpose", "ENCRYPT_DECRYPT", "ENCRYPT_DECRYPT")
		r.Attrs["customer_managed"] = purpose == "ENCRYPT_DECRYPT"
		period := a.Str("rotation_period", "", "7776000s")
		secs, err := strconv.ParseFloat(strings.TrimSuffix(period, "s"), 64)
		// CIS GCP 1.10: rotate at most every 90 days.
		r.Attrs["rotation"] = period != "" && err == nil && secs <= 90*24*3600
		out = append(out, r)
	}
	return out
}

func googleDisks(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_compute_disk"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("volume", "google", b)
		r.Attrs["encrypted"] = true
		k := a.Block("disk_encryption_key")
		r.Attrs["kms_key"] = k.Str("kms_key_self_link", "", "unknown")
		r.Attrs["key_in_config"] = k.Has("raw_key") || k.Has("rsa_encrypted_key")
		out = append(out, r)
	}
	return out
}

func googleInstances(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, typ := range []string{"google_compute_instance", "google_compute_instance_template"} {
		for _, b := range g.byType[typ] {
			a := cloud.Attrs(b.Attrs)
			r := resource("instance", "google", b)
			public := false
			for _, ni := range a.Blocks("network_interface") {
				public = public || len(ni.Blocks("access_config")) > 0 || len(ni.Blocks("ipv6_access_config")) > 0
			}
			r.Attrs["public_ip"] = public
			// Persistent disks are always encrypted; the metadata server
			// only answers requests with the Metadata-Flavor header.
			r.Attrs["volumes_encrypted"] = true
			r.Attrs["imds_v2_required"] = true
			// Disks given a raw key inline carry the key in the configuration.
			for _, d := range append(a.Blocks("boot_disk"), a.Blocks("attached_disk")...) {
				if d.Has("disk_encryption_key_raw") || d.Has("disk_encryption_key_rsa") {
					v := resource("volume", "google", b)
					v.Address = b.Address + "/disk/" + d.Str("device_name", "boot", "")
					v.Attrs["encrypted"], v.Attrs["key_in_config"], v.Attrs["kms_key"] = true, true, "customer-supplied"
					out = append(out, v)
				}
			}
			md := a.Block("metadata")
			r.Attrs["user_data"] = a.Str("metadata_startup_script", md.Str("startup-script", md.Str("user-data", "", ""), ""), "")
			r.Attrs["serial_port"] = md.Bool("serial-port-enable", false, false)
			r.Attrs["ip_forwarding"] = a.Bool("can_ip_forward", false, false)
			osLogin := md.Str("enable-oslogin", "", "")
			r.Attrs["os_login_disabled"] = osLogin != "" && !strings.EqualFold(osLogin, "true")
			r.Attrs["project_ssh_keys"] = !md.Bool("block-project-ssh-keys", false, true) && !strings.EqualFold(osLogin, "true")
			sh := a.Block("shielded_instance_config")
			r.Attrs["secure_boot"] = sh.Bool("enable_secure_boot", false, true)
			r.Attrs["measured_boot"] = sh.Bool("enable_vtpm", true, true) && sh.Bool("enable_integrity_monitoring", true, true)
			if sas := a.Blocks("service_account"); len(sas) > 0 {
				email := sas[0].Str("email", "", "unknown")
				r.Attrs["default_service_account"] = email == "" || email == "default" || strings.HasSuffix(email, "-compute@developer.gserviceaccount.com")
			}
			out = append(out, r)
		}
	}
	return out
}

func googleSubnetworks(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_compute_subnetwork"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("vpc", "google", b)
		// Proxy-only subnets carry no VM traffic to log.
		purpose := a.Str("purpose", "PRIVATE", "PRIVATE")
		proxy := purpose == "REGIONAL_MANAGED_PROXY" || purpose == "INTERNAL_HTTPS_LOAD_BALANCER" || purpose == "GLOBAL_MANAGED_PROXY"
		r.Attrs["flow_logs"] = len(a.Blocks("log_config")) > 0 || proxy
		r.Attrs["private_google_access"] = a.Bool("private_ip_google_access", false, true) || proxy
		out = append(out, r)
	}
	return out
}

// pgLogFlags are the Cloud SQL for PostgreSQL flags CIS GCP 6.2 wants
// set for logging, with the values that are acceptable.
var pgLogFlags = map[string]func(string) bool{
	"log_checkpoints":            func(v string) bool { return v == "on" },
	"log_connections":            func(v string) bool { return v == "on" },
	"log_disconnections":         func(v string) bool { return v == "on" },
	"log_lock_waits":             func(v string) bool { return v == "on" },
	"log_temp_files":             func(v string) bool { return v == "0" },
	"log_min_duration_statement": func(v string) bool { return v == "-1" },
	"log_min_messages": func(v string) bool {
		return v == "" || v == "error" || v == "warning" || v == "notice" || v == "info" || v == "debug1" || v == "debug2" ||
			v == "debug3" || v == "debug4" || v == "debug5"
	},
	"log_min_error_statement": func(v string) bool { return v != "panic" && v != "fatal" && v != "log" },
}

// googlePGLogging reports whether a Cloud SQL PostgreSQL instance sets
// the logging flags; other engines are not judged here.
func googlePGLogging(a cloud.Attrs) bool {
	if !strings.HasPrefix(a.Str("database_version", "", ""), "POSTGRES") {
		return true
	}
	flags := map[string]string{}
	for _, f := range a.Block("settings").Blocks("database_flags") {
		flags[f.Str("name", "", "")] = strings.ToLower(f.Str("value", "", "unknown"))
	}
	for name, ok := range pgLogFlags {
		v, set := flags[name]
		switch name {
		case "log_min_messages", "log_min_error_statement":
			if set && v != "unknown" && !ok(v) {
				return false
			}
		default:
			if !set || (v != "unknown" && !ok(v)) {
				return false
			}
		}
	}
	return true
}

// primitive are GCP's basic roles: every permission on the resource
// (owner also grants IAM), as a policy allowing "*".
var primitive = map[string]bool{"roles/owner": true, "roles/editor": true}

// googleBindings maps IAM bindings of basic roles to service accounts and
// users at project, folder and organisation level to iam_policy.
// googleProjects reads projects and project-wide metadata.
func googleProjects(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_project"] {
		r := resource("project", "google", b)
		r.Attrs["default_network"] = cloud.Attrs(b.Attrs).Bool("auto_create_network", true, false)
		out = append(out, r)
	}
	for _, b := range g.byType["google_compute_project_metadata"] {
		r := resource("project", "google", b)
		v := cloud.Attrs(b.Attrs).Block("metadata").Str("enable-oslogin", "", "true")
		r.Attrs["os_login"] = strings.EqualFold(v, "true")
		out = append(out, r)
	}
	for _, b := range g.byType["google_compute_project_metadata_item"] {
		a := cloud.Attrs(b.Attrs)
		if a.Str("key", "", "") != "enable-oslogin" {
			continue
		}
		r := resource("project", "google", b)
		r.Attrs["os_login"] = strings.EqualFold(a.Str("value", "", "true"), "true")
		out = append(out, r)
	}
	return out
}

// googleGrants reads every role grant of the resource hierarchy.
func googleGrants(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, level := range []string{"project", "folder", "organization"} {
		for _, kind := range []string{"member", "binding"} {
			for _, b := range g.byType["google_"+level+"_iam_"+kind] {
				a := cloud.Attrs(b.Attrs)
				members := a.Strs("members")
				if m := a.Str("member", "", ""); m != "" {
					members = append(members, m)
				}
				r := resource("iam_binding", "google", b)
				r.Attrs["level"] = level
				r.Attrs["role"] = a.Str("role", "", "")
				r.Attrs["members"] = cloud.List(members)
				r.Attrs["conditional"] = len(a.Blocks("condition")) > 0
				out = append(out, r)
			}
		}
	}
	return out
}

func googleBindings(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, level := range []string{"project", "folder", "organization"} {
		for _, kind := range []string{"member", "binding"} {
			for _, b := range g.byType["google_"+level+"_iam_"+kind] {
				a := cloud.Attrs(b.Attrs)
				if !primitive[a.Str("role", "", "")] {
					continue
				}
				members := a.Strs("members")
				if m := a.Str("member", "", ""); m != "" {
					members = append(members, m)
				}
				r := resource("iam_policy", "google", b)
				r.Attrs["statements"] = []any{cloud.Statement("Allow", []string{"*"}, nil, []string{"*"}, members, len(a.Blocks("condition")) > 0)}
				out = append(out, r)
			}
		}
	}
	return out
}

// googleZones maps Cloud DNS zones and workload identity pool providers.
func googleZones(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_dns_managed_zone"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("dns_zone", "google", b)
		dc := a.Block("dnssec_config")
		if strings.EqualFold(a.Str("visibility", "public", "public"), "public") {
			r.Attrs["dnssec"] = strings.EqualFold(dc.Str("state", "off", "on"), "on")
		}
		for _, ks := range dc.Blocks("default_key_specs") {
			if strings.EqualFold(ks.Str("algorithm", "", ""), "rsasha1") {
				r.Attrs["weak_signing"] = true
			}
		}
		out = append(out, r)
	}
	for _, b := range g.byType["google_iam_workload_identity_pool_provider"] {
		r := resource("federation", "google", b)
		r.Attrs["conditional"] = cloud.Attrs(b.Attrs).Str("attribute_condition", "", "unknown") != ""
		out = append(out, r)
	}
	return out
}

// googleDatasets maps BigQuery datasets to the "bucket" kind: access
// entries or IAM grants to allUsers or allAuthenticatedUsers make them
// public. Storage is always encrypted; a customer key is optional.
func googleDatasets(g *graph) []*cloud.Resource {
	var out []*cloud.Resource
	for _, b := range g.byType["google_bigquery_dataset"] {
		a := cloud.Attrs(b.Attrs)
		r := resource("bucket", "google", b)
		for _, acc := range a.Blocks("access") {
			if publicMember(acc.Str("special_group", "", "")) || publicMember(acc.Str("iam_member", "", "")) {
				r.Attrs["public_acl"] = true
			}
		}
		for _, typ := range []string{"google_bigquery_dataset_iam_member", "google_bigquery_dataset_iam_binding", "google_bigquery_dataset_access"} {
			for _, m := range g.linked(b, typ, "dataset_id") {
				ma := cloud.Attrs(m.Attrs)
				for _, who := range append(ma.Strs("members"), ma.Str("member", "", ""), ma.Str("special_group", "", ""), ma.Str("iam_member", "", "")) {
					if publicMember(who) {
						r.Attrs["public_policy"] = true
					}
				}
			}
		}
		r.Attrs["encrypted"] = true
		r.Attrs["kms_key"] = a.Block("default_encryption_configuration").Str("kms_key_name", "", "unknown")
		// Time travel and table snapshots stand in for versioning; access
		// is recorded by Cloud Audit Logs, not per dataset.
		r.Attrs["versioning"], r.Attrs["logging"] = true, true
		out = append(out, r)
	}
	return out
}
