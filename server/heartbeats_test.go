package server

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/server/store"
)

func openStore(t testing.TB, noSync bool) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"), store.Options{NoSync: noSync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Heartbeats gathered between flushes are written in one transaction:
// each agent's latest, at the time it arrived.
func TestHeartbeatsFlushTogether(t *testing.T) {
	st := openStore(t, true)
	var b heartbeats
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		b.add(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a1", Version: fmt.Sprintf("1.%d", i)}, t0.Add(time.Duration(i)*time.Second))
	}
	b.add(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a2", Version: "2.0"}, t0)
	b.add(&vigilv1.Heartbeat{Tenant: "other", Agent: "a1", Version: "3.0"}, t0)
	n, _, err := b.flush(st)
	if err != nil || n != 3 {
		t.Fatalf("flushed %d (%v), want the 3 agents", n, err)
	}
	agents, err := st.Agents("acme", t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*vigilv1.Agent{}
	for _, a := range agents {
		got[a.Id] = a
	}
	if a := got["a1"]; a == nil || a.Version != "1.2" || !a.LastHeartbeat.AsTime().Equal(t0.Add(2*time.Second)) {
		t.Errorf("a1 %v: want its latest heartbeat", a)
	}
	if len(agents) != 2 {
		t.Errorf("%d agents in acme, want 2", len(agents))
	}
	if n, _, _ := b.flush(st); n != 0 {
		t.Errorf("a second flush wrote %d", n)
	}
}

// BenchmarkHeartbeats10k is one flush interval of a 10,000-agent fleet:
// every agent's heartbeat written, with fsync, in one transaction.
func BenchmarkHeartbeats10k(b *testing.B) {
	st := openStore(b, false)
	now := time.Now()
	var hb heartbeats
	for range b.N {
		for i := range 10000 {
			hb.add(&vigilv1.Heartbeat{Tenant: "acme", Agent: fmt.Sprintf("agent-%05d", i), Version: "1.0",
				Hostname: fmt.Sprintf("node-%05d.example", i), IntervalSeconds: 30, SentAt: nil}, now)
		}
		if n, _, err := hb.flush(st); err != nil || n != 10000 {
			b.Fatalf("%d, %v", n, err)
		}
	}
}

// BenchmarkListAgents10k pages through 10,000 agents over gRPC at the
// default page size: one op is the whole list.
func BenchmarkListAgents10k(b *testing.B) {
	s, _, _, _ := startServer(b, Config{})
	now := time.Now()
	if err := s.Store().Update(func(w *store.Writer) error {
		for i := range 10000 {
			if err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: fmt.Sprintf("agent-%05d", i), Version: "1.0",
				Hostname: fmt.Sprintf("node-%05d.example", i), IntervalSeconds: 30}, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	agents := vigilv1.NewAgentServiceClient(conn)
	b.ResetTimer()
	for range b.N {
		n := 0
		for token := ""; ; {
			resp, err := agents.ListAgents(context.Background(), &vigilv1.ListAgentsRequest{PageToken: token})
			if err != nil {
				b.Fatal(err)
			}
			n += len(resp.Agents)
			if token = resp.NextPageToken; token == "" {
				break
			}
		}
		if n != 10000 {
			b.Fatalf("%d agents", n)
		}
	}
}
