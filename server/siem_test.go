package server

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilsec/vigil/pkg/bus"
)

// Two tenants, one SIEM credential each, both named "splunk": each reads
// and acknowledges its own tenant's events through its own consumer, and
// every JetStream call that reaches across to the other tenant is refused.
func TestSIEMConfinedToItsTenant(t *testing.T) {
	s, tr := startTLSServer(t)
	ctx := context.Background()
	root := t.TempDir()
	acmeDir, globexDir := filepath.Join(root, "acme"), filepath.Join(root, "globex")
	if _, err := tr.SIEMCredentials("splunk", []string{"acme"}, acmeDir, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SIEMCredentials("splunk", []string{"globex"}, globexDir, 0); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for _, tenant := range []string{"acme", "globex"} {
			data, _ := json.Marshal(map[string]any{"tenant": tenant, "n": i})
			if _, err := s.js.Publish(ctx, "vigil.events."+tenant+".cluster.high", data); err != nil {
				t.Fatal(err)
			}
		}
	}
	acme, err := connectWith(t, s.NATSURL(), acmeDir, bus.InboxPrefix("siem", "splunk"))
	if err != nil {
		t.Fatal(err)
	}
	globex, err := connectWith(t, s.NATSURL(), globexDir, bus.InboxPrefix("siem", "splunk"))
	if err != nil {
		t.Fatal(err)
	}
	// globex keeps a durable consumer, as its SIEM would.
	globexName := bus.SIEMConsumer("splunk", "globex")
	if _, err := globex.js.CreateConsumer(ctx, bus.EventsStream, jetstream.ConsumerConfig{Durable: globexName,
		FilterSubject: bus.EventsFilter("globex"), AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("globex creating its own consumer: %v", err)
	}

	// acme reads and acknowledges its own events: after the acks nothing
	// is pending and nothing is redelivered.
	acmeName := bus.SIEMConsumer("splunk", "acme")
	cons, err := acme.js.CreateConsumer(ctx, bus.EventsStream, jetstream.ConsumerConfig{Durable: acmeName,
		FilterSubject: "vigil.events.acme.*.high", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Second})
	if err != nil {
		t.Fatalf("acme creating its own consumer: %v", err)
	}
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range batch.Messages() {
		var ev map[string]any
		if err := json.Unmarshal(m.Data(), &ev); err != nil || ev["tenant"] != "acme" {
			t.Fatalf("acme's consumer delivered %s", m.Data())
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("acme acknowledging its event: %v", err)
		}
		got++
	}
	if got != 3 {
		t.Fatalf("acme read %d events, want 3", got)
	}
	time.Sleep(1500 * time.Millisecond) // past AckWait: an unacknowledged event would come back
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 || info.NumRedelivered != 0 {
		t.Fatalf("after acking: %d ack pending, %d pending, %d redelivered", info.NumAckPending, info.NumPending, info.NumRedelivered)
	}

	// Every cross-tenant call, and every call beyond the SIEM's own
	// consumers, is refused by NATS.
	st := bus.EventsStream
	for _, call := range []struct{ what, subject string }{
		{"create its consumer over globex's events", "$JS.API.CONSUMER.CREATE." + st + "." + acmeName + ".vigil.events.globex.>"},
		{"create a consumer over every tenant", "$JS.API.CONSUMER.CREATE." + st + "." + acmeName + ".vigil.events.>"},
		{"create without a filter", "$JS.API.CONSUMER.CREATE." + st + "." + acmeName},
		{"create an unnamed consumer", "$JS.API.CONSUMER.CREATE." + st},
		{"update globex's consumer to acme's filter", "$JS.API.CONSUMER.CREATE." + st + "." + globexName + ".vigil.events.acme.>"},
		{"durable create of globex's name", "$JS.API.CONSUMER.DURABLE.CREATE." + st + "." + globexName},
		{"durable create of its own name", "$JS.API.CONSUMER.DURABLE.CREATE." + st + "." + acmeName},
		{"info of globex's consumer", "$JS.API.CONSUMER.INFO." + st + "." + globexName},
		{"next of globex's consumer", "$JS.API.CONSUMER.MSG.NEXT." + st + "." + globexName},
		{"ack on globex's consumer", "$JS.ACK." + st + "." + globexName + ".1.1.1.0.0"},
		{"delete globex's consumer", "$JS.API.CONSUMER.DELETE." + st + "." + globexName},
		{"pause globex's consumer", "$JS.API.CONSUMER.PAUSE." + st + "." + globexName},
		{"reset globex's consumer", "$JS.API.CONSUMER.RESET." + st + "." + globexName},
		{"unpin globex's consumer", "$JS.API.CONSUMER.UNPIN." + st + "." + globexName},
		{"list consumers", "$JS.API.CONSUMER.LIST." + st},
		{"consumer names", "$JS.API.CONSUMER.NAMES." + st},
		{"stream purge", "$JS.API.STREAM.PURGE." + st},
		{"stream info", "$JS.API.STREAM.INFO." + st},
		{"stream update", "$JS.API.STREAM.UPDATE." + st},
		{"stream delete", "$JS.API.STREAM.DELETE." + st},
		{"message get", "$JS.API.STREAM.MSG.GET." + st},
		{"message delete", "$JS.API.STREAM.MSG.DELETE." + st},
		{"direct get", "$JS.API.DIRECT.GET." + st},
		{"direct get by subject", "$JS.API.DIRECT.GET." + st + ".vigil.events.globex.cluster.high"},
		{"account info", "$JS.API.INFO"},
		{"publish an event", "vigil.events.acme.cluster.high"},
	} {
		if !acme.denied(t, call.subject) {
			t.Errorf("acme's SIEM may %s (%s)", call.what, call.subject)
		}
	}
	// Through the client library too: the calls fail, and globex's
	// consumer is as globex left it.
	if _, err := acme.js.CreateOrUpdateConsumer(ctx, st, jetstream.ConsumerConfig{Durable: globexName, FilterSubject: bus.EventsFilter("acme")}); err == nil {
		t.Error("acme re-pointed globex's consumer")
	}
	if err := acme.js.DeleteConsumer(ctx, st, globexName); err == nil {
		t.Error("acme deleted globex's consumer")
	}
	gi, err := s.js.Consumer(ctx, st, globexName)
	if err != nil {
		t.Fatalf("globex's consumer is gone: %v", err)
	}
	if f := gi.CachedInfo().Config.FilterSubject; f != bus.EventsFilter("globex") || gi.CachedInfo().NumPending != 3 {
		t.Fatalf("globex's consumer now filters %q with %d pending", f, gi.CachedInfo().NumPending)
	}
	// globex may delete its own.
	if err := globex.js.DeleteConsumer(ctx, st, globexName); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("globex deleting its own consumer: %v", err)
	}
}
