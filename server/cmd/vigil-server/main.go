// Command vigil-server runs the central Vigil server: NATS JetStream ingest
// (embedded NATS unless --nats-url is given), the bbolt store and the gRPC API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/pkg/config"
	"github.com/vigilsec/vigil/pkg/version"
	"github.com/vigilsec/vigil/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vigil-server:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("vigil-server", pflag.ContinueOnError)
	var cfg server.Config
	var common config.Common
	fs.StringVar(&cfg.DataDir, "data-dir", "./vigil-data", "directory for the store and the embedded NATS server's files")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:7433", "gRPC listen address")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "external NATS server URL; empty runs an embedded NATS server")
	fs.StringVar(&cfg.NATSListen, "nats-listen", "127.0.0.1:4222", "listen address of the embedded NATS server")
	fs.IntVar(&cfg.StreamReplicas, "stream-replicas", 1, "replicas of the JetStream streams (3 on a NATS cluster)")
	fs.IntVar(&cfg.FetchBatch, "fetch-batch", 256, "messages taken from the stream at a time")
	fs.DurationVar(&cfg.StaleAfter, "stale-after", 0, "mark agents stale after this long without a heartbeat (default 90s)")
	common.Bind(fs)
	logger, done, err := common.Load(fs, os.Args[1:], os.Stdout, version.Version)
	if err != nil || done {
		return err
	}
	cfg.Logger = logger

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}
