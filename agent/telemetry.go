package agent

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilsec/vigil/pkg/telemetry"
)

const instrumentation = "github.com/vigilsec/vigil/agent"

// meters are the agent's instruments, from the global meter provider.
type meters struct {
	scanDuration metric.Float64Histogram
	findings     metric.Int64Counter
	published    metric.Int64Counter
	publishTime  metric.Float64Histogram
}

// Bucket boundaries of the agent's histograms, in seconds, from measured
// distributions (OpenTelemetry's default boundaries suit milliseconds).
var (
	// scanBuckets: one target. A manifest folder takes milliseconds,
	// examples/ about a second, the Go module cache 753 – 863 s.
	scanBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600}
	// publishBuckets: publish to acknowledgement. make load measured p50
	// 11 – 21 ms and p99 57 – 191 ms; while NATS is away, seconds to
	// minutes.
	publishBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

func newMeters() meters {
	m := otel.Meter(instrumentation)
	var ms meters
	ms.scanDuration, _ = m.Float64Histogram("vigil.agent.scan.duration", metric.WithUnit("s"),
		metric.WithDescription("time spent scanning one target, per scanner (summed over its files)"),
		metric.WithExplicitBucketBoundaries(scanBuckets...))
	ms.findings, _ = m.Int64Counter("vigil.agent.findings", metric.WithDescription("findings reported by scans, per scanner"))
	ms.published, _ = m.Int64Counter("vigil.agent.messages.published", metric.WithDescription("scan messages acknowledged by JetStream"))
	ms.publishTime, _ = m.Float64Histogram("vigil.agent.publish.duration", metric.WithUnit("s"),
		metric.WithDescription("time from publish to JetStream acknowledgement"),
		metric.WithExplicitBucketBoundaries(publishBuckets...))
	return ms
}

func tracer() trace.Tracer { return otel.Tracer(instrumentation) }

// traceParent is the W3C traceparent of ctx's span ("" without one).
func traceParent(ctx context.Context) string { return telemetry.Carrier(ctx)["traceparent"] }

// publishSpan starts the span of publishing one outbox message, as a child
// of the scan that made it, and puts its context in the message headers.
func publishSpan(ctx context.Context, p Pending, msg *nats.Msg) (context.Context, trace.Span) {
	if p.TraceParent != "" {
		ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": p.TraceParent})
	}
	ctx, span := tracer().Start(ctx, "vigil.publish", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", p.Subject),
			attribute.String("messaging.message.id", p.MsgID)))
	telemetry.Inject(ctx, msg.Header)
	return ctx, span
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func seconds(d time.Duration) float64 { return d.Seconds() }
