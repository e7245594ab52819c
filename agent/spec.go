package agent

// Spec is what an agent scans and how: the targets and the options of each
// kind of target. It is plain data, so it crosses to the scan worker as
// JSON and the agent itself links none of the scanners.
type Spec struct {
	// Tenant the findings are scanned for; Agent names the agent in logs.
	Tenant string `json:"tenant"`
	Agent  string `json:"agent"`
	// Targets are the paths and references to scan.
	Targets []string `json:"targets,omitempty"`
	// Kubeconfig points at a cluster to scan live through its API;
	// InCluster uses the pod's service account instead.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	InCluster  bool   `json:"in_cluster,omitempty"`
	// KubePageSize bounds each list call to the API (default 500).
	KubePageSize int64 `json:"kube_page_size,omitempty"`
	// KubeContext picks the kubeconfig's context (default: its current
	// one); KubeNamespace limits the cluster scan to one namespace.
	KubeContext   string `json:"kube_context,omitempty"`
	KubeNamespace string `json:"kube_namespace,omitempty"`
	// NodeRoot is where a node's root filesystem is mounted (a DaemonSet's
	// read-only host mount, such as /host); the node's Kubernetes
	// configuration under it becomes targets.
	NodeRoot string `json:"node_root,omitempty"`
	// ChecksDir adds user check packs.
	ChecksDir string `json:"checks_dir,omitempty"`
	// VulnDB is OSV vulnerability data (folder or zip) for dependency files.
	VulnDB string `json:"vuln_db,omitempty"`
	// VulnDBMaxAge, in nanoseconds, is how old VulnDB may be before it is
	// stale (nil: vuln.DefaultMaxAge, 0: no limit).
	VulnDBMaxAge *int64 `json:"vuln_db_max_age,omitempty"`
	// Images are container image references to scan (layout folders,
	// docker save tarballs, registry images), picked for Platform and
	// pulled over plain HTTP when InsecureRegistry.
	Images           []string `json:"images,omitempty"`
	Platform         string   `json:"platform,omitempty"`
	InsecureRegistry bool     `json:"insecure_registry,omitempty"`
	// Repos are git repositories whose history is searched for secrets.
	Repos []string `json:"repos,omitempty"`
	// DAST bounds probes of http(s) targets; only its allowed hosts are
	// probed.
	DAST DAST `json:"dast"`
	// ScanImages scans the images the live cluster's pods and workloads
	// run, pulled from their registries with the agent's credentials.
	ScanImages bool `json:"scan_images,omitempty"`
	// AWS collects the account of the default AWS credentials; AWSOrgRole
	// instead every account of its organisation through that role, and
	// AWSRegions limits the regions (default: every enabled one).
	AWS        bool     `json:"aws,omitempty"`
	AWSOrgRole string   `json:"aws_org_role,omitempty"`
	AWSRegions []string `json:"aws_regions,omitempty"`
	// ProcRoot, when set, is a /proc whose running container processes are
	// scanned (a node agent's host /proc).
	ProcRoot string `json:"proc_root,omitempty"`
	// TrustedKeys are PEM public keys whose signatures registry images
	// must carry; without them signatures are not checked.
	TrustedKeys []string `json:"trusted_keys,omitempty"`
	// MaxMemory bounds the scan's memory in bytes (0: no bound): work
	// queues rather than exceed it.
	MaxMemory int64 `json:"max_memory,omitempty"`
	// LogLevel of the scan's own log records (default info).
	LogLevel string `json:"log_level,omitempty"`
}

// DAST bounds the probes of live services.
type DAST struct {
	AllowedHosts  []string `json:"allowed_hosts,omitempty"`
	RatePerSecond float64  `json:"rate_per_second,omitempty"`
	Budget        int      `json:"budget,omitempty"`
}

// empty reports whether the spec names nothing to scan.
func (s *Spec) empty() bool {
	return len(s.Targets) == 0 && s.Kubeconfig == "" && !s.InCluster && s.NodeRoot == "" && len(s.Images) == 0 &&
		len(s.Repos) == 0 && !s.AWS && s.AWSOrgRole == "" && s.ProcRoot == ""
}
