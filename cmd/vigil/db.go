package main

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/pkg/report"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// newDBCmd manages vulnerability data on disk: bundles made from OSV
// exports, and what a bundle or folder holds.
func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Make and inspect vulnerability data (OSV) for --vuln-db"}
	var outPath string
	imp := &cobra.Command{
		Use:   "import SOURCE... -o BUNDLE",
		Short: "Make one bundle of OSV records from export folders and zips (the first source wins for an id)",
		Long: `Make one bundle of OSV records: a zip that --vuln-db reads, with a manifest
of its sources, its time and its counts per ecosystem. Sources are OSV
export folders (searched for *.json and *.zip) or zips; list the freshest
first, since a record whose id an earlier source gave is left out. To hand
the data to every agent, give the same sources to vigil-server db import.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outPath == "" {
				return fmt.Errorf("name the bundle to write with -o")
			}
			m, err := vuln.WriteBundleFile(outPath, args, time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s: %d records from %d sources; %d unreadable\n", outPath, m.Records, len(m.Sources), len(m.Skipped))
			for _, s := range m.Skipped {
				fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %s\n", report.Text(s))
			}
			return nil
		},
	}
	imp.Flags().StringVarP(&outPath, "output", "o", "", "the bundle to write")

	var maxAge time.Duration
	status := &cobra.Command{
		Use:   "status DATA",
		Short: "Say what vulnerability data holds: its sources, age and records per ecosystem; exit 1 when it is stale",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := vuln.Open(args[0])
			if err != nil {
				return err
			}
			db.SetMaxAge(maxAge)
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "data\t%s\n", report.Text(filepath.Clean(args[0])))
			if m := db.Manifest; m != nil {
				fmt.Fprintf(tw, "bundle made\t%s\n", m.Created.Format(time.RFC3339))
				for _, s := range m.Sources {
					fmt.Fprintf(tw, "source\t%s (%d records)\n", report.Text(s.Path), s.Records)
				}
			}
			if age, ok := db.Age(time.Now()); ok {
				fmt.Fprintf(tw, "age\t%s\n", age.Round(time.Hour))
			} else {
				fmt.Fprintf(tw, "age\tunknown (no record says when it changed)\n")
			}
			fmt.Fprintf(tw, "records\t%d (%d unreadable)\n", db.Len(), len(db.Errors))
			for _, e := range db.Ecosystems() {
				fmt.Fprintf(tw, "  %s\t%d\n", report.Text(e.Name), e.Records)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if err := db.Stale(time.Now()); err != nil {
				fmt.Fprintln(out, "STALE:", err)
				return exitError{code: 1}
			}
			return nil
		},
	}
	status.Flags().DurationVar(&maxAge, "max-age", vuln.DefaultMaxAge, "data older than this is stale")
	cmd.AddCommand(imp, status)
	return cmd
}
