package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
)

// TestServersAnnounceOneCoverageChange: two servers of one fleet (read
// replicas on one NATS) both see an agent go silent and come back; the
// stream holds one coverage.lost and one coverage.restored event, not one
// per server, since both name the silence by the agent's own clock.
func TestServersAnnounceOneCoverageChange(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	defer ns.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var servers []*Server
	var done []chan error
	for i := range 2 {
		s, err := New(ctx, Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSURL: ns.ClientURL(), Consumer: fmt.Sprintf("replica-%d", i),
			SweepEvery: 50 * time.Millisecond, StaleAfter: 400 * time.Millisecond, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan error, 1)
		go func() { ch <- s.Serve(ctx) }()
		servers, done = append(servers, s), append(done, ch)
	}
	defer func() {
		cancel()
		for _, ch := range done {
			<-ch
		}
	}()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	beat := func(n int) {
		for range n {
			hb, _ := proto.Marshal(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a1", Version: "1", SentAt: timestamppb.Now()})
			nc.Publish(bus.AgentsSubject("acme", "a1"), hb)
			time.Sleep(50 * time.Millisecond)
		}
	}
	lost := func(want bool) func() bool {
		return func() bool {
			for _, s := range servers {
				as, err := s.store.Agents("acme", time.Now(), time.Hour)
				if err != nil || len(as) != 1 || as[0].CoverageLost != want {
					return false
				}
			}
			return true
		}
	}
	count := func(state string) uint64 {
		st, _ := js.Stream(context.Background(), bus.EventsStream)
		subj := bus.EventsSubject("acme", "coverage", state)
		info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(subj))
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Subjects[subj]
	}
	beat(4)
	eventually(t, "both servers announcing the silence", lost(true))
	if n := count("lost"); n != 1 {
		t.Fatalf("%d coverage.lost events from two servers, want 1", n)
	}
	beat(2)
	eventually(t, "both servers announcing the return", lost(false))
	if n := count("restored"); n != 1 {
		t.Fatalf("%d coverage.restored events from two servers, want 1", n)
	}
}
