package agent_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/telemetry"
)

// One trace runs from the agent's scan through its publish to the
// server's commit, across NATS; the server's metrics show the ingest.
func TestTraceFromScanToCommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tel, err := telemetry.Setup(ctx, "vigil-test", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	metrics, err := tel.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	srv := serve(t)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n"), 0o644)
	a, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Tenant: "acme", ID: "t1", Spec: agent.Spec{Targets: []string{dir}}, Scanner: worker.Local{Logger: quiet}, Once: true, DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.Stats().Scans == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)

	byID := map[string]sdktrace.ReadOnlySpan{}
	var ingests []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		byID[s.SpanContext().SpanID().String()] = s
		if s.Name() == "vigil.ingest" {
			ingests = append(ingests, s)
		}
	}
	if len(ingests) == 0 {
		t.Fatal("no ingest spans")
	}
	for _, in := range ingests {
		pub, ok := byID[in.Parent().SpanID().String()]
		if !ok || pub.Name() != "vigil.publish" {
			t.Fatalf("ingest span's parent is %v, want the agent's publish span", in.Parent())
		}
		scan, ok := byID[pub.Parent().SpanID().String()]
		if !ok || scan.Name() != "vigil.scan" {
			t.Fatalf("publish span's parent is not the scan span")
		}
		if scan.SpanContext().TraceID() != in.SpanContext().TraceID() {
			t.Fatal("scan and commit are in different traces")
		}
	}

	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := vigilv1.NewFindingServiceClient(conn).ListFindings(ctx, &vigilv1.ListFindingsRequest{}); err != nil {
		t.Fatal(err)
	}
	names := []string{"vigil_ingest_findings_received_total", "vigil_ingest_findings_written_total", "vigil_ingest_lag_seconds_bucket",
		"vigil_ingest_commit_duration_seconds_bucket", "vigil_ingest_dedup_ratio", "vigil_agents", "vigil_agent_scan_duration_seconds_bucket",
		"vigil_agent_messages_published_total", "rpc_server_"}
	// The server records an RPC's metrics after it answered: poll.
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, name := range names {
			if !strings.Contains(string(body), name) {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("/metrics lacks %v", missing)
	}
}
