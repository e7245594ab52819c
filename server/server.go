// Package server is the central Vigil server: it consumes agents' findings
// from NATS JetStream, deduplicates them into a lifecycle in a bbolt store,
// publishes lifecycle events and answers gRPC queries.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pki"
	"github.com/vigilsec/vigil/server/store"
	"github.com/vigilsec/vigil/server/trust"
)

// Config configures a server. Zero values take the defaults noted.
type Config struct {
	// DataDir holds the store file and the embedded NATS server's JetStream files.
	DataDir string
	// GRPCAddr is the gRPC listen address (default 127.0.0.1:7433; port 0 picks one).
	GRPCAddr string
	// NATSURL points at an external NATS server; empty starts an embedded one.
	NATSURL string
	// NATSListen is the embedded NATS server's address (default
	// 127.0.0.1:4222; port -1 picks one).
	NATSListen string
	// StreamReplicas is the replica count of the streams (default 1).
	StreamReplicas int
	// FetchBatch is how many messages one store transaction takes (default 256).
	FetchBatch int
	// StaleAfter marks agents stale after this long without a heartbeat
	// (default three heartbeat intervals of 30 s).
	StaleAfter time.Duration
	// Consumer is the durable consumer name (default vigil-server, or
	// vigil-server-shard-<n> for a shard).
	Consumer string
	// Shards is the number of write shards (default 1: none); Shard is the
	// one this server consumes (-1: all of them, a full view). Sharding
	// needs an external NATS whose account maps findings subjects with
	// bus.ShardMappings.
	Shards, Shard int
	// NoSync skips fsync of the store; for benchmarks only.
	NoSync bool
	// TLS turns on the trust of <DataDir>/trust (vigil-server init): TLS
	// and caller authentication on gRPC, and on NATS TLS with per-agent
	// credentials (the embedded server is configured so; an external one
	// must use the generated nats-server.conf).
	TLS bool
	// RetainResolved purges resolved findings this long after they
	// resolved (0 keeps them forever).
	RetainResolved time.Duration
	// SweepEvery is how often expired suppressions are ended (default 10s).
	SweepEvery time.Duration
	// RetireAfter retires an agent this long after its last heartbeat:
	// its findings resolve as retired (0 never retires on its own).
	RetireAfter time.Duration
	// Quotas bound each agent's ingest (zero: no bound).
	Quotas Quotas
	// MaxConnections bounds concurrent gRPC connections (default
	// DefaultMaxConnections).
	MaxConnections int
	Logger         *slog.Logger
}

// Server is a running Vigil server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store *store.Store
	ns    *natsserver.Server
	nc    *nats.Conn
	js    jetstream.JetStream
	grpc  *grpc.Server
	lis   net.Listener
	hub   *hub
	reads reads
	quota *quota
	// watchStall ends a watch whose client read nothing for this long.
	watchStall time.Duration
	stats      stats
	auth       *authenticator
	m          meters
	trust      *trust.Trust
	tls        *pki.Reloader
	hbSub      *nats.Subscription
	beats      heartbeats
	// traceCommit, when set, sees every committed chunk with the times of
	// its legs (see commitLegs): how the load benchmark breaks down the
	// delay from ack to visible.
	traceCommit atomic.Pointer[func(commitLegs)]
	// ctlSub answers agents' reads of their control requests.
	ctlSub *nats.Subscription
	// ctlStream is the control stream's handle, looked up once.
	ctlStream jetstream.Stream
	// vulns guards the copy of the vulnerability bundle served to agents.
	vulns vulnCache
	// kickEvents wakes the event outbox's publisher after a commit.
	kickEvents chan struct{}
	eventsDone chan struct{}

	closeOnce sync.Once
}

// New opens the store, starts or connects to NATS, creates the streams and
// binds the gRPC listener. Serve runs it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, hub: newHub(), quota: newQuota(cfg.Quotas), reads: make(reads, maxConcurrentReads), watchStall: watchStall, kickEvents: make(chan struct{}, 1), eventsDone: make(chan struct{}),
		auth: &authenticator{}}
	natsOpts, grpcOpts, err := s.loadTrust()
	if err != nil {
		return nil, err
	}
	if s.store, err = store.Open(filepath.Join(cfg.DataDir, "vigil.db"), store.Options{NoSync: cfg.NoSync}); err != nil {
		return nil, err
	}
	if err := s.connectNATS(ctx, natsOpts); err != nil {
		s.Close()
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("gRPC listen %s: %w", cfg.GRPCAddr, err)
	}
	s.lis = newLimitListener(lis, cfg.MaxConnections)
	s.newMeters()
	s.grpc = s.newGRPC(grpcOpts...)
	return s, nil
}

// defaults fills the settings left unset and refuses those that cannot
// work together.
func (cfg *Config) defaults() error {
	if cfg.DataDir == "" {
		return errors.New("data dir is required")
	}
	cfg.GRPCAddr = cmp.Or(cfg.GRPCAddr, "127.0.0.1:7433")
	cfg.NATSListen = cmp.Or(cfg.NATSListen, "127.0.0.1:4222")
	if cfg.FetchBatch <= 0 {
		cfg.FetchBatch = 256
	}
	if cfg.Shards <= 1 {
		cfg.Shards, cfg.Shard = 1, 0
	}
	if cfg.Shards > 1 && cfg.NATSURL == "" {
		return errors.New("write shards need an external NATS (--nats-url) whose account maps the findings subjects")
	}
	if cfg.Shard >= cfg.Shards || cfg.Shard < -1 {
		return fmt.Errorf("shard %d of %d does not exist (0 to %d, or -1 for all)", cfg.Shard, cfg.Shards, cfg.Shards-1)
	}
	if cfg.Consumer == "" {
		switch {
		case cfg.Shards > 1 && cfg.Shard >= 0:
			cfg.Consumer = fmt.Sprintf("vigil-server-shard-%d", cfg.Shard)
		case cfg.Shards > 1:
			cfg.Consumer = "vigil-server-all-shards"
		default:
			cfg.Consumer = "vigil-server"
		}
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = store.StaleAfter(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 10 * time.Second
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	return nil
}

// loadTrust loads the trust material of a TLS server (CA, server key and
// certificate, tokens) and returns the NATS and gRPC options that use it.
func (s *Server) loadTrust() ([]nats.Option, []grpc.ServerOption, error) {
	if !s.cfg.TLS {
		if !isLoopback(s.cfg.GRPCAddr) {
			s.log.Warn("gRPC listens beyond loopback without --tls: anyone who reaches it can read and change everything", "addr", s.cfg.GRPCAddr)
		}
		return nil, nil, nil
	}
	var err error
	if s.trust, err = trust.Load(s.cfg.DataDir); err != nil {
		return nil, nil, err
	}
	if s.tls, err = pki.NewReloader(pki.Files{CA: s.trust.Path(trust.CAFile), Cert: s.trust.Path(trust.ServerCertFile), Key: s.trust.Path(trust.ServerKeyFile)}); err != nil {
		return nil, nil, err
	}
	if s.auth.tokens, err = trust.LoadTokens(s.trust.Path(trust.TokensFile)); err != nil {
		return nil, nil, err
	}
	if s.auth.revoked, err = trust.WatchRevoked(s.trust.Path(trust.RevokedFile)); err != nil {
		return nil, nil, err
	}
	if keys := s.trust.LegacyKeys(); len(keys) > 0 {
		s.log.Warn("signing keys lie in the data directory: whoever copies it can issue credentials; move them with vigil-server move-signing-keys",
			"files", keys)
	}
	// Client certificates are optional on gRPC (a bearer token will do)
	// but always verified when presented.
	grpcOpts := []grpc.ServerOption{grpc.Creds(credentials.NewTLS(s.tls.ServerConfig(tls.VerifyClientCertIfGiven)))}
	natsOpts := []nats.Option{nats.Secure(s.tls.ClientConfig("")), nats.UserCredentials(s.trust.Path(trust.ServerCreds))}
	return natsOpts, grpcOpts, nil
}

// connectNATS starts the embedded NATS unless an external one is
// configured, connects, makes sure the streams exist and subscribes to
// heartbeats.
func (s *Server) connectNATS(ctx context.Context, natsOpts []nats.Option) error {
	url := s.cfg.NATSURL
	var err error
	if url == "" {
		if s.ns, err = startNATS(s.cfg.NATSListen, filepath.Join(s.cfg.DataDir, "nats"), s.trust, s.tls); err != nil {
			return err
		}
		url = s.ns.ClientURL()
		s.log.Info("embedded NATS started", "url", url, "tls", s.cfg.TLS)
	}
	natsOpts = append(natsOpts, nats.Name("vigil-server"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				s.log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { s.log.Info("NATS reconnected", "url", nc.ConnectedUrl()) }))
	if s.nc, err = nats.Connect(url, natsOpts...); err != nil {
		return fmt.Errorf("connect NATS %s: %w", url, err)
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if err := bus.EnsureStreams(ctx, s.js, s.cfg.StreamReplicas, s.cfg.Shards); err != nil {
		return err
	}
	// Heartbeats are taken from here on, so none sent once New returns is lost.
	if s.hbSub, err = s.nc.Subscribe("vigil.agents.>", s.onHeartbeat); err != nil {
		return fmt.Errorf("subscribe heartbeats: %w", err)
	}
	if s.ctlStream, err = s.js.Stream(ctx, bus.ControlStream); err != nil {
		return fmt.Errorf("control stream: %w", err)
	}
	// Any one server answers a control read.
	if s.ctlSub, err = s.nc.QueueSubscribe("vigil.controlread.>", "vigil-server", s.onControlRead); err != nil {
		return fmt.Errorf("subscribe control reads: %w", err)
	}
	if err := s.nc.Flush(); err != nil {
		return fmt.Errorf("subscribe heartbeats: %w", err)
	}
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// GRPCAddr is the address the gRPC server listens on.
func (s *Server) GRPCAddr() string { return s.lis.Addr().String() }

// NATSURL is the URL agents connect to (the embedded server's, or the
// configured external one).
func (s *Server) NATSURL() string {
	if s.ns != nil {
		return s.ns.ClientURL()
	}
	return s.cfg.NATSURL
}

// Store gives tests and tools read access to the store.
func (s *Server) Store() *store.Store { return s.store }

// Serve ingests and answers queries until ctx ends, then shuts down
// gracefully: the batch in progress commits, gRPC calls finish, the store
// closes.
func (s *Server) Serve(ctx context.Context) error {
	grpcErr := make(chan error, 1)
	go func() { grpcErr <- s.grpc.Serve(s.lis) }()
	stopEvents := make(chan struct{})
	go s.publishEvents(stopEvents)
	ingestCtx, stopIngest := context.WithCancel(ctx)
	defer stopIngest()
	ingestErr := make(chan error, 1)
	go func() { ingestErr <- s.ingest(ingestCtx) }()
	var upkeep sync.WaitGroup
	upkeep.Go(func() { s.sweep(ingestCtx) })
	upkeep.Go(func() { s.writeHeartbeats(ingestCtx) })
	if s.trust != nil {
		upkeep.Go(func() { s.followAccount(ingestCtx) })
	}
	s.log.Info("vigil-server ready", "grpc", s.GRPCAddr(), "nats", s.NATSURL())

	var runErr error
	ingestDone := false
	select {
	case <-ctx.Done():
	case runErr = <-grpcErr:
	case runErr = <-ingestErr:
		ingestDone = true
	}
	stopIngest()
	s.hbSub.Unsubscribe()
	s.ctlSub.Unsubscribe()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	s.hub.closeAll()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		s.grpc.Stop()
	}
	if !ingestDone {
		// The ingest finishes the batch in hand before it returns.
		if err := <-ingestErr; runErr == nil {
			runErr = err
		}
	}
	upkeep.Wait()
	close(stopEvents)
	<-s.eventsDone
	s.nc.Flush()
	s.Close()
	s.log.Info("vigil-server stopped")
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return runErr
}

// Close releases everything without waiting; Serve calls it on the way out.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.nc != nil {
			s.nc.Drain()
			s.nc.Close()
		}
		if s.ns != nil {
			s.ns.Shutdown()
			s.ns.WaitForShutdown()
		}
		if s.m.agentsReg != nil {
			s.m.agentsReg.Unregister()
		}
		if s.store != nil {
			// Heartbeats that came since the last flush, the drain's too.
			if _, _, err := s.beats.flush(s.store); err != nil {
				s.log.Error("store heartbeats", "err", err)
			}
			if err := s.store.Close(); err != nil {
				s.log.Error("close store", "err", err)
			}
		}
	})
}
