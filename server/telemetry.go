package server

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilsec/vigil/pkg/telemetry"
)

const instrumentation = "github.com/vigilsec/vigil/server"

// meters are the server's instruments, from the global meter provider.
type meters struct {
	received  metric.Int64Counter
	written   metric.Int64Counter
	messages  metric.Int64Counter
	lag       metric.Float64Histogram
	commit    metric.Float64Histogram
	dead      metric.Int64Counter
	events    metric.Int64Counter
	agentsReg metric.Registration
}

// Bucket boundaries of the server's histograms, in seconds, from measured
// distributions (OpenTelemetry's default boundaries, 0 to 10,000, suit
// milliseconds and put every one of these in the first bucket).
var (
	// commitBuckets: one store transaction. make load measured p50 24 –
	// 121 ms and p99 254 – 294 ms for up to 5,000 findings with fsync; a
	// heartbeat flush or a small scan takes a millisecond or two, a
	// write-back of occurrence counts or a retirement seconds.
	commitBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10}
	// lagBuckets: arrival in JetStream to commit. Under a second when the
	// writer keeps up (make load at 25,000 findings/s: p99 0.85 s), tens of
	// seconds when it falls behind, minutes after an outage.
	lagBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900}
)

func (s *Server) newMeters() {
	m := otel.Meter(instrumentation)
	s.m.received, _ = m.Int64Counter("vigil.ingest.findings.received", metric.WithDescription("findings carried by ingested batches"))
	s.m.written, _ = m.Int64Counter("vigil.ingest.findings.written",
		metric.WithDescription("findings the store had to write (new, changed or changing status); received minus written were duplicates"))
	s.m.messages, _ = m.Int64Counter("vigil.ingest.messages", metric.WithDescription("scan messages applied"))
	s.m.lag, _ = m.Float64Histogram("vigil.ingest.lag", metric.WithUnit("s"),
		metric.WithDescription("time from a message's arrival in JetStream to its commit in the store"),
		metric.WithExplicitBucketBoundaries(lagBuckets...))
	s.m.commit, _ = m.Float64Histogram("vigil.ingest.commit.duration", metric.WithUnit("s"),
		metric.WithDescription("time of one store transaction"),
		metric.WithExplicitBucketBoundaries(commitBuckets...))
	s.m.dead, _ = m.Int64Counter("vigil.ingest.deadlettered", metric.WithDescription("messages sent to the dead-letter subject, per reason"))
	s.m.events, _ = m.Int64Counter("vigil.events.published", metric.WithDescription("lifecycle events, per type"))
	dedup, _ := m.Float64ObservableGauge("vigil.ingest.dedup.ratio",
		metric.WithDescription("share of received findings that were already stored unchanged, since start"))
	agents, _ := m.Int64ObservableGauge("vigil.agents", metric.WithDescription("agents known, by state (fresh or stale)"))
	outbox, _ := m.Int64ObservableGauge("vigil.events.outbox.depth",
		metric.WithDescription("lifecycle events committed but not yet acknowledged by the events stream"))
	s.m.agentsReg, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(outbox, int64(s.store.OutboxDepth()))
		if r, w := s.stats.received.Load(), s.stats.written.Load(); r > 0 {
			o.ObserveFloat64(dedup, 1-float64(w)/float64(r))
		}
		list, err := s.store.Agents("", time.Now(), s.cfg.StaleAfter)
		if err != nil {
			return nil
		}
		var fresh, stale int64
		for _, a := range list {
			if a.Stale {
				stale++
			} else {
				fresh++
			}
		}
		o.ObserveInt64(agents, fresh, metric.WithAttributes(attribute.String("state", "fresh")))
		o.ObserveInt64(agents, stale, metric.WithAttributes(attribute.String("state", "stale")))
		return nil
	}, dedup, agents, outbox)
}

func tracer() trace.Tracer { return otel.Tracer(instrumentation) }

// ingestSpan starts the span of applying one message, as a child of the
// agent's publish span whose context the message carries.
func ingestSpan(m jetstream.Msg, start time.Time) (context.Context, trace.Span) {
	ctx := telemetry.Extract(context.Background(), m.Headers())
	return tracer().Start(ctx, "vigil.ingest", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", m.Subject())))
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
