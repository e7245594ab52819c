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
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan"
	awscollect "github.com/vigilsec/vigil/pkg/scan/cloud/aws"
	"github.com/vigilsec/vigil/pkg/scan/cluster"
	"github.com/vigilsec/vigil/pkg/scan/code/dast"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
	"github.com/vigilsec/vigil/pkg/scan/container/signature"
	"github.com/vigilsec/vigil/pkg/scan/source/kubeapi"
	"github.com/vigilsec/vigil/pkg/scan/source/procfs"
	"github.com/vigilsec/vigil/pkg/scan/source/tree"
	"github.com/vigilsec/vigil/pkg/version"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// Config configures an agent.
type Config struct {
	NATSURL string
	Tenant  string
	ID      string
	// MaxMemory bounds the agent's memory in bytes (0: no bound): scans
	// queue rather than exceed it.
	MaxMemory int64
	// Credentials is a directory written by vigil-server agent-credentials:
	// with it the agent talks TLS to NATS, presents its client certificate
	// and authenticates with its NATS credentials. The files are re-read
	// when they change, so they rotate without a restart.
	Credentials string
	// Via is the name of the tenant-wide credential the agent speaks
	// through, read from the credentials ("" for a credential of its own):
	// the server knows the agent as <ID>@<Via>.
	Via string
	// Targets are the paths to scan.
	Targets []string
	// Kubeconfig points at a cluster to scan live through its API;
	// InCluster uses the pod's service account instead.
	Kubeconfig string
	InCluster  bool
	// KubePageSize bounds each list call to the API (default 500).
	KubePageSize int64
	// NodeRoot is where a node's root filesystem is mounted (a DaemonSet's
	// read-only host mount, such as /host); the node's Kubernetes
	// configuration under it becomes targets (see NodeTargets).
	NodeRoot string
	// Once scans once, drains the outbox and returns.
	Once bool
	// Interval between scans when not Once (default 1h).
	Interval time.Duration
	// DrainTimeout bounds how long Once waits for the outbox to drain
	// (default 1m); what is left stays for the next start.
	DrainTimeout time.Duration
	// DataDir holds the outbox file (default ./vigil-agent-data).
	DataDir string
	// ChecksDir adds user check packs.
	ChecksDir string
	// VulnDB is OSV vulnerability data (folder or zip) for dependency files.
	VulnDB string
	// Images are container image references to scan (layout folders,
	// docker save tarballs, registry images).
	Images []string
	// Image configures how image references are resolved.
	Image image.OpenOptions
	// Repos are git repositories whose history is searched for secrets.
	Repos []string
	// DAST bounds probes of http(s) targets; only its allowed hosts are
	// probed.
	DAST dast.Options
	// ScanImages scans the images the live cluster's pods and workloads
	// run, pulled from their registries with the agent's credentials.
	ScanImages bool
	// AWS collects the account of the default AWS credentials; AWSOrgRole
	// instead every account of its organisation through that role, and
	// AWSRegions limits the regions (default: every enabled one).
	AWS        bool
	AWSOrgRole string
	AWSRegions []string
	// ProcRoot, when set, is a /proc whose running container processes are
	// scanned (a node agent's host /proc).
	ProcRoot string
	// TrustedKeys are PEM public keys whose signatures registry images
	// must carry; without them signatures are not checked.
	TrustedKeys []string
	// HeartbeatInterval between heartbeats (default 15s).
	HeartbeatInterval time.Duration
	// FullEvery sends every scope's full set every this many scans (default 24).
	FullEvery int
	// BatchFindings caps findings per FindingBatch (default 500).
	BatchFindings int
	Logger        *slog.Logger
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
	if err := c.gatherTargets(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Targets) == 0 {
		errs = append(errs, errors.New("no targets: give one or more paths to scan, --node-root, --kubeconfig or --in-cluster"))
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

// gatherTargets turns the per-kind options (node root, images, repos,
// AWS, /proc) into targets.
func (c *Config) gatherTargets() error {
	var err error
	if c.NodeRoot != "" {
		var nt []string
		nt, err = NodeTargets(c.NodeRoot)
		c.Targets = append(c.Targets, nt...)
	}
	for _, ref := range c.Images {
		c.Targets = append(c.Targets, image.AsTarget(ref))
	}
	c.Images = nil
	for _, r := range c.Repos {
		c.Targets = append(c.Targets, scan.GitTarget+r)
	}
	c.Repos = nil
	switch {
	case c.AWSOrgRole != "":
		c.Targets = append(c.Targets, scan.AWSTarget+"org/"+c.AWSOrgRole)
	case c.AWS:
		c.Targets = append(c.Targets, scan.AWSTarget)
	}
	if c.ProcRoot != "" {
		c.Targets = append(c.Targets, scan.RuntimeTarget+c.ProcRoot)
	}
	if spec := c.kubeSpec(); spec != "" {
		c.Targets = append(c.Targets, scan.KubernetesTarget+spec)
	}
	seen := map[string]bool{}
	c.Targets = slices.DeleteFunc(c.Targets, func(t string) bool {
		dup := seen[t]
		seen[t] = true
		return dup
	})
	return err
}

// kubeSpec is how the agent reaches a live cluster, "" for none.
func (c *Config) kubeSpec() string {
	if c.InCluster {
		return cluster.InCluster
	}
	return c.Kubeconfig
}

// defaults fills the settings left unset.
func (c *Config) defaults() {
	if c.Interval <= 0 {
		c.Interval = time.Hour
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = time.Minute
	}
	if c.DataDir == "" {
		c.DataDir = "./vigil-agent-data"
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
	scanner *scan.Scanner
	outbox  *Outbox

	nc     *nats.Conn
	js     jetstream.JetStream
	meters meters

	kickPublish chan struct{}
	lastScan    atomic.Int64
	scopesMu    sync.Mutex
	scopes      []*vigilv1.Scope
	// complete says scopes came from a round in which every target was
	// scanned (see Heartbeat.scopes_complete).
	complete bool
}

// ErrNotDrained is returned by Run in Once mode when the outbox still holds
// messages at the drain timeout; they are sent at the next start.
var ErrNotDrained = errors.New("outbox not drained before the drain timeout; the backlog is kept for the next start")

// New loads the checks and opens the outbox.
func New(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cat, err := checks.Load(cfg.ChecksDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	ob, err := OpenOutbox(filepath.Join(cfg.DataDir, "outbox.db"))
	if err != nil {
		return nil, err
	}
	if spec := cfg.kubeSpec(); spec != "" {
		// A configuration that cannot be read is an error at start, not a
		// silent scope; the cluster itself is reached at each scan.
		if _, err := cluster.Connect(spec); err != nil {
			ob.Close()
			return nil, fmt.Errorf("kubernetes config: %w", err)
		}
	}
	opts := scan.Options{Image: cfg.Image, DAST: cfg.DAST, AWS: awscollect.Options{Regions: cfg.AWSRegions}, KubePageSize: cfg.KubePageSize}
	if cfg.MaxMemory > 0 {
		// Half the budget for the data of scans in flight, the rest for the
		// process (catalog, outbox, runtime); the Go heap is held to the whole.
		opts.MaxMemory = cfg.MaxMemory / 2
		debug.SetMemoryLimit(cfg.MaxMemory)
	}
	if len(cfg.TrustedKeys) > 0 {
		if opts.Signatures, err = signature.LoadKeys(cfg.TrustedKeys...); err != nil {
			ob.Close()
			return nil, err
		}
	}
	if cfg.VulnDB != "" {
		if opts.VulnDB, err = vuln.Open(cfg.VulnDB); err != nil {
			ob.Close()
			return nil, err
		}
		for _, e := range opts.VulnDB.Errors {
			cfg.Logger.Warn("vulnerability record not loaded", "err", e)
		}
	}
	a := &Agent{meters: newMeters(), cfg: cfg, log: cfg.Logger.With("tenant", cfg.Tenant, "agent", cfg.ID), scanner: scan.NewWith(cat, opts), outbox: ob,
		kickPublish: make(chan struct{}, 1)}
	a.warnUnmetNeeds(opts.VulnDB != nil)
	return a, nil
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
		if err := a.ScanOnce(ctx); err != nil {
			return err
		}
		return a.waitDrained(ctx)
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

// ScanOnce scans every target and enqueues the result of each scope.
func (a *Agent) ScanOnce(ctx context.Context) error {
	var scopes []*vigilv1.Scope
	complete := true // a target that fails gives no scopes
	for _, target := range a.cfg.Targets {
		ss, discovered, err := a.scanTarget(ctx, a.fleetName(target))
		if err != nil {
			return err
		}
		complete = complete && len(ss) > 0
		scopes = append(scopes, ss...)
		if !a.cfg.ScanImages {
			continue
		}
		// Each image a cluster runs is a target of its own, so an image
		// the registry will not serve keeps its findings. The scanner reads
		// each digest once, however many workloads and tags share it.
		for _, ref := range discovered {
			ss, _, err := a.scanTarget(ctx, ref)
			if err != nil {
				return err
			}
			complete = complete && len(ss) > 0
			scopes = append(scopes, ss...)
		}
	}
	a.scopesMu.Lock()
	a.scopes, a.complete = scopes, complete
	a.scopesMu.Unlock()
	a.lastScan.Store(time.Now().UnixNano())
	a.kick(a.kickPublish)
	// Between scans the agent only sends heartbeats: what the scan used
	// goes back to the system now rather than when the scavenger gets to
	// it, so an idle agent is small.
	debug.FreeOSMemory()
	return nil
}

// fleetName is how the agent names a target to the fleet: its canonical
// spelling, and a local path made absolute, so that one tree configured
// as ./manifests or /srv/app/manifests is one scope with one set of
// fingerprints.
func (a *Agent) fleetName(target string) string {
	t := a.scanner.Normalize(target)
	if _, ok := a.scanner.Source(t).(tree.Source); ok {
		if abs, err := filepath.Abs(t); err == nil {
			return abs
		}
	}
	return t
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

// nodePaths are where kubeadm-style nodes keep what node checks read:
// static pod manifests, the PKI, kubeconfigs and encryption configuration
// under /etc/kubernetes, and the kubelet's configuration and certificates.
var nodePaths = []string{"etc/kubernetes", "var/lib/kubelet/config.yaml", "var/lib/kubelet/pki"}

// NodeTargets returns the node paths that exist under root.
func NodeTargets(root string) ([]string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("node root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("node root %s is not a directory", root)
	}
	var out []string
	for _, p := range nodePaths {
		full := filepath.Join(root, filepath.FromSlash(p))
		if _, err := os.Stat(full); err == nil {
			out = append(out, full)
		}
	}
	return out, nil
}

// scanTarget scans one target and enqueues a scope per scanner; a target
// that cannot be read as a whole enqueues nothing (its findings stay as
// they were). It returns the scopes and the targets the scan discovered;
// the error is the outbox's or the context's.
func (a *Agent) scanTarget(ctx context.Context, target string) (_ []*vigilv1.Scope, discovered []string, err error) {
	ctx, span := tracer().Start(ctx, "vigil.scan", trace.WithAttributes(attribute.String("vigil.target", target),
		attribute.String("vigil.tenant", a.cfg.Tenant), attribute.String("vigil.agent", a.cfg.ID)))
	defer func() { endSpan(span, err) }()
	started := time.Now()
	res, err := a.scanner.Target(ctx, target, a.cfg.Tenant)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, err
		}
		a.log.ErrorContext(ctx, "target not scanned", "target", target, "err", err)
		span.RecordError(err)
		return nil, nil, nil
	}
	for name, d := range res.Durations {
		a.meters.scanDuration.Record(ctx, seconds(d), metric.WithAttributes(attribute.String("vigil.scanner", name)))
	}
	finished := time.Now()
	total := res.Ledger.Coverage("")
	for _, e := range total.NotAssessed {
		a.log.Warn("not assessed", "unit", e.Path, "reason", pipeline.ReasonName(e.Reason), "err", e.Error)
	}
	// A unit no scanner could read (a folder the walk could not enter)
	// keeps the findings every scanner had under it.
	var unreadable []string
	for _, e := range total.NotAssessed {
		if slices.Contains(e.Analyzers, "walk") {
			unreadable = append(unreadable, strings.TrimSuffix(e.Path, "/")+"/")
		}
	}
	var scopes []*vigilv1.Scope
	for _, name := range res.Scanners {
		scope := &vigilv1.Scope{Tenant: a.cfg.Tenant, Agent: a.cfg.ID, Scanner: name, Target: res.Identity}
		scopes = append(scopes, scope)
		cov := res.Ledger.Coverage(name)
		notAssessed := slices.Clone(unreadable)
		for _, e := range cov.NotAssessed {
			notAssessed = append(notAssessed, e.Path)
		}
		st, err := a.outbox.EnqueueScan(ScopeScan{Scope: scope, Findings: res.Findings[name], Errors: res.Ledger.Notices(name),
			NotAssessed: notAssessed, Coverage: cov, StartedAt: started, FinishedAt: finished, TraceParent: traceParent(ctx)},
			EnqueueOptions{FullEvery: a.cfg.FullEvery, BatchFindings: a.cfg.BatchFindings, AgentVersion: version.Version, Via: a.cfg.Via,
				AnalyzerVersion: a.scanner.AnalyzerVersion()})
		if err != nil {
			return nil, nil, err
		}
		a.meters.findings.Add(ctx, int64(len(res.Findings[name])), metric.WithAttributes(attribute.String("vigil.scanner", name)))
		a.log.InfoContext(ctx, "scan enqueued", "scanner", name, "target", res.Identity, "findings", st.SetSize, "sent", st.Sent, "gone", st.Gone, "full", st.Full, "messages", st.Messages)
	}
	return scopes, res.Discovered, nil
}

// wholeSeconds rounds an interval up to whole seconds, at least one.
func wholeSeconds(d time.Duration) uint32 {
	return uint32(max(1, (d+time.Second-1)/time.Second))
}

// warnUnmetNeeds logs once, at start, each analyzer whose declared needs
// this agent does not meet: what it reads will be reported not assessed.
func (a *Agent) warnUnmetNeeds(haveVulnData bool) {
	runtime := slices.ContainsFunc(a.cfg.Targets, func(t string) bool {
		_, ok := a.scanner.Source(t).(procfs.Source)
		return ok
	})
	// Everything but a cluster's API may hold dependency files.
	files := a.cfg.ScanImages || slices.ContainsFunc(a.cfg.Targets, func(t string) bool {
		_, ok := a.scanner.Source(t).(kubeapi.Source)
		return !ok
	})
	for _, an := range a.scanner.Analyzers() {
		switch {
		case an.Needs&pipeline.NeedVulnData != 0 && !haveVulnData && files:
			a.log.Warn("analyzer has no vulnerability data (--vuln-db): what it reads is reported as lacking it, never as clean", "analyzer", an.String())
		case an.Needs&pipeline.NeedRoot != 0 && runtime && os.Geteuid() != 0:
			a.log.Warn("analyzer needs root: processes of other users are not assessed", "analyzer", an.String())
		}
	}
}
