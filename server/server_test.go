package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/server/store"
)

// startServer runs a server with an embedded NATS server on random ports.
func startServer(t testing.TB, cfg Config) (*Server, *nats.Conn, jetstream.JetStream, vigilv1.FindingServiceClient) {
	t.Helper()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.NATSListen = "127.0.0.1:-1"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	nc, err := nats.Connect(s.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		nc.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v on shutdown", err)
		}
	})
	return s, nc, js, vigilv1.NewFindingServiceClient(conn)
}

func publish(t *testing.T, js jetstream.JetStream, subject, id string, data []byte) {
	t.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(nats.MsgIdHdr, id)
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBadMessagesGoToDeadLetterAndIngestGoesOn(t *testing.T) {
	s, _, js, client := startServer(t, Config{})
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/m"}
	res := &vigilv1.Resource{Tenant: "acme", Kind: "Pod", Name: "p"}
	f := &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CLUSTER-001", res, "p.yaml", "x"), CheckId: "VGL-CLUSTER-001",
		Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH, Resource: res}
	good := func(scope *vigilv1.Scope) []byte {
		b, _ := proto.Marshal(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: &vigilv1.FindingBatch{ScanId: "s1", Seq: 1, Scope: scope, Full: true, Findings: []*vigilv1.Finding{f}}}})
		return b
	}
	publish(t, js, bus.FindingsSubject("acme", "a1"), "bad/1", []byte("\x0a\xff\xff garbage"))
	publish(t, js, bus.FindingsSubject("acme", "a1"), "bad/2", good(&vigilv1.Scope{Tenant: "acme", Agent: "a2", Scanner: "kubernetes", Target: "/m"}))
	publish(t, js, bus.FindingsSubject("acme", "a1"), "s1/1", good(scope))
	d := finding.DigestOf([]string{f.Fingerprint})
	done, _ := proto.Marshal(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Completed{Completed: &vigilv1.ScanCompleted{ScanId: "s1", Scope: scope, Batches: 1, Full: true, FindingCount: 1, SetDigest: d[:]}}})
	publish(t, js, bus.FindingsSubject("acme", "a1"), "s1/2", done)

	eventually(t, "the good scan applied", func() bool { return s.Stats().Scans == 1 })
	resp, err := client.ListFindings(context.Background(), &vigilv1.ListFindingsRequest{})
	if err != nil || len(resp.Findings) != 1 {
		t.Fatalf("ListFindings = %v, %v", resp, err)
	}
	stream, err := js.Stream(context.Background(), bus.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "two dead letters", func() bool {
		info, err := stream.Info(context.Background())
		return err == nil && info.State.Msgs == 2
	})
	reasons := map[string]bool{}
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		reasons[m.Subject] = true
		if m.Header.Get(bus.HeaderSubject) != bus.FindingsSubject("acme", "a1") || m.Header.Get(bus.HeaderReason) == "" {
			t.Errorf("dead letter %s lacks headers: %v", m.Subject, m.Header)
		}
	}
	if !reasons["vigil.deadletter.decode"] || !reasons["vigil.deadletter.subject_mismatch"] {
		t.Fatalf("dead-letter subjects = %v", reasons)
	}
}

func TestHeartbeatsAndStaleAgents(t *testing.T) {
	for _, c := range []struct {
		staleAfter time.Duration
		stale      bool
	}{{time.Hour, false}, {time.Nanosecond, true}} {
		s, nc, _, _ := startServer(t, Config{StaleAfter: c.staleAfter})
		hb, _ := proto.Marshal(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a1", Version: "1.2.3", Hostname: "h", OutboxDepth: 7})
		if err := nc.Publish(bus.AgentsSubject("acme", "a1"), hb); err != nil {
			t.Fatal(err)
		}
		// A heartbeat whose body names another agent than its subject is ignored.
		bad, _ := proto.Marshal(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a2"})
		nc.Publish(bus.AgentsSubject("acme", "a1"), bad)
		nc.Flush()
		conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		agents := vigilv1.NewAgentServiceClient(conn)
		var resp *vigilv1.ListAgentsResponse
		eventually(t, "the heartbeat", func() bool {
			resp, err = agents.ListAgents(context.Background(), &vigilv1.ListAgentsRequest{Tenant: "acme"})
			return err == nil && len(resp.Agents) > 0
		})
		time.Sleep(100 * time.Millisecond) // let the bad heartbeat arrive too
		resp, _ = agents.ListAgents(context.Background(), &vigilv1.ListAgentsRequest{})
		if len(resp.Agents) != 1 {
			t.Fatalf("agents = %v", resp.Agents)
		}
		a := resp.Agents[0]
		if a.Id != "a1" || a.Version != "1.2.3" || a.OutboxDepth != 7 || a.Stale != c.stale {
			t.Fatalf("stale-after %v: agent = %v", c.staleAfter, a)
		}
		if other, _ := agents.ListAgents(context.Background(), &vigilv1.ListAgentsRequest{Tenant: "globex"}); len(other.GetAgents()) != 0 {
			t.Fatalf("tenant filter leaked: %v", other.Agents)
		}
	}
}

func TestOversizedRequestRefused(t *testing.T) {
	_, _, _, client := startServer(t, Config{})
	_, err := client.ListFindings(context.Background(), &vigilv1.ListFindingsRequest{Filter: &vigilv1.FindingFilter{CheckId: strings.Repeat("x", 5<<20)}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("5 MiB request: %v", err)
	}
	if _, err := client.ListFindings(context.Background(), &vigilv1.ListFindingsRequest{}); err != nil {
		t.Fatalf("the server is unusable after an oversized request: %v", err)
	}
}

// ListAgents pages: a total over all pages, pages that join into the
// whole list, and a token that belongs to another tenant refused.
func TestListAgentsPages(t *testing.T) {
	s, _, _, _ := startServer(t, Config{})
	now := time.Now()
	if err := s.Store().Update(func(w *store.Writer) error {
		for i := range 10 {
			for _, tenant := range []string{"acme", "globex"} {
				if err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: tenant, Agent: fmt.Sprintf("a%02d", i)}, now); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	agents := vigilv1.NewAgentServiceClient(conn)
	var ids []string
	token := ""
	for {
		resp, err := agents.ListAgents(context.Background(), &vigilv1.ListAgentsRequest{Tenant: "acme", PageSize: 4, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Total != 10 || len(resp.Agents) > 4 {
			t.Fatalf("page of %d, total %d", len(resp.Agents), resp.Total)
		}
		for _, a := range resp.Agents {
			ids = append(ids, a.Tenant+"/"+a.Id)
		}
		if resp.NextPageToken == "" {
			break
		}
		token = resp.NextPageToken
	}
	if len(ids) != 10 || ids[0] != "acme/a00" || ids[9] != "acme/a09" {
		t.Errorf("agents %v", ids)
	}
	if _, err := agents.ListAgents(context.Background(), &vigilv1.ListAgentsRequest{Tenant: "globex", PageToken: token}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("acme's token for globex: %v", err)
	}
	if resp, err := agents.ListAgents(context.Background(), &vigilv1.ListAgentsRequest{}); err != nil || resp.Total != 20 || len(resp.Agents) != 20 {
		t.Errorf("all tenants: %v %v", resp, err)
	}
}

// An agent silent for RetireAfter is retired by the sweep, with the
// server named in the audit log.
func TestSilentAgentRetires(t *testing.T) {
	s, _, _, _ := startServer(t, Config{RetireAfter: time.Hour, SweepEvery: 20 * time.Millisecond})
	if err := s.Store().Update(func(w *store.Writer) error {
		if err := w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: "gone"}, time.Now().Add(-2*time.Hour)); err != nil {
			return err
		}
		return w.Heartbeat(&vigilv1.Heartbeat{Tenant: "acme", Agent: "here"}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the silent agent retired", func() bool {
		agents, err := s.Store().Agents("acme", time.Now(), time.Minute)
		if err != nil || len(agents) != 2 {
			return false
		}
		return agents[0].Id == "gone" && agents[0].Retired && !agents[1].Retired
	})
	audit, _, _ := s.Store().Audit(nil, 10, "")
	if len(audit) != 1 || audit[0].Actor != retireActor || audit[0].Agent != "gone" {
		t.Errorf("audit %v", audit)
	}
}
