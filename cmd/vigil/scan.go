package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/report"
	"github.com/vigilsec/vigil/pkg/scan"
	"github.com/vigilsec/vigil/pkg/version"
	"github.com/vigilsec/vigil/pkg/vuln"
)

func newScanCmd(g *globals) *cobra.Command {
	var format, severity, tenant, vulnDB string
	var exitCode int
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Scan files and directories locally, without a server",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			minSev, err := finding.ParseSeverity(severity)
			if err != nil {
				return err
			}
			if format == "" {
				format = "json"
				if term.IsTerminal(int(os.Stdout.Fd())) {
					format = "table"
				}
			}
			cat, err := checks.Load(g.checksDir)
			if err != nil {
				return err
			}
			var opts scan.Options
			if vulnDB != "" {
				if opts.VulnDB, err = vuln.Open(vulnDB); err != nil {
					return err
				}
				for _, e := range opts.VulnDB.Errors {
					fmt.Fprintln(cmd.ErrOrStderr(), "vigil: vulnerability data:", e)
				}
			}
			stop := spin(fmt.Sprintf("scanning %d path(s)", len(args)))
			rep, err := scan.NewWith(cat, opts).Run(cmd.Context(), args, tenant)
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
				err = report.Table(out, rep)
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
			if exitCode != 0 && len(rep.Findings) > 0 {
				return exitError{exitCode}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "output format: table, json or sarif (table on a terminal, else json)")
	cmd.Flags().StringVar(&severity, "severity", "", "report only findings at or above this severity")
	cmd.Flags().IntVar(&exitCode, "exit-code", 0, "exit with this code when a finding at or above --severity is reported")
	cmd.Flags().StringVar(&vulnDB, "vuln-db", os.Getenv("VIGIL_VULN_DB"), "OSV vulnerability data (folder or zip) to match dependencies against (env VIGIL_VULN_DB)")
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant to stamp on findings (changes fingerprints as the agent's would)")
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
