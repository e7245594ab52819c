package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/version"
)

// newVersionCmd prints this client's version and that of each server
// --server names; a server that does not answer is an error after the
// rest is printed.
func newVersionCmd(g *globals) *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the versions of this client and of the servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "client\t%s\n", version.Version)
			if clientOnly {
				return tw.Flush()
			}
			sh, err := dialShards(g)
			if err != nil {
				tw.Flush()
				return err
			}
			defer sh.Close()
			var failed error
			for i, conn := range sh.conns {
				ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
				info, err := vigilv1.NewServerServiceClient(conn).GetServerInfo(ctx, &vigilv1.GetServerInfoRequest{})
				cancel()
				if err != nil {
					fmt.Fprintf(tw, "server %s\tnot reachable\n", sh.addrs[i])
					failed = fmt.Errorf("server %s: %w", sh.addrs[i], err)
					continue
				}
				shard := ""
				if info.GetShards() > 1 {
					shard = fmt.Sprintf("\tshard %d of %d", info.GetShard(), info.GetShards())
					if info.GetShard() < 0 {
						shard = fmt.Sprintf("\tall %d shards", info.GetShards())
					}
				}
				fmt.Fprintf(tw, "server %s\t%s%s\n", sh.addrs[i], info.GetVersion(), shard)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return failed
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print the client's version only")
	return cmd
}
