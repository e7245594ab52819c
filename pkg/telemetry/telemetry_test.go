package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestLogsAndHeadersCarryTheTrace(t *testing.T) {
	ctx := context.Background()
	tel, err := Setup(ctx, "test", "1")
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(ctx)
	otel.SetTracerProvider(sdktrace.NewTracerProvider())
	ctx, span := otel.Tracer("t").Start(ctx, "work")
	defer span.End()

	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
	log.InfoContext(ctx, "hello")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["trace_id"] != span.SpanContext().TraceID().String() || rec["span_id"] != span.SpanContext().SpanID().String() || rec["component"] != "x" {
		t.Fatalf("log record = %v", rec)
	}
	buf.Reset()
	log.Info("no context")
	if bytes.Contains(buf.Bytes(), []byte("trace_id")) {
		t.Fatalf("a record without a span has a trace id: %s", buf.Bytes())
	}

	h := nats.Header{}
	Inject(ctx, h)
	back := trace.SpanContextFromContext(Extract(context.Background(), h))
	if back.TraceID() != span.SpanContext().TraceID() || back.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("headers %v carried %v", h, back)
	}
	if Carrier(ctx)["traceparent"] != h.Get("traceparent") {
		t.Fatal("carrier and headers disagree")
	}
}
