package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/report"
)

func newCoverageCmd(g *globals) *cobra.Command {
	var req vigilv1.ListCoverageRequest
	var format, reason string
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "What the fleet assessed: per scope, units assessed and not assessed (with reasons), stale scopes and agents",
		Long: `What the fleet assessed, per scope (agent, scanner, target): the units its
last completed scan tried and assessed, those it could not assess and why,
and when it last completed. --stale lists the blind spots: scopes with no
completed scan for three of their agent's scan intervals, and agents that
missed three heartbeats.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if reason != "" {
				r, ok := pipeline.ParseReason(reason)
				if !ok {
					return fmt.Errorf("unknown reason %q (want one of %s)", reason, strings.Join(reasonNames(), ", "))
				}
				req.Reason = r
			}
			sh, err := dialShards(g)
			if err != nil {
				return err
			}
			defer sh.Close()
			resp, err := sh.Coverage(cmd.Context(), &req)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return report.WriteJSON(cmd.OutOrStdout(), resp)
			case "table":
				return writeCoverage(cmd.OutOrStdout(), resp)
			}
			return fmt.Errorf("unknown format %q (want table or json)", format)
		},
	}
	cmd.Flags().StringVar(&req.Tenant, "tenant", "", "only this tenant")
	cmd.Flags().StringVar(&req.Agent, "agent", "", "only this agent")
	cmd.Flags().StringVar(&req.Scanner, "scanner", "", "only this scanner")
	cmd.Flags().StringVar(&req.Target, "target", "", "only this target")
	cmd.Flags().StringVar(&reason, "reason", "", "only scopes with units not assessed for this reason ("+strings.Join(reasonNames(), ", ")+")")
	cmd.Flags().BoolVar(&req.Stale, "stale", false, "only stale scopes, and the agents gone silent")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	return cmd
}

// reasonNames are the reasons a unit is not assessed, as flags take them.
func reasonNames() []string {
	var out []string
	for v := range vigilv1.NotAssessedReason_name {
		if v != 0 {
			out = append(out, strings.ReplaceAll(pipeline.ReasonName(pipeline.Reason(v)), " ", "-"))
		}
	}
	sort.Strings(out)
	return out
}

// scopeState is a scope's state as tables show it.
func scopeState(sc *vigilv1.ScopeCoverage) string {
	switch {
	case sc.Retired:
		return "retired"
	case sc.AgentStale:
		return "agent stale"
	case sc.Stale:
		return "stale"
	}
	return "ok"
}

func writeCoverage(w io.Writer, resp *vigilv1.ListCoverageResponse) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tAGENT\tSCANNER\tTARGET\tASSESSED\tNOT ASSESSED\tLAST SCAN\tSTATE")
	hidden := 0
	for _, sc := range resp.Scopes {
		c := sc.Coverage
		if c.GetUnitsAttempted() == 0 && !sc.Stale && !sc.AgentStale && !sc.Retired {
			hidden++ // a scanner with nothing to read in its target
			continue
		}
		report.Row(tw, sc.Scope.GetTenant(), sc.Scope.GetAgent(), sc.Scope.GetScanner(), sc.Scope.GetTarget(),
			fmt.Sprintf("%d/%d", c.GetUnitsAssessed(), c.GetUnitsAttempted()), byReason(c), ts(sc.LastScanTime.AsTime()), scopeState(sc))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if hidden > 0 {
		fmt.Fprintf(w, "(%d scope(s) whose scanner had nothing to read are left out; --format json lists them)\n", hidden)
	}
	var details []string
	for _, sc := range resp.Scopes {
		for _, e := range sc.Coverage.GetNotAssessed() {
			details = append(details, fmt.Sprintf("  %s %s: %s: %s", sc.Scope.GetAgent(), e.Path, pipeline.ReasonName(e.Reason),
				strings.TrimPrefix(e.Error, e.Path+": ")))
		}
		for _, k := range sc.Coverage.GetChecksNotRun() {
			details = append(details, fmt.Sprintf("  %s check %s could not run on %d unit(s): %s", sc.Scope.GetAgent(), k.CheckId, k.Units, k.Detail))
		}
	}
	if len(details) > 0 {
		fmt.Fprintln(w, "\nnot assessed:")
		fmt.Fprintln(w, strings.Join(details, "\n"))
	}
	if len(resp.StaleAgents) > 0 {
		fmt.Fprintln(w, "\nstale agents:")
		for _, a := range resp.StaleAgents {
			fmt.Fprintf(w, "  %s/%s: last heartbeat %s\n", report.Text(a.Tenant), report.Text(a.Id), ts(a.LastHeartbeat.AsTime()))
		}
	}
	return nil
}

// byReason counts a scope's units not assessed by reason ("2 parse error,
// 1 too large"), or "-" for none.
func byReason(c *vigilv1.Coverage) string {
	if c.GetUnitsNotAssessed() == 0 {
		return "-"
	}
	n := map[string]int{}
	for _, e := range c.NotAssessed {
		n[pipeline.ReasonName(e.Reason)]++
	}
	var parts []string
	listed := 0
	for r, k := range n {
		parts = append(parts, fmt.Sprintf("%d %s", k, r))
		listed += k
	}
	sort.Strings(parts)
	if rest := int(c.UnitsNotAssessed) - listed; rest > 0 {
		parts = append(parts, fmt.Sprintf("%d more", rest))
	}
	return strings.Join(parts, ", ")
}
