package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/report"
	"github.com/vigilsec/vigil/pkg/scan"
)

type catalogEntry struct {
	ID          string   `json:"id"`
	Pillar      string   `json:"pillar"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Input       string   `json:"input"`
	Description string   `json:"description,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	References  []string `json:"references"`
	Tags        []string `json:"tags"`
}

func writeCatalog(w io.Writer, cat *checks.Catalog, format string) error {
	switch format {
	case "json":
		entries := []catalogEntry{}
		for _, c := range cat.All() {
			entries = append(entries, catalogEntry{
				ID: c.ID, Pillar: finding.PillarName(c.Pillar), Severity: finding.SeverityName(c.Severity), Title: c.Title,
				Input: c.Input, Description: c.Description, Remediation: c.Remediation,
				References: append([]string{}, c.References...), Tags: append([]string{}, c.Tags...),
			})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"checks": entries})
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPILLAR\tSEVERITY\tTITLE\tREFERENCES\tTAGS")
		for _, c := range cat.All() {
			report.Row(tw, c.ID, finding.PillarName(c.Pillar), strings.ToUpper(finding.SeverityName(c.Severity)),
				c.Title, strings.Join(c.References, ","), strings.Join(c.Tags, ","))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q (want table or json)", format)
}

func newAnalyzersCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "analyzers",
		Short: "List the analyzers: name, version, units they read, what they need to run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := checks.Load(g.checksDir)
			if err != nil {
				return err
			}
			s := scan.New(cat)
			return writeAnalyzers(cmd.OutOrStdout(), s.Analyzers(), s.AnalyzerVersion(), format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	return cmd
}

type analyzerEntry struct {
	Name    string   `json:"name"`
	Version int      `json:"version"`
	Reads   []string `json:"reads"`
	Needs   []string `json:"needs"`
}

func writeAnalyzers(w io.Writer, as []pipeline.Analyzer, digest, format string) error {
	switch format {
	case "json":
		entries := []analyzerEntry{}
		for _, a := range as {
			needs := []string{}
			if a.Needs != 0 {
				needs = strings.Split(a.Needs.String(), ", ")
			}
			entries = append(entries, analyzerEntry{Name: a.Name, Version: a.Version, Reads: append([]string{}, a.Reads...), Needs: needs})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"analyzers": entries, "digest": digest})
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tVERSION\tREADS\tNEEDS")
		for _, a := range as {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", a.Name, a.Version, strings.Join(a.Reads, ", "), a.Needs)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "analyzer digest %s (a change makes the next scan of every scope a full one)\n", digest)
		return err
	}
	return fmt.Errorf("unknown format %q (want table or json)", format)
}
