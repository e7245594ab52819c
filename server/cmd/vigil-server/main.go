// Command vigil-server runs the central Vigil server: NATS JetStream ingest
// (embedded NATS unless --nats-url is given), the bbolt store and the gRPC
// API. Its subcommands set up trust (init, agent-credentials, …) and look
// after the store (compact, restore, check).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/pkg/config"
	"github.com/vigilsec/vigil/pkg/telemetry"
	"github.com/vigilsec/vigil/pkg/version"
	"github.com/vigilsec/vigil/server"
	"github.com/vigilsec/vigil/server/store"
)

func main() {
	// Help asked for is not a failure.
	if err := run(os.Args[1:], os.Stdout); err != nil && !errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "vigil-server:", err)
		os.Exit(1)
	}
}

type command struct {
	summary string
	run     func(args []string, out io.Writer) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":             {"run the server (the default)", serve},
		"init":              {"create the CA, server certificate and NATS credentials in the data dir", initTrust},
		"agent-credentials": {"issue an agent's client certificate and NATS credentials", agentCredentials},
		"siem-credentials":  {"issue NATS credentials that read the events of some tenants", siemCredentials},
		"client-cert":       {"issue a gRPC client certificate (role viewer or admin) for operators and tools", clientCert},
		"token":             {"create (or --revoke) a gRPC bearer token; the token is printed once", token},
		"renew-server-cert": {"issue a new server certificate in place; running servers reload it", renewServerCert},
		"revoke":            {"revoke an agent, SIEM, client or token credential; running servers refuse it within seconds", revoke},
		"rotate":            {"issue a replacement for an agent, SIEM, client or token credential", rotate},
		"credentials":       {"list issued credentials, their expiry and revocation", listCredentials},
		"move-signing-keys": {"move signing keys an older init left in the data dir to the signing dir", moveSigningKeys},
		"compact":           {"rewrite the store file without free pages (server stopped)", compact},
		"restore":           {"replace the store with a backup snapshot (server stopped)", restore},
		"check":             {"verify the store file's pages and invariants", check},
		"db":                {"import vulnerability data (OSV folders or zips) that every agent started with --vuln-db server fetches", dbImport},
		// checkFile is check's child: the one place a damaged file is read.
		"check-file": {"(internal) check one store file in this process", checkFile},
	}
}

func run(args []string, out io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c, ok := commands[args[0]]
		if !ok {
			return fmt.Errorf("unknown command %q; commands: %s", args[0], commandList())
		}
		return c.run(args[1:], out)
	}
	return serve(args, out)
}

func commandList() string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("vigil-server "+name, pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "vigil-server %s: %s\n\n%s", name, commands[name].summary, fs.FlagUsages())
	}
	return fs
}

func serve(args []string, out io.Writer) error {
	fs := newFlags("serve")
	var cfg server.Config
	var common config.Common
	fs.StringVar(&cfg.DataDir, "data-dir", "./vigil-data", "directory for the store, the embedded NATS server's files and the trust (init)")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:7433", "gRPC listen address")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "external NATS server URL; empty runs an embedded NATS server")
	fs.StringVar(&cfg.NATSListen, "nats-listen", "127.0.0.1:4222", "listen address of the embedded NATS server")
	fs.IntVar(&cfg.StreamReplicas, "stream-replicas", 1, "replicas of the JetStream streams (3 on a NATS cluster)")
	fs.IntVar(&cfg.FetchBatch, "fetch-batch", 256, "messages taken from the stream at a time")
	fs.DurationVar(&cfg.StaleAfter, "stale-after", 0, "mark agents stale after this long without a heartbeat (default 90s)")
	fs.IntVar(&cfg.Shards, "shards", 1, "write shards: the findings stream is partitioned by tenant and agent (needs the NATS subject mapping of the README)")
	fs.IntVar(&cfg.Shard, "shard", 0, "the shard this server consumes, 0 to shards-1 (-1: all shards, a full view)")
	fs.StringVar(&cfg.Consumer, "consumer", "", "durable consumer name (default vigil-server, or vigil-server-shard-<n>); each replica of a read scale-out needs its own")
	fs.BoolVar(&cfg.TLS, "tls", false, "use the trust made by init: TLS and authentication on gRPC, TLS and per-agent credentials on NATS")
	fs.DurationVar(&cfg.RetainResolved, "retain-resolved", 90*24*time.Hour, "purge resolved findings this long after they resolved (0 keeps them)")
	fs.DurationVar(&cfg.RetireAfter, "retire-after", 30*24*time.Hour, "retire an agent this long after its last heartbeat, resolving its findings (0 never)")
	fs.IntVar(&cfg.Quotas.FindingsPerScan, "quota-findings-per-scan", 250_000, "findings one scan of one scope may carry; a scan over it is refused (dead-lettered, ingest.quota event); 0: no bound")
	fs.Int64Var(&cfg.Quotas.BytesPerMinute, "quota-bytes-per-minute", 512<<20, "message bytes one agent may send per minute; a scan over it is refused; 0: no bound")
	fs.IntVar(&cfg.MaxConnections, "max-connections", server.DefaultMaxConnections, "concurrent gRPC connections; one more is closed at once")
	memLimit := fs.Int64("memory-limit-mb", 384, "soft limit of the Go heap in MiB: the collector works harder near it instead of letting the heap double (GOMEMLIMIT, when set, wins); 0: none")
	metricsAddr := fs.String("metrics-addr", "", "address of a Prometheus /metrics endpoint, like 127.0.0.1:9464 (empty: none); OTLP export follows OTEL_EXPORTER_OTLP_ENDPOINT")
	common.Bind(fs)
	logger, done, err := common.Load(fs, args, out, version.Version)
	if err != nil || done {
		return err
	}
	cfg.Logger = logger
	if *memLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(*memLimit << 20)
	}
	if path := storePath(cfg.DataDir); fileExists(path) {
		if err := checkInChild(path, false); err != nil {
			return fmt.Errorf("store %s is damaged, refusing to run on it: %w; put a backup in place with vigil-server restore --data-dir %s --from BACKUP", path, err, cfg.DataDir)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTelemetry, err := telemetry.Start(ctx, "vigil-server", version.Version, *metricsAddr, logger)
	if err != nil {
		return err
	}
	defer stopTelemetry()

	s, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

func storePath(dataDir string) string { return filepath.Join(dataDir, "vigil.db") }

func compact(args []string, out io.Writer) error {
	fs := newFlags("compact")
	dataDir := fs.String("data-dir", "./vigil-data", "data directory of the server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src := storePath(*dataDir)
	tmp := src + ".compacting"
	os.Remove(tmp)
	before, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if err := store.Compact(src, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, src); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	after, _ := os.Stat(src)
	fmt.Fprintf(out, "compacted %s: %d → %d bytes\n", src, before.Size(), after.Size())
	return nil
}

func restore(args []string, out io.Writer) error {
	fs := newFlags("restore")
	dataDir := fs.String("data-dir", "./vigil-data", "data directory of the server")
	from := fs.String("from", "", "backup snapshot (vigil backup writes one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("restore: --from is required")
	}
	// The snapshot is checked in a child before anything is replaced: a
	// damaged one fails the restore and leaves the data dir as it was.
	if err := checkInChild(*from, false); err != nil {
		return fmt.Errorf("restore: %s cannot be restored: %w", *from, err)
	}
	if err := store.Restore(*from, storePath(*dataDir)); err != nil {
		return err
	}
	fmt.Fprintf(out, "restored %s from %s; agents whose scopes differ are asked for a full resend at their next scan\n", storePath(*dataDir), *from)
	return nil
}

// checkInChild checks a store file in a child process (check-file): bbolt
// reads pages on goroutines of its own, where damage can end the process
// with a panic no caller can recover from, so the file is read where a
// crash is only an answer. pagesOnly skips the finding invariants.
func checkInChild(path string, pagesOnly bool) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("store check: %w", err)
	}
	args := []string{"check-file", "--file", path}
	if pagesOnly {
		args = append(args, "--pages-only")
	}
	// Damaged pages can also send the reader round in circles: a check that
	// outlives a generous bound for the file's size counts as damage.
	limit := 10 * time.Second
	if st, err := os.Stat(path); err == nil {
		limit += time.Duration(st.Size()/(10<<20)) * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, exe, args...).CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("damaged: the check did not finish within %s", limit)
	}
	if err != nil {
		return errors.New(damage(out))
	}
	slog.Debug("store checked", "store", path, "pages_only", pagesOnly, "took", time.Since(start))
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// damage describes a failed child check: its error, or the panic that
// ended it.
func damage(out []byte) string {
	text := string(out)
	if i := strings.Index(text, "panic: "); i >= 0 {
		line, _, _ := strings.Cut(text[i+len("panic: "):], "\n")
		return "damaged: the page reader failed: " + strings.TrimSpace(line)
	}
	return firstLine(out)
}

// firstLine is the first non-empty line of a child's output, without the
// "vigil-server:" prefix.
func firstLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "vigil-server:")); l != "" {
			return l
		}
	}
	return "the check failed without output"
}

func check(args []string, out io.Writer) error {
	fs := newFlags("check")
	dataDir := fs.String("data-dir", "./vigil-data", "data directory of the server")
	pagesOnly := fs.Bool("pages-only", false, "check the file's pages only, not the finding invariants (faster)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := storePath(*dataDir)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if err := checkInChild(path, *pagesOnly); err != nil {
		return fmt.Errorf("store %s is damaged: %w; stop the server and put a backup in place with vigil-server restore --data-dir %s --from BACKUP", path, err, *dataDir)
	}
	what := "pages and invariants"
	if *pagesOnly {
		what = "pages"
	}
	fmt.Fprintf(out, "%s: %s OK\n", path, what)
	return nil
}

// checkFile opens one store file and checks it, in this process.
func checkFile(args []string, out io.Writer) (err error) {
	fs := newFlags("check-file")
	file := fs.String("file", "", "store file")
	pagesOnly := fs.Bool("pages-only", false, "pages only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("damaged: the page reader failed: %v", r)
		}
	}()
	s, err := store.Open(*file, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		return fmt.Errorf("pages: %w", err)
	}
	schema, err := s.Schema()
	if err != nil {
		return err
	}
	if !*pagesOnly && schema == store.SchemaVersion { // an older file is verified once migrated
		if err := s.Verify(); err != nil {
			return fmt.Errorf("invariants: %w", err)
		}
	}
	fmt.Fprintln(out, "OK")
	return nil
}
