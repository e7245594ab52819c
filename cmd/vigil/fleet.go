package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/report"
)

func dial(g *globals) (*grpc.ClientConn, error) {
	if strings.Contains(g.server, ",") {
		return nil, fmt.Errorf("this command talks to one server; --server %q names several (findings list/get/summary and agents list fan out, the others do not)", g.server)
	}
	opts, err := g.dialOptions()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(g.server, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", g.server, err)
	}
	return conn, nil
}

// filterFlags are the flags shared by findings list and watch.
type filterFlags struct {
	tenant, account, pillar, severity, check string
	statuses                                 []string
	namespace, kind, name, agent, vuln, pkg  string
	control, since, changedSince             string
}

func (f *filterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.tenant, "tenant", "", "only this tenant")
	cmd.Flags().StringVar(&f.account, "account", "", "only this account")
	cmd.Flags().StringVar(&f.pillar, "pillar", "", "only this pillar: code, container, cluster or cloud")
	cmd.Flags().StringVar(&f.severity, "severity", "", "minimum severity")
	cmd.Flags().StringVar(&f.check, "check", "", "only this check id")
	cmd.Flags().StringSliceVar(&f.statuses, "status", nil, "only these statuses: open, resolved, reopened, suppressed")
	cmd.Flags().StringVar(&f.namespace, "namespace", "", "only resources of this namespace")
	cmd.Flags().StringVar(&f.kind, "kind", "", "only resources of this kind (Deployment, Package, aws_s3_bucket, …)")
	cmd.Flags().StringVar(&f.name, "name", "", "only the resource of this name")
	cmd.Flags().StringVar(&f.agent, "agent", "", "only findings of this agent's scopes")
	cmd.Flags().StringVar(&f.vuln, "cve", "", "only findings naming this advisory (CVE-…, GHSA-…, GO-…)")
	cmd.Flags().StringVar(&f.pkg, "package", "", "only vulnerable-dependency findings of this package")
	cmd.Flags().StringVar(&f.control, "control", "", "only findings of a framework or control: a reference prefix like CIS-K8S or CIS-K8S-5.2.8")
	cmd.Flags().StringVar(&f.since, "since", "", "only findings first seen since: a time (RFC 3339) or an age (72h)")
	cmd.Flags().StringVar(&f.changedSince, "changed-since", "", "only findings whose status last changed since: a time (RFC 3339) or an age (72h)")
}

// since reads a --since value: an RFC 3339 time, or an age before now.
func since(flag, v string, now time.Time) (*timestamppb.Timestamp, error) {
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return timestamppb.New(t), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return nil, fmt.Errorf("--%s %q: want a time (2026-12-01T00:00:00Z) or an age (72h)", flag, v)
	}
	return timestamppb.New(now.Add(-d)), nil
}

func (f *filterFlags) filter() (*vigilv1.FindingFilter, error) {
	p, err := finding.ParsePillar(f.pillar)
	if err != nil {
		return nil, err
	}
	s, err := finding.ParseSeverity(f.severity)
	if err != nil {
		return nil, err
	}
	out := &vigilv1.FindingFilter{Tenant: f.tenant, Account: f.account, Pillar: p, MinSeverity: s, CheckId: f.check,
		Namespace: f.namespace, ResourceKind: f.kind, ResourceName: f.name, Agent: f.agent, Vulnerability: f.vuln, Package: f.pkg, Control: f.control}
	if out.FirstSeenAfter, err = since("since", f.since, time.Now()); err != nil {
		return nil, err
	}
	if out.LastChangeAfter, err = since("changed-since", f.changedSince, time.Now()); err != nil {
		return nil, err
	}
	for _, st := range f.statuses {
		v, err := finding.ParseStatus(st)
		if err != nil {
			return nil, err
		}
		out.Statuses = append(out.Statuses, v)
	}
	return out, nil
}

func newFindingsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "findings", Short: "Query the findings stored by a vigil-server"}

	var ff filterFlags
	var format, order string
	var limit, pageSize int
	var wide bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List stored findings (all pages unless --limit)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := ff.filter()
			if err != nil {
				return err
			}
			sh, err := dialShards(g)
			if err != nil {
				return err
			}
			defer sh.Close()
			by, ok := map[string]vigilv1.FindingSort{"": vigilv1.FindingSort_FINDING_SORT_UNSPECIFIED,
				"severity": vigilv1.FindingSort_FINDING_SORT_SEVERITY, "last-change": vigilv1.FindingSort_FINDING_SORT_LAST_CHANGE}[order]
			if !ok {
				return fmt.Errorf("--sort %q: want severity or last-change", order)
			}
			all, err := sh.List(cmd.Context(), filter, by, pageSize, limit)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return report.WriteJSON(cmd.OutOrStdout(), &vigilv1.ListFindingsResponse{Findings: all})
			case "table":
				if by == vigilv1.FindingSort_FINDING_SORT_UNSPECIFIED {
					report.SortStored(all) // else in the order asked
				}
				return report.StoredTable(cmd.OutOrStdout(), all, report.TerminalStyle(cmd.OutOrStdout(), wide))
			}
			return fmt.Errorf("unknown format %q (want table or json)", format)
		},
	}
	ff.add(list)
	list.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	list.Flags().IntVar(&limit, "limit", 0, "stop after this many findings (0: all)")
	list.Flags().BoolVar(&wide, "wide", false, "every column (whole finding ids, check, tenant, agent, message), nothing wrapped")
	list.Flags().StringVar(&order, "sort", "", "order: severity (most severe first) or last-change (latest first); with --limit, the first ones of that order")
	list.Flags().IntVar(&pageSize, "page-size", 500, "findings per request")

	var getFormat string
	var getWide bool
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show one stored finding in full by id, fingerprint or a fingerprint prefix (the ID column of findings list)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sh, err := dialShards(g)
			if err != nil {
				return err
			}
			defer sh.Close()
			resp, err := sh.Get(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("get finding: %w", err)
			}
			if getFormat == "json" {
				return report.WriteJSON(cmd.OutOrStdout(), resp)
			}
			out := cmd.OutOrStdout()
			return report.FindingDetail(out, resp.Finding, resp.Occurrences, report.TerminalStyle(out, getWide))
		},
	}
	get.Flags().StringVarP(&getFormat, "format", "f", "table", "output format: table or json")
	get.Flags().BoolVar(&getWide, "wide", false, "whole finding ids of the occurrences")

	var sumFormat, sumTenant string
	var byTenant, byAccount bool
	var sumStatuses []string
	summary := &cobra.Command{
		Use:   "summary",
		Short: "Count findings by pillar and severity (open ones unless --status)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &vigilv1.SummarizeFindingsRequest{Tenant: sumTenant, ByTenant: byTenant, ByAccount: byAccount}
			for _, st := range sumStatuses {
				v, err := finding.ParseStatus(st)
				if err != nil {
					return err
				}
				req.Statuses = append(req.Statuses, v)
			}
			sh, err := dialShards(g)
			if err != nil {
				return err
			}
			defer sh.Close()
			resp, err := sh.Summarize(cmd.Context(), req)
			if err != nil {
				return err
			}
			if sumFormat == "json" {
				return report.WriteJSON(cmd.OutOrStdout(), resp)
			}
			if err := writeSummary(cmd.OutOrStdout(), resp, byTenant, byAccount); err != nil {
				return err
			}
			cov, err := sh.Coverage(cmd.Context(), &vigilv1.ListCoverageRequest{Tenant: sumTenant})
			if err != nil {
				return err
			}
			agents, err := sh.Agents(cmd.Context(), sumTenant)
			if err != nil {
				return err
			}
			return writeCoverageSummary(cmd.OutOrStdout(), cov, agents)
		},
	}
	summary.Flags().StringVarP(&sumFormat, "format", "f", "table", "output format: table or json")
	summary.Flags().StringVar(&sumTenant, "tenant", "", "only this tenant")
	summary.Flags().BoolVar(&byTenant, "by-tenant", false, "group by tenant too")
	summary.Flags().BoolVar(&byAccount, "by-account", false, "group by account too")
	summary.Flags().StringSliceVar(&sumStatuses, "status", nil, "statuses to count (default open and reopened)")

	var wf filterFlags
	var watchFormat string
	watch := &cobra.Command{
		Use:   "watch",
		Short: "Follow lifecycle events (opened, resolved, reopened, suppressed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := wf.filter()
			if err != nil {
				return err
			}
			conn, err := dial(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			stream, err := vigilv1.NewFindingServiceClient(conn).WatchFindings(cmd.Context(), &vigilv1.WatchFindingsRequest{Filter: filter})
			if err != nil {
				return fmt.Errorf("watch findings: %w", err)
			}
			out := cmd.OutOrStdout()
			for {
				resp, err := stream.Recv()
				if errors.Is(err, io.EOF) || cmd.Context().Err() != nil {
					return nil
				}
				if err != nil {
					return fmt.Errorf("watch findings: %w", err)
				}
				ev := resp.Event
				if watchFormat == "json" {
					b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(ev)
					if err != nil {
						return err
					}
					fmt.Fprintln(out, string(b))
					continue
				}
				f := ev.GetFinding().GetFinding()
				fmt.Fprintf(out, "%s %-9s %-8s %s %s %s\n", ev.GetTime().AsTime().Format(time.RFC3339),
					strings.TrimPrefix(ev.Type.String(), "EVENT_TYPE_"), strings.ToUpper(finding.SeverityName(f.GetSeverity())),
					f.GetCheckId(), report.ResourceName(f.GetResource()), ev.GetFinding().GetId())
			}
		},
	}
	wf.add(watch)
	watch.Flags().StringVarP(&watchFormat, "format", "f", "table", "output format: table or json (one event per line)")

	cmd.AddCommand(list, get, summary, watch)
	return cmd
}

func writeSummary(w io.Writer, resp *vigilv1.SummarizeFindingsResponse, byTenant, byAccount bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{}
	if byTenant {
		head = append(head, "TENANT")
	}
	if byAccount {
		head = append(head, "ACCOUNT")
	}
	head = append(head, "PILLAR", "SEVERITY", "COUNT")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, gr := range resp.Groups {
		row := []string{}
		if byTenant {
			row = append(row, gr.Tenant)
		}
		if byAccount {
			row = append(row, gr.Account)
		}
		row = append(row, finding.PillarName(gr.Pillar), strings.ToUpper(finding.SeverityName(gr.Severity)), fmt.Sprint(gr.Count))
		cells := make([]any, len(row))
		for i, c := range row {
			cells[i] = c
		}
		report.Row(tw, cells...)
	}
	fmt.Fprintf(tw, "TOTAL\t\t%d\n", resp.Total)
	return tw.Flush()
}

func newAgentsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "agents", Short: "The agents known to a vigil-server"}
	var format, tenant string
	list := &cobra.Command{
		Use:   "list",
		Short: "List agents with their last heartbeat, version and stale flag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sh, err := dialShards(g)
			if err != nil {
				return err
			}
			defer sh.Close()
			agents, err := sh.Agents(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			resp := &vigilv1.ListAgentsResponse{Agents: agents}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				return report.WriteJSON(out, resp)
			case "table":
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "TENANT\tAGENT\tVERSION\tHOST\tLAST HEARTBEAT\tLAST SCAN\tSTALE")
				for _, a := range resp.Agents {
					v := a.Version
					if a.OlderThanServer {
						v += " (older than the server)"
					}
					report.Row(tw, a.Tenant, a.Id, v, a.Hostname, ts(a.LastHeartbeat.AsTime()), ts(a.LastScan.AsTime()), a.Stale)
				}
				return tw.Flush()
			}
			return fmt.Errorf("unknown format %q (want table or json)", format)
		},
	}
	list.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	list.Flags().StringVar(&tenant, "tenant", "", "only this tenant")
	cmd.AddCommand(list)

	var retireTenant, reason string
	retire := &cobra.Command{
		Use:   "retire AGENT --tenant T",
		Short: "Retire a decommissioned agent: its open findings resolve as retired and it leaves summaries and coverage",
		Long: `Retire a decommissioned agent on every server: each open finding of its
scopes resolves with resolution "retired" (with its event), the agent
counts as neither live nor stale, and the audit log records who retired it
and why. A heartbeat from the agent brings it back. vigil-server retires
agents silent for --retire-after (30 days) on its own.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if retireTenant == "" {
				return fmt.Errorf("--tenant is required")
			}
			sh, err := dialShards(g)
			if err != nil {
				return err
			}
			defer sh.Close()
			resolved, scopes, err := sh.Retire(cmd.Context(), &vigilv1.RetireAgentRequest{Tenant: retireTenant, Agent: args[0], Reason: reason})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "agent %s/%s retired: %d open findings resolved in %d scopes\n", retireTenant, args[0], resolved, scopes)
			return nil
		},
	}
	retire.Flags().StringVar(&retireTenant, "tenant", "", "the agent's tenant")
	retire.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	cmd.AddCommand(retire)

	return cmd
}

func ts(t time.Time) string {
	if t.Unix() <= 0 {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// writeCoverageSummary prints, per tenant, what the findings above stand
// on: units assessed of those tried, scopes and agents gone stale. A file
// read by two scanners is a unit of each of their scopes, so it counts twice.
func writeCoverageSummary(w io.Writer, cov *vigilv1.ListCoverageResponse, agents []*vigilv1.Agent) error {
	type sums struct{ attempted, assessed, notAssessed, scopes, staleScopes, agents, staleAgents uint64 }
	by := map[string]*sums{}
	get := func(t string) *sums {
		if by[t] == nil {
			by[t] = &sums{}
		}
		return by[t]
	}
	for _, sc := range cov.Scopes {
		s := get(sc.Scope.GetTenant())
		s.attempted += sc.Coverage.GetUnitsAttempted()
		s.assessed += sc.Coverage.GetUnitsAssessed()
		s.notAssessed += sc.Coverage.GetUnitsNotAssessed()
		s.scopes++
		if sc.Stale || sc.AgentStale {
			s.staleScopes++
		}
	}
	for _, a := range agents {
		s := get(a.Tenant)
		s.agents++
		if a.Stale {
			s.staleAgents++
		}
	}
	tenants := make([]string, 0, len(by))
	for t := range by {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	fmt.Fprintln(w)
	for _, t := range tenants {
		s := by[t]
		if _, err := fmt.Fprintf(w, "%s: assessed %d of %d units (summed over scopes); %d not assessed; %d of %d scopes stale; %d of %d agents stale\n",
			t, s.assessed, s.attempted, s.notAssessed, s.staleScopes, s.scopes, s.staleAgents, s.agents); err != nil {
			return err
		}
	}
	return nil
}

func newScopesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "scopes", Short: "The scopes (agent, scanner, target) of the fleet, and their retirement"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List scopes with their last completed scan and state (ok, stale, agent stale, retired)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tenant, _ := cmd.Flags().GetString("tenant")
			agent, _ := cmd.Flags().GetString("agent")
			format, _ := cmd.Flags().GetString("format")
			sh, err := dialShards(g)
			if err != nil {
				return err
			}
			defer sh.Close()
			resp, err := sh.Coverage(cmd.Context(), &vigilv1.ListCoverageRequest{Tenant: tenant, Agent: agent})
			if err != nil {
				return err
			}
			if format == "json" {
				return report.WriteJSON(cmd.OutOrStdout(), resp)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tAGENT\tSCANNER\tTARGET\tLAST SCAN\tSTATE")
			for _, sc := range resp.Scopes {
				report.Row(tw, sc.Scope.GetTenant(), sc.Scope.GetAgent(), sc.Scope.GetScanner(), sc.Scope.GetTarget(), ts(sc.LastScanTime.AsTime()), scopeState(sc))
			}
			return tw.Flush()
		},
	}
	list.Flags().String("tenant", "", "only this tenant")
	list.Flags().String("agent", "", "only this agent")
	list.Flags().StringP("format", "f", "table", "output format: table or json")
	cmd.AddCommand(list)

	var req vigilv1.RetireTargetRequest
	retire := &cobra.Command{
		Use:   "retire --tenant T --agent A --target X",
		Short: "Retire the scopes of one target (a repository moved away, a cluster torn down): their open findings resolve as retired",
		Long: `Retire the scopes of one target of an agent on every server: each open
finding resolves with resolution "retired", the scopes leave summaries and
coverage, and the audit log records it. --target is the scope's target as
vigil scopes list shows it; --scanner narrows to one scanner's scope. The
agent stays; if it scans the target again, the scopes come back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Tenant == "" || req.Agent == "" || req.Target == "" {
				return fmt.Errorf("--tenant, --agent and --target are required")
			}
			sh, err := dialShards(g)
			if err != nil {
				return err
			}
			defer sh.Close()
			resolved, scopes, err := sh.RetireTarget(cmd.Context(), &req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "target %s of agent %s/%s retired: %d open findings resolved in %d scopes\n", req.Target, req.Tenant, req.Agent, resolved, scopes)
			return nil
		},
	}
	retire.Flags().StringVar(&req.Tenant, "tenant", "", "the agent's tenant")
	retire.Flags().StringVar(&req.Agent, "agent", "", "the agent")
	retire.Flags().StringVar(&req.Target, "target", "", "the target, as vigil scopes list shows it")
	retire.Flags().StringVar(&req.Scanner, "scanner", "", "only this scanner's scope of the target")
	retire.Flags().StringVar(&req.Reason, "reason", "", "why, for the audit log")
	cmd.AddCommand(retire)
	return cmd
}
