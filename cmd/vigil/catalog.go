package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, finding.PillarName(c.Pillar), strings.ToUpper(finding.SeverityName(c.Severity)),
				c.Title, strings.Join(c.References, ","), strings.Join(c.Tags, ","))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q (want table or json)", format)
}
