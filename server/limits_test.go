package server

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
)

// TestStalledWatcherIsEnded: a client that opens a watch and stops reading
// while events flow is ended with RESOURCE_EXHAUSTED once a Send has
// waited the stall bound; its watcher and send goroutine are released.
func TestStalledWatcherIsEnded(t *testing.T) {
	s, _, js, _ := startServer(t, Config{})
	s.watchStall = time.Second
	// Small fixed windows: the client stops taking data once 64 KiB wait.
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := vigilv1.NewFindingServiceClient(conn).WatchFindings(ctx, &vigilv1.WatchFindingsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the watcher subscribed", func() bool { return s.hub.count() == 1 })
	before := runtime.NumGoroutine()
	big := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "big"}
	msgs := scanOfN(big, "s1", 600, 50)
	for i, m := range msgs {
		sm := &vigilv1.ScanMessage{}
		proto.Unmarshal(m, sm)
		for _, f := range sm.GetBatch().GetFindings() {
			f.Message = strings.Repeat("m", 1500)
		}
		m, _ = proto.Marshal(sm)
		publish(t, js, bus.FindingsSubject("acme", "a1"), fmt.Sprintf("s1/%d", i), m)
	}
	eventually(t, "the scan applied", func() bool { return s.Stats().Scans == 1 })
	eventually(t, "the stalled watcher ended", func() bool { return s.hub.count() == 0 })
	// Reading now drains what was in flight, then the status.
	var got int
	for {
		_, err := stream.Recv()
		if err != nil {
			if code(err) != codes.ResourceExhausted {
				t.Fatalf("stalled watch ended with %v", err)
			}
			break
		}
		got++
	}
	if got >= 600 {
		t.Fatalf("the stalled client received all %d events", got)
	}
	eventually(t, "the send goroutine gone", func() bool { return runtime.NumGoroutine() <= before+2 })
	t.Logf("stalled client got %d of 600 events before the end", got)
}

// TestConnectionLimit: past MaxConnections a new connection is refused at
// once; closing one lets the next in.
func TestConnectionLimit(t *testing.T) {
	s, _, _, _ := startServer(t, Config{MaxConnections: 3})
	check := func(conn *grpc.ClientConn) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	dial := func() *grpc.ClientConn {
		conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	// startServer's client connects only when called, and is not here.
	var open []*grpc.ClientConn
	for range 3 {
		c := dial()
		if err := check(c); err != nil {
			t.Fatalf("connection within the limit: %v", err)
		}
		open = append(open, c)
	}
	if err := check(dial()); code(err) != codes.Unavailable {
		t.Fatalf("connection past the limit: %v", err)
	}
	if s.lis.(*limitListener).refused.Load() == 0 {
		t.Fatal("no connection was refused")
	}
	open[0].Close()
	eventually(t, "a slot freed", func() bool { return check(dial()) == nil })
}
