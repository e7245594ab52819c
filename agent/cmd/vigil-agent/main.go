// Command vigil-agent scans paths on a schedule and publishes the findings
// to NATS JetStream through a local outbox. Each scan runs in a
// vigil-agent-scan process, so between scans the agent is small.
//
//	vigil-agent --once --nats-url nats://127.0.0.1:4222 --tenant acme --id a1 ./manifests ./Dockerfile
package main

import (
	"context"
	"errors"
	"fmt"
	"k8s.io/apimachinery/pkg/api/resource"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/pkg/config"
	"github.com/vigilsec/vigil/pkg/telemetry"
	"github.com/vigilsec/vigil/pkg/version"
)

func main() {
	err := run()
	switch {
	case errors.Is(err, pflag.ErrHelp):
		// Help asked for is not a failure.
	case errors.Is(err, agent.ErrNotDrained):
		fmt.Fprintln(os.Stderr, "vigil-agent:", err)
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(os.Stderr, "vigil-agent:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("vigil-agent", pflag.ContinueOnError)
	var cfg agent.Config
	var common config.Common
	var targets []string
	fs.StringVar(&cfg.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated")
	fs.StringVar(&cfg.Tenant, "tenant", "", "tenant this agent reports for")
	fs.StringVar(&cfg.ID, "id", "", "agent id, unique within the tenant")
	fs.Func("max-memory", "memory budget of the scan worker, like 512Mi or 2Gi: scans queue rather than exceed it (default: no budget, the worker's heap held softly to 384Mi)", func(v string) error {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("--max-memory %q: want a size like 512Mi", v)
		}
		cfg.Spec.MaxMemory = q.Value()
		return nil
	})
	fs.StringVar(&cfg.Credentials, "credentials", "", "directory from vigil-server agent-credentials: TLS, client certificate and NATS credentials")
	fs.BoolVar(&cfg.Once, "once", false, "scan once, wait for the outbox to drain, and exit")
	fs.DurationVar(&cfg.Interval, "interval", 0, "time between scans (default 1h)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", 0, "with --once, how long to wait for the outbox to drain (default 1m)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory for the outbox (default: $STATE_DIRECTORY under systemd, /var/lib/vigil-agent as root, else $XDG_STATE_HOME/vigil-agent or ~/.local/state/vigil-agent)")
	fs.StringVar(&cfg.Spec.ChecksDir, "checks-dir", "", "directory of extra check packs")
	fs.StringVar(&cfg.Spec.VulnDB, "vuln-db", "", "OSV vulnerability data (folder or zip) to match dependency files and images against; \"server\": the data the server hands out (vigil-server db import), fetched when it changes")
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", 0, "time between heartbeats (default 15s)")
	fs.IntVar(&cfg.FullEvery, "full-every", 24, "send the full finding set every N scans")
	fs.IntVar(&cfg.BatchFindings, "batch-size", 500, "findings per published batch")
	fs.StringVar(&cfg.Spec.Kubeconfig, "kubeconfig", "", "scan the cluster of this kubeconfig live through its API")
	fs.Int64Var(&cfg.Spec.KubePageSize, "kube-page-size", 500, "objects per list call to the cluster API")
	fs.Func("vuln-db-max-age", "vulnerability data older than this is stale: a warning, and the units matched against it not assessed (default 168h; 0: no limit)", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("--vuln-db-max-age %q: want a duration like 72h", v)
		}
		n := int64(d)
		cfg.Spec.VulnDBMaxAge = &n
		return nil
	})
	fs.StringVar(&cfg.Spec.KubeContext, "context", "", "with --kubeconfig, the kubeconfig context to use (default: its current context)")
	fs.StringVar(&cfg.Spec.KubeNamespace, "namespace", "", "with --kubeconfig or --in-cluster, scan only this namespace (its objects and itself); the scope is the namespace")
	fs.BoolVar(&cfg.Spec.InCluster, "in-cluster", false, "scan the cluster the agent runs in, with its service account")
	fs.StringVar(&cfg.Spec.NodeRoot, "node-root", "", "host root mounted read-only (e.g. /host): scan the node's control-plane manifests, kubelet config and PKI")
	fs.StringArrayVar(&cfg.Spec.Images, "image", nil, "container image to scan: layout folder, docker save tarball or registry reference (repeatable)")
	fs.StringVar(&cfg.Spec.Platform, "platform", "linux/amd64", "platform to pick from multi-platform images")
	fs.BoolVar(&cfg.Spec.InsecureRegistry, "insecure-registry", false, "allow plain-HTTP registries")
	fs.StringArrayVar(&cfg.Spec.Repos, "git", nil, "git repository whose history is searched for secrets (repeatable)")
	fs.StringArrayVar(&cfg.Spec.DAST.AllowedHosts, "dast-allow-host", nil, "host that http(s):// targets may probe (repeatable); other hosts are refused")
	fs.Float64Var(&cfg.Spec.DAST.RatePerSecond, "dast-rate", 5, "DAST requests per second at most")
	fs.IntVar(&cfg.Spec.DAST.Budget, "dast-budget", 60, "DAST requests per target and scan at most")
	fs.BoolVar(&cfg.Spec.ScanImages, "scan-images", false, "with --kubeconfig or --in-cluster, also scan the images the cluster runs (pulled with the docker config's credentials)")
	fs.BoolVar(&cfg.Spec.AWS, "aws", false, "scan the AWS account of the default credential chain (environment, profile, instance or pod role)")
	fs.StringVar(&cfg.Spec.AWSOrgRole, "aws-org-role", "", "scan every active account of the AWS organisation by assuming this role name in each")
	fs.Func("aws-region", "AWS region to scan (repeatable; default every enabled region)", func(v string) error {
		cfg.Spec.AWSRegions = append(cfg.Spec.AWSRegions, v)
		return nil
	})
	fs.StringVar(&cfg.Spec.ProcRoot, "proc-root", "", "scan the running container processes under this /proc (a node's, e.g. /host/proc)")
	fs.StringArrayVar(&cfg.Spec.TrustedKeys, "trusted-key", nil, "PEM public key whose cosign signatures registry images must carry (repeatable)")
	fs.StringSliceVar(&targets, "target", nil, "path to scan (repeatable; positional arguments are targets too)")
	worker := fs.String("scan-worker", "", "the vigil-agent-scan executable that runs each scan (default: the one beside vigil-agent, else on PATH)")
	metricsAddr := fs.String("metrics-addr", "", "address of a Prometheus /metrics endpoint (empty: none); OTLP export follows OTEL_EXPORTER_OTLP_ENDPOINT")
	common.Bind(fs)
	logger, done, err := common.Load(fs, os.Args[1:], os.Stdout, version.Version)
	if err != nil || done {
		return err
	}
	cfg.Logger = logger
	cfg.Spec.Targets = append(targets, fs.Args()...)
	cfg.Spec.LogLevel = common.LogLevel
	if *worker != "" {
		cfg.Scanner = agent.Exec{Path: *worker, Logger: logger}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTelemetry, err := telemetry.Start(ctx, "vigil-agent", version.Version, *metricsAddr, logger)
	if err != nil {
		return err
	}
	defer stopTelemetry()

	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
