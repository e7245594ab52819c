// Command vigil is the operator CLI: local scans without a server, the check
// catalog, and fleet queries against a vigil-server over gRPC.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/pkg/version"
)

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	var ee exitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(2)
	}
}

type globals struct {
	server    string
	checksDir string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Fleet-wide cloud-native security scanner",
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.server, "server", envOr("VIGIL_SERVER", "127.0.0.1:7433"), "vigil-server gRPC address (env VIGIL_SERVER)")
	root.PersistentFlags().StringVar(&g.checksDir, "checks-dir", os.Getenv("VIGIL_CHECKS_DIR"), "directory of extra check packs (env VIGIL_CHECKS_DIR)")
	root.AddCommand(newScanCmd(g), newSBOMCmd(g), newProbeCmd(g), newChecksCmd(g), newFindingsCmd(g), newAgentsCmd(g))
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
