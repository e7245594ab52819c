package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
)

// TestNoLifecycleEventLost ingests 50,000 findings while the server is
// SIGKILLed three times and NATS is restarted once. Every open finding then
// has exactly one OPENED event id on the events stream, and no OPENED
// event names a finding that is not open; a repeated message carries the
// same id, so a SIEM deduplicates it.
func TestNoLifecycleEventLost(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 findings through killed servers")
	}
	const agents, per = 10, 5000
	n := startNATS(t)
	srv := startServer(t, n.url())
	published := make(chan struct{})
	go func() {
		defer close(published)
		js := jsOf(t, n.url())
		for a := range agents {
			publishScan(t, js, "acme", fmt.Sprintf("ev-%02d", a), "s1", per)
		}
	}()
	total := func() uint64 { return srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "acme"}).Total }
	// Kill the server three times while it ingests, and restart NATS once.
	for kill := range 3 {
		waitFor(t, 2*time.Minute, "ingest under way", func() bool { return total() > uint64(kill*per+1) })
		srv.kill()
		if kill == 1 {
			n.stop()
			time.Sleep(500 * time.Millisecond)
			n.start()
		}
		srv.start()
	}
	<-published
	waitFor(t, 3*time.Minute, "every finding ingested", func() bool { return total() == agents*per })

	open := map[string]bool{}
	for _, f := range srv.listAll(&vigilv1.FindingFilter{Tenant: "acme"}) {
		open[f.Finding.Fingerprint] = true
	}
	if len(open) != agents*per {
		t.Fatalf("%d open findings, want %d", len(open), agents*per)
	}
	// Read the events stream until every open finding has its OPENED event
	// (the outbox may still be draining), then a little longer.
	js := jsOf(t, n.url())
	cons, err := js.OrderedConsumer(context.Background(), bus.EventsStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	idOf := map[string]string{} // fingerprint → event id of its OPENED event
	messages, repeats := 0, 0
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && len(idOf) < len(open) {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			var ev struct {
				Metadata struct {
					UID       string `json:"uid"`
					EventCode string `json:"event_code"`
				} `json:"metadata"`
				FindingInfo struct {
					UID string `json:"uid"`
				} `json:"finding_info"`
			}
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				t.Fatalf("event does not decode: %v", err)
			}
			if ev.Metadata.EventCode != "EVENT_TYPE_OPENED" {
				continue
			}
			messages++
			fp := ev.FindingInfo.UID
			if !open[fp] {
				t.Fatalf("OPENED event %s for %s, which is not open", ev.Metadata.UID, fp)
			}
			if prev, ok := idOf[fp]; ok {
				if prev != ev.Metadata.UID {
					t.Fatalf("%s opened twice, as %s and %s", fp, prev, ev.Metadata.UID)
				}
				repeats++
			}
			idOf[fp] = ev.Metadata.UID
		}
	}
	if len(idOf) != len(open) {
		t.Fatalf("%d of %d open findings have an OPENED event", len(idOf), len(open))
	}
	t.Logf("%d OPENED messages for %d findings (%d repeats of an id)", messages, len(open), repeats)
}
