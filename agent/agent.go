// Package agent is the Vigil agent runtime: it scans its targets on a
// schedule, writes what changed to a bbolt outbox and publishes the outbox
// to NATS JetStream, deleting each message only after JetStream acked it.
package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/version"
)

// Config configures an agent.
type Config struct {
	NATSURL string
	Tenant  string
	ID      string
	// Credentials is a directory written by vigil-server agent-credentials:
	// with it the agent talks TLS to NATS, presents its client certificate
	// and authenticates with its NATS credentials. The files are re-read
	// when they change, so they rotate without a restart.
	Credentials string
	// Via is the name of the tenant-wide credential the agent speaks
	// through, read from the credentials ("" for a credential of its own):
	// the server knows the agent as <ID>@<Via>.
	Via string
	// Spec is what the agent scans; its tenant and agent are the agent's.
	Spec Spec
	// Scanner runs the scans (default: an Exec of the vigil-agent-scan
	// beside the agent's executable).
	Scanner Scanner
	// Once scans once, drains the outbox and returns.
	Once bool
	// Interval between scans when not Once (default 1h).
	Interval time.Duration
	// DrainTimeout bounds how long Once waits for the outbox to drain
	// (default 1m); what is left stays for the next start.
	DrainTimeout time.Duration
	// DataDir holds the outbox file (default DefaultDataDir()).
	DataDir string
	// HeartbeatInterval between heartbeats (default 15s).
	HeartbeatInterval time.Duration
	// FullEvery sends every scope's full set every this many scans (default 24).
	FullEvery int
	// BatchFindings caps findings per FindingBatch (default 500).
	BatchFindings int
	Logger        *slog.Logger

	// defaultedDataDir is set when Validate chose DataDir.
	defaultedDataDir bool
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.NATSURL == "" {
		errs = append(errs, errors.New("--nats-url is required"))
	}
	c.identityFromCredentials()
	if err := bus.ValidateID("tenant", c.Tenant); err != nil {
		errs = append(errs, err)
	}
	if err := bus.ValidateID("agent id", c.ID); err != nil {
		errs = append(errs, err)
	}
	if c.Credentials != "" {
		via, err := checkCredentials(c.Credentials, c.Tenant, c.ID)
		if err != nil {
			errs = append(errs, err)
		}
		c.Via = via
	}
	if c.Spec.empty() {
		errs = append(errs, errors.New("no targets: give one or more paths to scan, --node-root, --kubeconfig or --in-cluster"))
	}
	c.Spec.Tenant, c.Spec.Agent = c.Tenant, c.ID
	if c.DataDir == "" {
		dir, err := DefaultDataDir()
		if err != nil {
			errs = append(errs, err)
		}
		c.DataDir = dir
		c.defaultedDataDir = true
	}
	c.defaults()
	return errors.Join(errs...)
}

// identityFromCredentials fills the tenant and agent id the credentials'
// certificate names, when they were not given: the certificate names the
// tenant, and the agent unless it is a tenant-wide credential.
func (c *Config) identityFromCredentials() {
	if c.Credentials == "" || (c.Tenant != "" && c.ID != "") {
		return
	}
	who, err := credentialIdentity(c.Credentials)
	if err != nil {
		return // checkCredentials reports it
	}
	if c.Tenant == "" && len(who.Tenants) == 1 {
		c.Tenant = who.Tenants[0]
	}
	if c.ID == "" && !wide(who.Name) {
		c.ID = who.Name
	}
}

// sender is who the agent's messages come from, as its credentials prove.
func (c *Config) sender() bus.Sender { return bus.Sender{Tenant: c.Tenant, Agent: c.ID, Via: c.Via} }

// defaults fills the settings left unset.
func (c *Config) defaults() {
	if c.Interval <= 0 {
		c.Interval = time.Hour
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = time.Minute
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Agent is a configured agent.
type Agent struct {
	// closing is set before the agent closes its NATS connection itself.
	closing atomic.Bool
	cfg     Config
	log     *slog.Logger
	scanner Scanner
	outbox  *Outbox

	nc     *nats.Conn
	js     jetstream.JetStream
	meters meters

	kickPublish chan struct{}
	lastScan    atomic.Int64
	// remapDue is set by a scan round and cleared when the outbox, once
	// drained, has been remapped (see Outbox.Remap).
	remapDue atomic.Bool
	scopesMu sync.Mutex
	scopes   []*vigilv1.Scope
	// complete says scopes came from a round in which every target was
	// scanned (see Heartbeat.scopes_complete).
	complete bool
}

// ErrNotDrained is returned by Run in Once mode when the outbox still holds
// messages at the drain timeout; they are sent at the next start.
var ErrNotDrained = errors.New("outbox not drained before the drain timeout; the backlog is kept for the next start")

// New checks the spec with the scanner and opens the outbox.
func New(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Scanner == nil {
		path, err := FindWorker()
		if err != nil {
			return nil, err
		}
		cfg.Scanner = Exec{Path: path, Logger: cfg.Logger.With("tenant", cfg.Tenant, "agent", cfg.ID)}
	}
	// Check packs, vulnerability data, keys and a cluster configuration
	// that do not load are an error at start, not a silent scope.
	if err := cfg.Scanner.Check(context.Background(), cfg.checkSpec()); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if cfg.defaultedDataDir {
		// An outbox an earlier release left in the folder the agent was
		// started from may hold scans not yet sent: say where it is.
		if _, err := os.Stat(filepath.Join(LegacyDataDir, "outbox.db")); err == nil {
			cfg.Logger.Warn("an outbox of an earlier release is in the current folder and is not used; run once with --data-dir "+LegacyDataDir+" to send what it holds",
				"folder", LegacyDataDir, "data_dir", cfg.DataDir)
		}
	}
	ob, err := OpenOutbox(filepath.Join(cfg.DataDir, "outbox.db"))
	if err != nil {
		return nil, err
	}
	return &Agent{meters: newMeters(), cfg: cfg, log: cfg.Logger.With("tenant", cfg.Tenant, "agent", cfg.ID), scanner: cfg.Scanner, outbox: ob,
		kickPublish: make(chan struct{}, 1)}, nil
}

// Outbox exposes the agent's outbox, for tests and tools.
func (a *Agent) Outbox() *Outbox { return a.outbox }

// errConnectionClosed ends Run when NATS closed the connection for good.
var errConnectionClosed = errors.New("NATS closed the connection for good (credentials revoked or expired?)")

// Run connects to NATS (retrying in the background while it is down),
// scans, publishes and heartbeats until ctx ends, or in Once mode until
// the outbox drained.
func (a *Agent) Run(ctx context.Context) (err error) {
	defer a.outbox.Close()
	// NATS gives up on the connection when it refuses the credentials
	// twice in a row (revoked or expired): the agent then stops with that
	// reason instead of scanning into an outbox nothing will drain.
	ctx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	defer func() {
		if cause := context.Cause(ctx); errors.Is(cause, errConnectionClosed) {
			err = cause
		}
	}()
	opts, err := a.credentialOptions()
	if err != nil {
		return err
	}
	var lastReconnectErr string
	opts = append(opts, nats.Name("vigil-agent "+a.cfg.Tenant+"/"+a.cfg.ID),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if a.closing.Load() {
				return
			}
			stopRun(fmt.Errorf("%w: %w", errConnectionClosed, cmp.Or(nc.LastError(), errors.New("no error given"))))
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil && err.Error() != lastReconnectErr {
				lastReconnectErr = err.Error()
				a.log.Warn("NATS reconnect failed; retrying", "err", err)
			}
		}),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				a.log.Warn("NATS disconnected; scans continue into the outbox", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			a.log.Info("NATS reconnected; sending the backlog")
			a.kick(a.kickPublish)
		}))
	a.nc, err = nats.Connect(a.cfg.NATSURL, opts...)
	if err != nil {
		return fmt.Errorf("NATS %s: %w", a.cfg.NATSURL, err)
	}
	defer func() { a.closing.Store(true); a.nc.Close() }()
	if a.js, err = jetstream.New(a.nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	wg.Add(2)
	go func() { defer wg.Done(); a.publishLoop(runCtx) }()
	go func() { defer wg.Done(); a.heartbeatLoop(runCtx) }()

	// Requests the server stored while the agent was away apply before the
	// first scan, so a scope the server asked for is sent in full.
	if a.nc.IsConnected() {
		if err := a.readControl(ctx); err != nil {
			a.log.Warn("control requests not read", "err", err)
		}
	}
	if a.cfg.Once {
		// What a failed round did scan is still sent before the failure is
		// reported.
		scanErr := a.ScanOnce(ctx)
		if scanErr != nil && !errors.Is(scanErr, ErrRoundIncomplete) {
			return scanErr
		}
		return cmp.Or(a.waitDrained(ctx), scanErr)
	}
	for {
		if err := a.ScanOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			a.log.Error("scan failed", "err", err)
		}
		if err := a.waitNextScan(ctx); err != nil {
			return nil
		}
	}
}

// waitNextScan waits for the interval, checking for control requests from
// the server meanwhile; a resend request starts the next scan at once.
func (a *Agent) waitNextScan(ctx context.Context) error {
	next := time.NewTimer(a.cfg.Interval)
	defer next.Stop()
	poll := time.NewTicker(5 * time.Second)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-next.C:
			return nil
		case <-poll.C:
			if !a.nc.IsConnected() {
				continue
			}
			before := a.outbox.ControlSeq()
			if err := a.readControl(ctx); err != nil {
				a.log.Debug("control requests not read", "err", err)
			}
			if a.outbox.ControlSeq() != before {
				return nil
			}
		}
	}
}

// ErrRoundIncomplete wraps why a scan round ended before every target was
// scanned (the scan worker failed); what it did scan was enqueued.
var ErrRoundIncomplete = errors.New("scan round incomplete")

// ScanOnce scans every target and enqueues the result of each scope. Its
// error is the outbox's or the context's, or ErrRoundIncomplete.
func (a *Agent) ScanOnce(ctx context.Context) error {
	var scopes []*vigilv1.Scope
	complete := true // a target that fails gives no scopes
	var enqueueErr error
	var cur *targetEnqueue // the target whose pieces are arriving
	scanErr := a.scanner.Scan(ctx, a.roundSpec(ctx), func(ts *vigilv1.TargetScan) error {
		err := func() error {
			if cur == nil {
				var err error
				if cur, err = a.beginTarget(ctx, ts); err != nil {
					return err
				}
			} else if ts.Target != cur.first.Target {
				return fmt.Errorf("scan worker sent a piece of %s inside %s", ts.Target, cur.first.Target)
			}
			if err := a.addPiece(cur, ts); err != nil {
				return err
			}
			if ts.More {
				return nil
			}
			ss, err := a.finishTarget(cur)
			cur = nil
			if err != nil {
				return err
			}
			complete = complete && len(ss) > 0
			scopes = append(scopes, ss...)
			return nil
		}()
		if err != nil {
			enqueueErr = err
		}
		return err
	})
	if cur != nil {
		// The worker stopped inside a target: what it enqueued of it goes.
		a.abortTarget(cur, cmp.Or(enqueueErr, scanErr, errors.New("scan ended inside a target")))
		if scanErr == nil && enqueueErr == nil {
			scanErr = fmt.Errorf("scan worker ended inside target %s", cur.first.Target)
		}
	}
	switch {
	case enqueueErr != nil:
		return enqueueErr
	case ctx.Err() != nil:
		return ctx.Err()
	case scanErr != nil:
		// The targets after the failure keep their findings: the round
		// is incomplete, so no scope is retired for its absence.
		complete = false
		scanErr = fmt.Errorf("%w: %w", ErrRoundIncomplete, scanErr)
		a.log.ErrorContext(ctx, "scan round ended early", "err", scanErr, "scopes_done", len(scopes))
	}
	a.scopesMu.Lock()
	a.scopes, a.complete = scopes, complete
	a.scopesMu.Unlock()
	a.lastScan.Store(time.Now().UnixNano())
	a.remapDue.Store(true)
	a.kick(a.kickPublish)
	// Between scans the agent only sends heartbeats: what the round used
	// goes back to the system now rather than when the scavenger gets to
	// it, so an idle agent is small.
	debug.FreeOSMemory()
	return scanErr
}

func (a *Agent) kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// publishLoop drains the outbox whenever kicked, and retries every second
// while messages remain.
func (a *Agent) publishLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if err := a.drain(ctx); err != nil && ctx.Err() == nil {
			a.log.Debug("outbox not drained yet", "err", err, "pending", a.outbox.Depth())
		} else if err == nil && a.remapDue.Load() && a.outbox.Depth() == 0 && a.remapDue.CompareAndSwap(true, false) {
			// The round is sent: what its enqueue and drain touched of the
			// outbox leaves the resident set.
			if err := a.outbox.Remap(); err != nil {
				a.log.Error("outbox not reopened", "err", err)
			}
			debug.FreeOSMemory()
		}
		select {
		case <-ctx.Done():
			return
		case <-a.kickPublish:
		case <-t.C:
		}
	}
}

// drain publishes pending messages in order, one at a time so that a
// scan's batches always precede its ScanCompleted in the stream, deleting
// them in groups after their acks.
func (a *Agent) drain(ctx context.Context) error {
	for ctx.Err() == nil {
		pending, err := a.outbox.Peek(64)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		var acked []uint64
		var pubErr error
		for _, p := range pending {
			msg := nats.NewMsg(p.Subject)
			msg.Data = p.Data
			msg.Header.Set(bus.HeaderContentType, bus.ContentProtobuf)
			msg.Header.Set(nats.MsgIdHdr, p.MsgID)
			sctx, span := publishSpan(ctx, p, msg)
			pctx, cancel := context.WithTimeout(sctx, 5*time.Second)
			start := time.Now()
			_, pubErr = a.js.PublishMsg(pctx, msg)
			cancel()
			endSpan(span, pubErr)
			if pubErr != nil {
				break
			}
			a.meters.publishTime.Record(ctx, seconds(time.Since(start)))
			a.meters.published.Add(ctx, 1)
			acked = append(acked, p.Seq)
		}
		if len(acked) > 0 {
			if err := a.outbox.Delete(acked); err != nil {
				return err
			}
		}
		if pubErr != nil {
			return fmt.Errorf("publish: %w", pubErr)
		}
	}
	return ctx.Err()
}

func (a *Agent) waitDrained(ctx context.Context) error {
	deadline := time.NewTimer(a.cfg.DrainTimeout)
	defer deadline.Stop()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if a.outbox.Depth() == 0 {
			a.heartbeat()
			a.nc.Flush()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			a.log.Warn("outbox not drained", "pending", a.outbox.Depth())
			return ErrNotDrained
		case <-t.C:
		}
	}
}

func (a *Agent) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	a.heartbeat()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.heartbeat()
		}
	}
}

func (a *Agent) heartbeat() {
	if !a.nc.IsConnected() {
		return
	}
	host, _ := os.Hostname()
	a.scopesMu.Lock()
	scopes, complete := a.scopes, a.complete
	a.scopesMu.Unlock()
	h := &vigilv1.Heartbeat{Tenant: a.cfg.Tenant, Agent: a.cfg.ID, Version: version.Version, Hostname: host, Scopes: scopes, ScopesComplete: complete,
		SentAt: timestamppb.Now(), OutboxDepth: a.outbox.Depth(), IntervalSeconds: wholeSeconds(a.cfg.HeartbeatInterval)}
	if !a.cfg.Once {
		h.ScanIntervalSeconds = wholeSeconds(a.cfg.Interval)
	}
	if ls := a.lastScan.Load(); ls > 0 {
		h.LastScanAt = timestamppb.New(time.Unix(0, ls))
	}
	data, err := proto.Marshal(h)
	if err != nil {
		return
	}
	if err := a.nc.Publish(a.cfg.sender().HeartbeatSubject(), data); err != nil {
		a.log.Debug("heartbeat not sent", "err", err)
	}
}

// readControl applies the control requests stored for this agent since the
// last one it applied: each resend request makes the next scan of its scope
// send the full set. The server reads them from the control stream for the
// agent; the agent itself has no JetStream API to read with.
func (a *Agent) readControl(ctx context.Context) error {
	after := a.outbox.ControlSeq()
	for {
		data, err := proto.Marshal(&vigilv1.ControlRead{AfterSeq: after})
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		msg, err := a.nc.RequestWithContext(rctx, a.cfg.sender().ControlReadSubject(), data)
		cancel()
		if err != nil {
			return fmt.Errorf("control requests: %w", err)
		}
		reply := &vigilv1.ControlReadReply{}
		if err := proto.Unmarshal(msg.Data, reply); err != nil {
			return fmt.Errorf("control requests: %w", err)
		}
		if reply.Error != "" {
			return fmt.Errorf("control requests: server: %s", reply.Error)
		}
		for _, e := range reply.Entries {
			if e.Seq <= after {
				return fmt.Errorf("control requests: server went back to sequence %d", e.Seq)
			}
			after = e.Seq
			req := e.GetRequest()
			sc := req.GetScope()
			if sc.GetTenant() != a.cfg.Tenant || sc.GetAgent() != a.cfg.ID || sc.GetScanner() == "" || sc.GetTarget() == "" {
				a.log.Warn("ignoring malformed control request", "seq", e.Seq)
				continue
			}
			id := finding.ScopeID(sc)
			if err := a.outbox.ForceFull(id[:], e.Seq); err != nil {
				return err
			}
			a.log.Info("server asked for a full resend", "scanner", sc.Scanner, "target", sc.Target, "reason", req.Reason)
		}
		if !reply.More || len(reply.Entries) == 0 {
			return nil
		}
	}
}

// targetEnqueue is a target whose pieces are arriving: one streaming
// enqueue per scope, and the scan's span.
type targetEnqueue struct {
	first  *vigilv1.TargetScan // the first piece, whose other fields hold for all
	ctx    context.Context
	span   trace.Span
	scans  map[string]*ScanEnqueue
	scopes []*vigilv1.Scope
}

// beginTarget starts enqueueing a target from its first piece. A target
// that could not be read as a whole enqueues nothing (its findings stay as
// they were).
func (a *Agent) beginTarget(ctx context.Context, ts *vigilv1.TargetScan) (*targetEnqueue, error) {
	started, finished := ts.GetStartedAt().AsTime(), ts.GetFinishedAt().AsTime()
	// The scan ran in the worker: its span is recorded with the worker's
	// times, and the scope's messages carry it as their parent.
	ctx, span := tracer().Start(ctx, "vigil.scan", trace.WithTimestamp(started), trace.WithAttributes(attribute.String("vigil.target", ts.Target),
		attribute.String("vigil.tenant", a.cfg.Tenant), attribute.String("vigil.agent", a.cfg.ID)))
	t := &targetEnqueue{first: ts, ctx: ctx, span: span, scans: map[string]*ScanEnqueue{}}
	if ts.Error != "" {
		a.log.ErrorContext(ctx, "target not scanned", "target", ts.Target, "err", ts.Error)
		span.SetStatus(codes.Error, ts.Error)
		return t, nil
	}
	for name, d := range ts.ScannerSeconds {
		a.meters.scanDuration.Record(ctx, d, metric.WithAttributes(attribute.String("vigil.scanner", name)))
	}
	for _, r := range ts.Scopes {
		scope := &vigilv1.Scope{Tenant: a.cfg.Tenant, Agent: a.cfg.ID, Scanner: r.Scanner, Target: ts.Identity}
		e, err := a.outbox.BeginScan(ScopeScan{Scope: scope, Errors: r.Errors, NotAssessed: r.NotAssessed, Coverage: r.Coverage,
			StartedAt: started, FinishedAt: finished, TraceParent: traceParent(ctx)},
			EnqueueOptions{FullEvery: a.cfg.FullEvery, BatchFindings: a.cfg.BatchFindings, AgentVersion: version.Version, Via: a.cfg.Via,
				AnalyzerVersion: ts.AnalyzerVersion})
		if err != nil {
			a.abortTarget(t, err)
			return nil, err
		}
		t.scans[r.Scanner] = e
		t.scopes = append(t.scopes, scope)
	}
	return t, nil
}

// addPiece enqueues the findings of one piece of t.
func (a *Agent) addPiece(t *targetEnqueue, ts *vigilv1.TargetScan) error {
	for _, r := range ts.Scopes {
		if len(r.Findings) == 0 {
			continue
		}
		e := t.scans[r.Scanner]
		if e == nil {
			return fmt.Errorf("scan worker sent findings of scanner %q, which target %s does not have", r.Scanner, ts.Target)
		}
		if err := e.Add(r.Findings); err != nil {
			return err
		}
		a.meters.findings.Add(t.ctx, int64(len(r.Findings)), metric.WithAttributes(attribute.String("vigil.scanner", r.Scanner)))
	}
	return nil
}

// finishTarget closes each scope of t and returns the scopes; the error
// is the outbox's.
func (a *Agent) finishTarget(t *targetEnqueue) ([]*vigilv1.Scope, error) {
	for i, scope := range t.scopes {
		st, err := t.scans[scope.Scanner].Finish()
		if err != nil {
			for _, rest := range t.scopes[i:] {
				t.scans[rest.Scanner].Abort()
			}
			endSpan(t.span, err)
			return nil, err
		}
		a.log.InfoContext(t.ctx, "scan enqueued", "scanner", scope.Scanner, "target", scope.Target, "findings", st.SetSize, "sent", st.Sent, "gone", st.Gone, "full", st.Full, "messages", st.Messages)
	}
	t.span.End(trace.WithTimestamp(t.first.GetFinishedAt().AsTime()))
	return t.scopes, nil
}

// abortTarget drops what was enqueued of t.
func (a *Agent) abortTarget(t *targetEnqueue, why error) {
	for _, e := range t.scans {
		if err := e.Abort(); err != nil {
			a.log.Error("half-enqueued scan not dropped; it is at the next start", "err", err)
		}
	}
	endSpan(t.span, why)
}

// wholeSeconds rounds an interval up to whole seconds, at least one.
func wholeSeconds(d time.Duration) uint32 {
	return uint32(max(1, (d+time.Second-1)/time.Second))
}
