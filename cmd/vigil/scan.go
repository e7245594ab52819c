package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/api/resource"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/report"
	"github.com/vigilsec/vigil/pkg/scan"
	awscollect "github.com/vigilsec/vigil/pkg/scan/cloud/aws"
	"github.com/vigilsec/vigil/pkg/scan/cluster"
	"github.com/vigilsec/vigil/pkg/scan/code/dast"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
	"github.com/vigilsec/vigil/pkg/scan/container/signature"
	"github.com/vigilsec/vigil/pkg/version"
	"github.com/vigilsec/vigil/pkg/vuln"
)

func newScanCmd(g *globals) *cobra.Command {
	var format, severity, tenant, vulnDB string
	var wide bool
	var vulnMaxAge time.Duration
	var images, repos []string
	var runtimeScan bool
	var only []string
	var awsScan bool
	var awsOrgRole string
	var awsRegions []string
	var procRoot string
	var img imageFlags
	var exitCode int
	var allowUnassessed bool
	var clusterScan, inCluster bool
	var kubeconfig, kubeContext, kubeNamespace string
	var maxMemory int64
	cmd := &cobra.Command{
		Use:   "scan [PATH...] [--image REF...] [--git REPO...] [--runtime]",
		Short: "Scan files, directories and container images locally, without a server",
		Long: `Scan files, directories and container images locally, without a server.

A PATH is a file or a directory tree (OCI layout folders inside it are
scanned as images), or - for manifests on standard input. An image
reference (--image, repeatable) is an OCI layout folder, a docker save
tarball, or a registry image; prefixes oci:, docker-archive: and registry:
force the kind. A cluster is scanned through its API with --cluster (the
default kubeconfig and its current context), --kubeconfig PATH or
--in-cluster; or name it as a target, k8s:PATH, k8s:in-cluster or k8s:.
--context picks another context of the kubeconfig, --namespace scans one
namespace (its objects and itself).

Exit status: 2 when a target cannot be scanned at all (a missing path, a
folder that is not a repository, an image that cannot be read, no cloud
credentials), whatever else was found; with --exit-code N, N when a finding
at or above --severity is reported or an input inside a target was not
assessed (unless --allow-unassessed); 0 otherwise.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, ref := range images {
				args = append(args, image.AsTarget(ref))
			}
			switch {
			case awsOrgRole != "":
				args = append(args, scan.AWSTarget+"org/"+awsOrgRole)
			case awsScan:
				args = append(args, scan.AWSTarget)
			}
			if runtimeScan {
				args = append(args, scan.RuntimeTarget+procRoot)
			}
			switch {
			case inCluster:
				args = append(args, scan.KubernetesTarget+cluster.InCluster)
			case kubeconfig != "":
				args = append(args, scan.KubernetesTarget+kubeconfig)
			case clusterScan || kubeContext != "" || kubeNamespace != "":
				args = append(args, scan.KubernetesTarget)
			}
			for _, r := range repos {
				args = append(args, scan.GitTarget+r)
			}
			if len(args) == 0 {
				return fmt.Errorf("nothing to scan: give a PATH or --image REF")
			}
			minSev, err := finding.ParseSeverity(severity)
			if err != nil {
				return err
			}
			if format == "" {
				format = "json"
				if f, ok := cmd.OutOrStdout().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					format = "table"
				}
			}
			cat, err := checks.Load(g.checksDir)
			if err != nil {
				return err
			}
			for _, n := range only {
				if !slices.Contains(scan.FileScanners(), n) {
					return fmt.Errorf("unknown scanner %q (want one of %s)", n, strings.Join(scan.FileScanners(), ", "))
				}
			}
			opts := scan.Options{Image: img.options(), Scanners: only, AWS: awscollect.Options{Regions: awsRegions}, KubeContext: kubeContext, KubeNamespace: kubeNamespace}
			if maxMemory > 0 {
				// As the agent's budget: half for the data of scans in
				// flight, the Go heap held to the whole.
				opts.MaxMemory = maxMemory / 2
				debug.SetMemoryLimit(maxMemory)
			}
			if opts.Signatures, err = img.verifier(); err != nil {
				return err
			}
			if vulnDB != "" {
				if opts.VulnDB, err = vuln.Open(vulnDB); err != nil {
					return err
				}
				for _, e := range opts.VulnDB.Errors {
					fmt.Fprintln(cmd.ErrOrStderr(), "vigil: vulnerability data:", e)
				}
				opts.VulnDB.SetMaxAge(vulnMaxAge)
				if err := opts.VulnDB.Stale(time.Now()); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "vigil: warning:", err)
				}
			}
			stop, prog := spin(fmt.Sprintf("scanning %d path(s)", len(args)))
			ctx := cmd.Context()
			if prog != nil {
				ctx = pipeline.WithProgress(ctx, prog)
			}
			rep, err := scan.NewWith(cat, opts).Run(ctx, args, tenant)
			stop()
			if err != nil {
				return err
			}
			kept := rep.Findings[:0]
			for _, f := range rep.Findings {
				if f.Severity >= minSev {
					kept = append(kept, f)
				}
			}
			rep.Findings = kept
			out := cmd.OutOrStdout()
			switch format {
			case "table":
				err = report.Table(out, rep, report.TerminalStyle(out, wide))
			case "json":
				err = report.WriteJSON(out, rep)
			case "sarif":
				err = report.SARIF(out, rep, cat, version.Version)
			default:
				return fmt.Errorf("unknown format %q (want table, json or sarif)", format)
			}
			if err != nil {
				return err
			}
			return gate(cmd.ErrOrStderr(), rep, exitCode, allowUnassessed)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "output format: table, json or sarif (table on a terminal, else json)")
	cmd.Flags().BoolVar(&wide, "wide", false, "tables: every column (the whole message too), nothing wrapped")
	cmd.Flags().StringVar(&severity, "severity", "", "report only findings at or above this severity")
	cmd.Flags().IntVar(&exitCode, "exit-code", 0, "exit with this code when a finding at or above --severity is reported, or an input was not assessed")
	cmd.Flags().BoolVar(&allowUnassessed, "allow-unassessed", false, "with --exit-code, let inputs that could not be assessed pass the gate (a target that cannot be scanned at all still exits 2)")
	cmd.Flags().StringVar(&vulnDB, "vuln-db", os.Getenv("VIGIL_VULN_DB"), "OSV vulnerability data (folder or zip) to match dependencies against (env VIGIL_VULN_DB)")
	cmd.Flags().DurationVar(&vulnMaxAge, "vuln-db-max-age", vuln.DefaultMaxAge, "vulnerability data older than this is stale: a warning, and the units matched against it not assessed (0: no limit)")
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant to stamp on findings (changes fingerprints as the agent's would)")
	cmd.Flags().StringArrayVar(&images, "image", nil, "container image to scan: layout folder, docker save tarball or registry reference (repeatable)")
	cmd.Flags().StringArrayVar(&repos, "git", nil, "git repository whose whole history (every branch and tag) is searched for secrets, each reported with the commit that added it (repeatable)")
	cmd.Flags().BoolVar(&runtimeScan, "runtime", false, "scan the running container processes of this node (from --proc-root)")
	cmd.Flags().StringSliceVar(&only, "scanners", nil, "file scanners to run, comma-separated (default all: "+strings.Join(scan.FileScanners(), ",")+")")
	cmd.Flags().BoolVar(&awsScan, "aws", false, "scan the AWS account of the default credential chain (environment, profile, instance role)")
	cmd.Flags().StringVar(&awsOrgRole, "aws-org-role", "", "scan every active account of the AWS organisation by assuming this role name in each")
	cmd.Flags().StringArrayVar(&awsRegions, "aws-region", nil, "AWS region to scan (repeatable; default every enabled region)")
	cmd.Flags().StringVar(&procRoot, "proc-root", "/proc", "the /proc to read with --runtime (a host's, mounted elsewhere)")
	cmd.Flags().BoolVar(&clusterScan, "cluster", false, "scan the Kubernetes cluster of the default kubeconfig ($KUBECONFIG or ~/.kube/config, current context) through its API")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "scan the Kubernetes cluster of this kubeconfig through its API")
	cmd.Flags().StringVar(&kubeContext, "context", "", "the kubeconfig context of the cluster to scan (default: the current one)")
	cmd.Flags().StringVar(&kubeNamespace, "namespace", "", "scan only this namespace of the cluster (its objects and itself)")
	cmd.Flags().BoolVar(&inCluster, "in-cluster", false, "scan the Kubernetes cluster this pod runs in, as its service account")
	cmd.Flags().Func("max-memory", "memory budget, like 512Mi or 2Gi: scans queue and the heap is collected sooner rather than exceed it (default no bound)", func(v string) error {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("--max-memory %q: want a size like 512Mi", v)
		}
		maxMemory = q.Value()
		return nil
	})
	img.bind(cmd)
	return cmd
}

// imageFlags select how image references are resolved.
type imageFlags struct {
	platform    string
	insecure    bool
	trustedKeys []string
}

func (f *imageFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.platform, "platform", "linux/amd64", "platform to pick from multi-platform images")
	cmd.Flags().BoolVar(&f.insecure, "insecure-registry", false, "allow plain-HTTP registries")
	cmd.Flags().StringArrayVar(&f.trustedKeys, "trusted-key", nil, "PEM public key (ECDSA P-256 or Ed25519) whose cosign signatures registry images must carry (repeatable)")
}

// verifier loads the trusted keys; nil when none are given.
func (f *imageFlags) verifier() (*signature.Verifier, error) {
	if len(f.trustedKeys) == 0 {
		return nil, nil
	}
	return signature.LoadKeys(f.trustedKeys...)
}

func (f *imageFlags) options() image.OpenOptions {
	return image.OpenOptions{Platform: f.platform, Insecure: f.insecure}
}

func newProbeCmd(g *globals) *cobra.Command {
	var format, tenant, severity string
	var wide bool
	var exitCode int
	var allowUnassessed bool
	var opts dast.Options
	cmd := &cobra.Command{
		Use:   "probe URL...",
		Short: "Probe running HTTP services (DAST) on hosts you allow",
		Long: `Probe running HTTP services: TLS versions and certificate, security
headers, reflected input, SQL errors on injected quotes, directory
listings, exposed .git and .env, CORS with credentials, login forms over
HTTP. Only hosts given with --allow-host are probed, at --rate requests per
second and at most --budget requests per URL. A service that answers
nothing exits 2; with --exit-code N, N when a finding at or above
--severity is reported or a probe could not run.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(opts.AllowedHosts) == 0 {
				return fmt.Errorf("no --allow-host given: name the hosts you are allowed to probe")
			}
			minSev, err := finding.ParseSeverity(severity)
			if err != nil {
				return err
			}
			cat, err := checks.Load(g.checksDir)
			if err != nil {
				return err
			}
			rep, err := scan.NewWith(cat, scan.Options{DAST: opts}).Run(cmd.Context(), args, tenant)
			if err != nil {
				return err
			}
			rep.Findings = slices.DeleteFunc(rep.Findings, func(f *vigilv1.Finding) bool { return f.Severity < minSev })
			if format == "" {
				format = "table"
			}
			switch format {
			case "table":
				err = report.Table(cmd.OutOrStdout(), rep, report.TerminalStyle(cmd.OutOrStdout(), wide))
			case "json":
				err = report.WriteJSON(cmd.OutOrStdout(), rep)
			default:
				return fmt.Errorf("unknown format %q (want table or json)", format)
			}
			if err != nil {
				return err
			}
			return gate(cmd.ErrOrStderr(), rep, exitCode, allowUnassessed)
		},
	}
	cmd.Flags().StringVar(&severity, "severity", "", "report only findings at or above this severity")
	cmd.Flags().IntVar(&exitCode, "exit-code", 0, "exit with this code when a finding at or above --severity is reported, or a probe could not run")
	cmd.Flags().BoolVar(&allowUnassessed, "allow-unassessed", false, "with --exit-code, let probes that could not run pass the gate")
	cmd.Flags().StringArrayVar(&opts.AllowedHosts, "allow-host", nil, "host (name or name:port) that may be probed (repeatable)")
	cmd.Flags().Float64Var(&opts.RatePerSecond, "rate", 5, "requests per second at most")
	cmd.Flags().IntVar(&opts.Budget, "budget", 60, "requests per URL at most")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	cmd.Flags().BoolVar(&wide, "wide", false, "tables: every column (the whole message too), nothing wrapped")
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant to stamp on findings")
	return cmd
}

func newSBOMCmd(g *globals) *cobra.Command {
	var output, vulnDB string
	var img imageFlags
	cmd := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "Write a CycloneDX 1.5 JSON bill of materials of a container image",
		Long: `Write a CycloneDX 1.5 JSON bill of materials of a container image: its
distribution, OS packages, Go modules of its binaries and dependencies of
lockfiles inside it, with package URLs. With --vuln-db, the
vulnerabilities matched against them are included.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := checks.Load(g.checksDir)
			if err != nil {
				return err
			}
			var db *vuln.DB
			if vulnDB != "" {
				if db, err = vuln.Open(vulnDB); err != nil {
					return err
				}
			}
			s := image.NewScanner(cat, db, scan.DefaultSecretKey)
			srcs, err := image.Open(cmd.Context(), image.AsTarget(args[0]), img.options())
			if err != nil {
				return err
			}
			if len(srcs) != 1 {
				return fmt.Errorf("%s holds %d images; name one (layout:dir@sha256:…, or a tag)", args[0], len(srcs))
			}
			a, err := s.Analyze(cmd.Context(), srcs[0].Image)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			for _, e := range a.Errors {
				fmt.Fprintln(cmd.ErrOrStderr(), "vigil:", e)
			}
			out := cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			return report.CycloneDX(out, a.BOM(srcs[0].Name), "vigil", version.Version, time.Now())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "-", "file to write (- for standard output)")
	cmd.Flags().StringVar(&vulnDB, "vuln-db", os.Getenv("VIGIL_VULN_DB"), "OSV vulnerability data to include matched vulnerabilities (env VIGIL_VULN_DB)")
	img.bind(cmd)
	return cmd
}

func newChecksCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "checks", Short: "The check catalog"}
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List every check: id, pillar, severity, title, references, tags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := checks.Load(g.checksDir)
			if err != nil {
				return err
			}
			return writeCatalog(cmd.OutOrStdout(), cat, format)
		},
	}
	list.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	cmd.AddCommand(list)
	return cmd
}

// gate decides how a scan exits. A target that could not be scanned at all
// exits 2, named on stderr, whatever else was found: a CI gate must never
// read it as a pass. With exitCode set, a finding (exempt ones aside), a
// unit not assessed or a check that could not run exits exitCode.
func gate(stderr io.Writer, rep *vigilv1.ScanReport, exitCode int, allowUnassessed bool) error {
	for _, t := range rep.FailedTargets {
		fmt.Fprintf(stderr, "vigil: %s: %s\n", t.Path, t.Error)
	}
	if len(rep.FailedTargets) > 0 {
		return exitError{2}
	}
	if exitCode == 0 {
		return nil
	}
	if slices.ContainsFunc(rep.Findings, func(f *vigilv1.Finding) bool { return f.Exemption == nil }) {
		return exitError{exitCode}
	}
	if c := rep.GetCoverage(); !allowUnassessed && (c.GetUnitsNotAssessed() > 0 || len(c.GetChecksNotRun()) > 0) {
		fmt.Fprintf(stderr, "vigil: %d input(s) not assessed, %d check(s) could not run on some (--allow-unassessed to let them pass)\n",
			c.GetUnitsNotAssessed(), len(c.GetChecksNotRun()))
		return exitError{exitCode}
	}
	return nil
}
