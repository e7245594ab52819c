package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/report"
)

// parseExpiry reads an absolute date (2027-01-31 or RFC 3339) or a
// duration from now (90d, 12h).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("expiry %q: use a date (2027-01-31), an RFC 3339 time, or a duration (90d, 12h)", s)
}

func newSuppressCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "suppress", Short: "Manage exceptions: suppressed findings stay stored and visible, never silent"}

	var sp vigilv1.Suppression
	var expires string
	add := &cobra.Command{
		Use:   "add",
		Short: "Suppress one finding (--fingerprint) or a check's findings on matching resources (--check with selectors)",
		Example: `  vigil suppress add --check VGL-CLUSTER-004 --tenant acme --namespace legacy --reason "isolated batch node" --expires 90d
  vigil suppress add --fingerprint 3f2a… --reason "test fixture, not a real key"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			if !t.IsZero() {
				sp.Expires = timestamppb.New(t)
			}
			if sp.Reason == "" {
				return errors.New("--reason is required: an exception without a reason cannot be reviewed")
			}
			conn, err := dial(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := vigilv1.NewSuppressionServiceClient(conn).CreateSuppression(cmd.Context(), &vigilv1.CreateSuppressionRequest{Suppression: &sp})
			if err != nil {
				return fmt.Errorf("suppress: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "suppression %s by %s: %d finding(s) suppressed\n", resp.Suppression.Id, resp.Suppression.Author, resp.Affected)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&sp.Fingerprint, "fingerprint", "", "suppress the finding with this fingerprint")
	f.StringVar(&sp.CheckId, "check", "", "suppress findings of this check id")
	f.StringVar(&sp.Tenant, "tenant", "", "only in this tenant (required for callers scoped to several tenants)")
	f.StringVar(&sp.Account, "account", "", "only in this cloud account or cluster")
	f.StringVar(&sp.Namespace, "namespace", "", "only in this Kubernetes namespace")
	f.StringVar(&sp.NamePattern, "name", "", "only resources whose name or URI matches this glob (payments-*)")
	f.StringVar(&sp.Reason, "reason", "", "why the finding is accepted (required)")
	f.StringVar(&expires, "expires", "", "when the exception ends: a date, RFC 3339 time or duration (90d); default never")

	var tenant, format string
	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List exceptions in force (--all adds expired and revoked ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := dial(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := vigilv1.NewSuppressionServiceClient(conn).ListSuppressions(cmd.Context(), &vigilv1.ListSuppressionsRequest{Tenant: tenant, IncludeEnded: all})
			if err != nil {
				return fmt.Errorf("list suppressions: %w", err)
			}
			if format == "json" {
				return report.WriteJSON(cmd.OutOrStdout(), resp)
			}
			return suppressionTable(cmd.OutOrStdout(), resp.Suppressions)
		},
	}
	list.Flags().StringVar(&tenant, "tenant", "", "only this tenant")
	list.Flags().BoolVar(&all, "all", false, "include expired and revoked suppressions")
	list.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "End an exception now; its findings are open again (with events)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := dial(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := vigilv1.NewSuppressionServiceClient(conn).RevokeSuppression(cmd.Context(), &vigilv1.RevokeSuppressionRequest{Id: args[0]})
			if err != nil {
				return fmt.Errorf("revoke: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "suppression %s revoked by %s: %d finding(s) open again\n", resp.Suppression.Id, resp.Suppression.EndedBy, resp.Affected)
			return nil
		},
	}

	var auditTenant, auditFormat string
	audit := &cobra.Command{
		Use:   "audit",
		Short: "Show who created, revoked or let expire which exception, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := dial(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			client := vigilv1.NewSuppressionServiceClient(conn)
			var entries []*vigilv1.AuditEntry
			token := ""
			for {
				resp, err := client.ListAudit(cmd.Context(), &vigilv1.ListAuditRequest{Tenant: auditTenant, PageToken: token})
				if err != nil {
					return fmt.Errorf("audit: %w", err)
				}
				entries = append(entries, resp.Entries...)
				if token = resp.NextPageToken; token == "" {
					break
				}
			}
			if auditFormat == "json" {
				return report.WriteJSON(cmd.OutOrStdout(), &vigilv1.ListAuditResponse{Entries: entries})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tSUPPRESSION\tSELECTS\tFINDINGS\tREASON")
			for _, e := range entries {
				report.Row(tw, ts(e.Time.AsTime()), e.Actor, e.Action, e.Suppression.GetId(), selects(e.Suppression), e.Affected, e.Suppression.GetReason())
			}
			return tw.Flush()
		},
	}
	audit.Flags().StringVar(&auditTenant, "tenant", "", "only this tenant")
	audit.Flags().StringVarP(&auditFormat, "format", "f", "table", "output format: table or json")

	cmd.AddCommand(add, list, revoke, audit)
	return cmd
}

// selects describes what a suppression selects, in one line.
func selects(s *vigilv1.Suppression) string {
	var parts []string
	if s.GetFingerprint() != "" {
		parts = append(parts, "fingerprint="+s.Fingerprint[:min(12, len(s.Fingerprint))]+"…")
	}
	for _, kv := range [][2]string{{"check", s.GetCheckId()}, {"tenant", s.GetTenant()}, {"account", s.GetAccount()}, {"namespace", s.GetNamespace()}, {"name", s.GetNamePattern()}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

func suppressionTable(out io.Writer, list []*vigilv1.Suppression) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSELECTS\tREASON\tAUTHOR\tCREATED\tEXPIRES\tENDED")
	for _, s := range list {
		expires, ended := "never", "-"
		if s.Expires != nil {
			expires = ts(s.Expires.AsTime())
		}
		if s.Ended != nil {
			ended = ts(s.Ended.AsTime()) + " (" + s.EndedBy + ")"
		}
		report.Row(tw, s.Id, selects(s), s.Reason, s.Author, ts(s.Created.AsTime()), expires, ended)
	}
	return tw.Flush()
}

func newBackupCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Stream a consistent snapshot of the server's store to a file (restore it with vigil-server restore)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			conn, err := dial(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			stream, err := vigilv1.NewBackupServiceClient(conn).Backup(cmd.Context(), &vigilv1.BackupRequest{})
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			tmp := out + ".partial"
			f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			defer os.Remove(tmp)
			var n int64
			for {
				chunk, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					f.Close()
					return fmt.Errorf("backup: %w", err)
				}
				k, err := f.Write(chunk.Data)
				n += int64(k)
				if err != nil {
					f.Close()
					return fmt.Errorf("backup: %w", err)
				}
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return fmt.Errorf("backup: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			if err := os.Rename(tmp, out); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", out, n)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write the snapshot to")
	return cmd
}
