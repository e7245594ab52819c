package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
)

// outboxBatch is how many events one round of the publisher sends before
// it waits for their acknowledgements.
const outboxBatch = 2048

// publishEvents sends the event outbox to the events stream until stop
// closes, then makes a last attempt and returns; what is left waits in
// the outbox for the next start. Each event is published with JetStream
// (acknowledged), its id as Nats-Msg-Id, and deleted only once
// acknowledged: a crash or a NATS outage delays events, never loses them,
// and a re-send inside the stream's duplicate window is dropped by NATS.
func (s *Server) publishEvents(stop <-chan struct{}) {
	defer close(s.eventsDone)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	backoff := time.Duration(0)
	for {
		n, err := s.flushOutbox(context.Background())
		switch {
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			s.log.Warn("events not published; they stay in the outbox", "err", err, "retry_in", backoff)
		case n == outboxBatch:
			backoff = 0
			continue // more are waiting
		default:
			backoff = 0
		}
		wait := tick.C
		var retry <-chan time.Time
		if backoff > 0 {
			retry = time.After(backoff)
			wait = nil
		}
		select {
		case <-stop:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for {
				n, err := s.flushOutbox(ctx)
				if err != nil || n < outboxBatch {
					break
				}
			}
			cancel()
			return
		case <-s.kickEvents:
		case <-wait:
		case <-retry:
		}
	}
}

// flushOutbox publishes one batch of the outbox and deletes what the
// stream acknowledged; it returns how many events it took.
func (s *Server) flushOutbox(ctx context.Context) (int, error) {
	pending, err := s.store.PendingEvents(outboxBatch)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	type sent struct {
		key []byte
		ev  *vigilv1.FindingEvent
		ack jetstream.PubAckFuture
	}
	var inflight []sent
	var done [][]byte
	var errs []error
	for _, p := range pending {
		if p.Event == nil {
			s.log.Error("outbox entry does not decode; removed", "key", fmt.Sprintf("%x", p.Key))
			done = append(done, p.Key)
			continue
		}
		msg, err := eventMsg(p.Event)
		if err != nil {
			s.log.Error("event not encodable; removed", "id", p.Event.Id, "err", err)
			done = append(done, p.Key)
			continue
		}
		f, err := s.js.PublishMsgAsync(msg, jetstream.WithMsgID(p.Event.Id))
		if err != nil {
			errs = append(errs, err)
			break
		}
		inflight = append(inflight, sent{p.Key, p.Event, f})
	}
	timeout := time.After(30 * time.Second)
wait:
	for _, in := range inflight {
		select {
		case <-in.ack.Ok():
			done = append(done, in.key)
			s.m.events.Add(ctx, 1, metric.WithAttributes(attribute.String("type", in.ev.GetType().String())))
		case err := <-in.ack.Err():
			errs = append(errs, err)
		case <-timeout:
			errs = append(errs, errors.New("no acknowledgement from the events stream within 30s"))
			break wait
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
			break wait
		}
	}
	if err := s.store.DeleteEvents(done); err != nil {
		errs = append(errs, err)
	}
	return len(pending), errors.Join(errs...)
}

// eventMsg is the NATS message of an event: its OCSF JSON on
// vigil.events.<tenant>.<pillar>.<severity>. An event too large for one
// message has its evidence trimmed, with a marker saying so; it is never
// dropped.
func eventMsg(ev *vigilv1.FindingEvent) (*nats.Msg, error) {
	data, err := encodeEvent(ev)
	if err != nil {
		return nil, err
	}
	if len(data) > bus.MaxMessageSize {
		if data, err = encodeEvent(trimmed(ev, len(data))); err != nil {
			return nil, err
		}
		if len(data) > bus.MaxMessageSize {
			return nil, fmt.Errorf("event %s is %d bytes even with its evidence trimmed", ev.Id, len(data))
		}
	}
	f := ev.GetFinding().GetFinding()
	msg := nats.NewMsg(bus.EventsSubject(f.GetResource().GetTenant(), finding.PillarName(f.GetPillar()), finding.SeverityName(f.GetSeverity())))
	msg.Data = data
	msg.Header.Set(bus.HeaderContentType, bus.ContentJSON)
	return msg, nil
}

// trimmed is a copy of ev whose free text (message, snippet, remediation,
// references, and the resource's URI) is cut to fit one message, each cut
// marked.
func trimmed(ev *vigilv1.FindingEvent, size int) *vigilv1.FindingEvent {
	c := proto.Clone(ev).(*vigilv1.FindingEvent)
	f := c.GetFinding().GetFinding()
	if f == nil {
		return c
	}
	const keep = 4 << 10
	mark := fmt.Sprintf(" [trimmed: the event was %d bytes, over the %d-byte message limit]", size, bus.MaxMessageSize)
	cut := func(s string) string {
		if len(s) <= keep {
			return s
		}
		return strings.ToValidUTF8(s[:keep], "") + mark
	}
	f.Message, f.Remediation, f.Title = cut(f.Message), cut(f.Remediation), cut(f.Title)
	if f.Location != nil {
		f.Location.Snippet, f.Location.Path = cut(f.Location.Snippet), cut(f.Location.Path)
	}
	if f.Resource != nil {
		f.Resource.Uri, f.Resource.Name = cut(f.Resource.Uri), cut(f.Resource.Name)
	}
	if len(f.References) > 32 {
		f.References = append(f.References[:32], fmt.Sprintf("[trimmed: %d more references]", len(f.References)-32))
	}
	if len(f.Tags) > 32 {
		f.Tags = f.Tags[:32]
	}
	return c
}
