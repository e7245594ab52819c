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
	// TLS towards the server: the CA that signed its certificate, an
	// optional client certificate, or a bearer token.
	ca, cert, key, tokenFile string
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
	root.PersistentFlags().StringVar(&g.ca, "ca", os.Getenv("VIGIL_CA"), "CA certificate of a vigil-server running with --tls (env VIGIL_CA)")
	root.PersistentFlags().StringVar(&g.cert, "cert", os.Getenv("VIGIL_CERT"), "client certificate from vigil-server client-cert (env VIGIL_CERT)")
	root.PersistentFlags().StringVar(&g.key, "key", os.Getenv("VIGIL_KEY"), "key of the client certificate (env VIGIL_KEY)")
	root.PersistentFlags().StringVar(&g.tokenFile, "token-file", os.Getenv("VIGIL_TOKEN_FILE"), "file holding a bearer token from vigil-server token (env VIGIL_TOKEN_FILE, or the token itself in VIGIL_TOKEN)")
	root.AddCommand(newScanCmd(g), newSBOMCmd(g), newProbeCmd(g), newChecksCmd(g), newFindingsCmd(g), newAgentsCmd(g), newScopesCmd(g), newSuppressCmd(g), newBackupCmd(g), newEventsCmd(g), newCoverageCmd(g), newAnalyzersCmd(g), newVersionCmd(g), newDBCmd())
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
