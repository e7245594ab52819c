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
	"github.com/vigilsec/vigil/pkg/finding"
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

// An agent's complete round and its next start within one flush interval:
// the complete heartbeat still retires the scope the round dropped,
// although a heartbeat naming no scopes came after it.
func TestHeartbeatsInOneFlushApplyInOrder(t *testing.T) {
	st := openStore(t, true)
	t0 := time.Now()
	kept := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/srv/kept"}
	dropped := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/srv/dropped"}
	for _, sc := range []*vigilv1.Scope{kept, dropped} {
		scanScope(t, st, sc, t0)
	}
	var b heartbeats
	b.add(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a1", Scopes: []*vigilv1.Scope{kept, dropped}, ScopesComplete: true}, t0)
	if _, _, err := b.flush(st); err != nil {
		t.Fatal(err)
	}
	b.add(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a1", Scopes: []*vigilv1.Scope{kept}, ScopesComplete: true}, t0.Add(time.Second))
	b.add(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a1"}, t0.Add(2*time.Second)) // the next run starts
	if n, events, err := b.flush(st); err != nil || n != 1 || len(events) != 1 {
		t.Fatalf("flush: %d agents, %d events, %v; want one agent and the dropped scope's finding resolved", n, len(events), err)
	}
	open, _, err := st.List(&vigilv1.FindingFilter{Tenant: "acme", Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN}}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].Finding.Location.Path != "/srv/kept/pod.yaml" {
		t.Fatalf("open findings %v, want only the kept scope's", open)
	}
}

// scanScope stores one finding in scope sc, as a full scan of it.
func scanScope(t *testing.T, st *store.Store, sc *vigilv1.Scope, at time.Time) {
	t.Helper()
	f := &vigilv1.Finding{CheckId: "VGL-T-1", Title: "t", Severity: vigilv1.Severity_SEVERITY_HIGH, Pillar: vigilv1.Pillar_PILLAR_CLUSTER,
		Resource: &vigilv1.Resource{Tenant: sc.Tenant, Kind: "Pod", Name: "p"}, Location: &vigilv1.Location{Path: sc.Target + "/pod.yaml"}}
	f.Fingerprint = finding.Fingerprint(f.CheckId, f.Resource, f.Location.Path, "")
	d := finding.DigestOf([]string{f.Fingerprint})
	err := st.Update(func(w *store.Writer) error {
		if err := w.ApplyBatch(&vigilv1.FindingBatch{ScanId: sc.Target, Seq: 1, Scope: sc, Full: true, Findings: []*vigilv1.Finding{f}}, at); err != nil {
			return err
		}
		ok, err := w.ApplyCompleted(&vigilv1.ScanCompleted{ScanId: sc.Target, Scope: sc, Full: true, Batches: 1, FindingCount: 1, SetDigest: d[:]}, at, false)
		if err == nil && !ok {
			err = fmt.Errorf("scan of %s not applied", sc.Target)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
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
