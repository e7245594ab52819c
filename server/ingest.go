package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/server/store"
)

// ingest consumes the findings stream with a durable pull consumer. Messages
// are decoded here and applied by a second goroutine, in store transactions
// of bounded size, and acknowledged after commit.
func (s *Server) ingest(ctx context.Context) error {
	cons, err := s.consumer(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before NATS came back
		}
		return err
	}
	work := make(chan []decoded, 2)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		backoff := time.Duration(0)
		for chunk := range work {
			if s.applyChunk(chunk) {
				backoff = 0
				continue
			}
			// The store failed: the messages wait for redelivery.
			backoff = min(2*backoff+250*time.Millisecond, 5*time.Second)
			time.Sleep(backoff)
		}
	}()
	// On the way out the chunks already decoded are applied before return.
	defer func() { close(work); <-committed }()

	backoff := time.Duration(0)
	lastMsg := time.Now()
	var it jetstream.MessagesContext
	defer func() {
		if it != nil {
			it.Stop()
		}
	}()
	for ctx.Err() == nil {
		if backoff > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
		}
		if it == nil {
			if it, err = cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(2*s.cfg.FetchBatch, pullBytes)); err != nil {
				s.log.Warn("consume failed", "err", err)
				it = nil
				backoff = min(2*backoff+100*time.Millisecond, 5*time.Second)
				continue
			}
		}
		// Block for the first message, then take what is already buffered.
		m, err := it.Next(jetstream.NextMaxWait(500 * time.Millisecond))
		if err != nil {
			if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
				backoff = 0
				// A pull can be left waiting on a consumer leader that went
				// away (a NATS node lost in a cluster) without an error:
				// after a quiet spell with work pending, pull anew.
				if time.Since(lastMsg) > idleRepull && s.consumerHasWork(ctx, cons) {
					s.log.Info("no messages for a while with work pending; pulling anew")
					it.Stop()
					it = nil
					lastMsg = time.Now()
				}
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("consume interrupted; resubscribing", "err", err)
			it.Stop()
			it = nil
			backoff = min(2*backoff+100*time.Millisecond, 5*time.Second)
			continue
		}
		lastMsg = time.Now()
		fetched := lastMsg
		msgs := []jetstream.Msg{m}
		for len(msgs) < s.cfg.FetchBatch {
			m, err := it.Next(jetstream.NextMaxWait(2 * time.Millisecond))
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		// The messages in hand are finished even when ctx ends meanwhile.
		for _, chunk := range s.decode(msgs) {
			chunk[0].fetched = fetched
			work <- chunk
		}
		backoff = 0
	}
	return nil
}

// consumer creates or updates the durable consumer of the findings
// stream. NATS may be away for a moment (a restart, a lost cluster node):
// the server waits for it rather than giving up, and stops only with ctx.
func (s *Server) consumer(ctx context.Context) (jetstream.Consumer, error) {
	backoff := 100 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cons, err := s.js.CreateOrUpdateConsumer(cctx, bus.FindingsStream, jetstream.ConsumerConfig{
			Durable:       s.cfg.Consumer,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       10 * time.Second,
			MaxAckPending: 4 * s.cfg.FetchBatch,
			FilterSubject: bus.FindingsFilter(s.cfg.Shards, s.cfg.Shard),
			DeliverPolicy: jetstream.DeliverAllPolicy,
			MaxDeliver:    -1,
		})
		cancel()
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("consumer %s: %w", s.cfg.Consumer, err)
		}
		s.log.Warn("findings consumer not ready; retrying", "consumer", s.cfg.Consumer, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("consumer %s: %w", s.cfg.Consumer, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// idleRepull is how long the ingest waits without messages before it
// checks whether the consumer has work it is not being given.
const idleRepull = 5 * time.Second

// consumerHasWork reports whether the consumer holds messages not yet
// acknowledged or not yet delivered.
func (s *Server) consumerHasWork(ctx context.Context, cons jetstream.Consumer) bool {
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := cons.Info(ictx)
	return err == nil && (info.NumPending > 0 || info.NumAckPending > 0)
}

type decoded struct {
	msg jetstream.Msg
	sm  *vigilv1.ScanMessage
	// fetched is when the ingest loop took the chunk's messages from the
	// consumer; set on a chunk's first item.
	fetched time.Time
	// deferred is set for a ScanCompleted whose batches are not all in yet.
	deferred bool
}

// forceAfter is the delivery count after which a ScanCompleted applies even
// though batches are missing (they were dead-lettered or lost); the digest
// check then asks the agent for a full resend.
const forceAfter = 15

// pullBytes bounds the message bytes one pull asks for: batches of large
// messages would otherwise overrun the subscription's pending limit and be
// dropped as a slow consumer, to come back only after the ack wait.
const pullBytes = 16 << 20

// maxTxFindings bounds the findings one store transaction writes.
const maxTxFindings = 5000

// decode validates fetched messages, dead-letters the unusable ones and
// splits the rest into chunks of at most maxTxFindings findings, one store
// transaction each: bbolt transactions that change many pages cost more
// than they save.
func (s *Server) decode(msgs []jetstream.Msg) [][]decoded {
	var chunks [][]decoded
	var cur []decoded
	size := 0
	for _, m := range msgs {
		sm, err := bus.DecodeScanMsg(m.Subject(), m.Data())
		if err != nil {
			s.deadLetter(m, err)
			continue
		}
		if !s.checkQuota(m, sm) {
			continue
		}
		cur = append(cur, decoded{msg: m, sm: sm})
		size += len(sm.GetBatch().GetFindings()) + len(sm.GetBatch().GetGoneFingerprints()) + 1
		if size >= maxTxFindings {
			chunks, cur, size = append(chunks, cur), nil, 0
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// applyChunk commits a chunk. When the transaction fails it applies the
// messages one at a time to find the one at fault, which goes to the
// dead-letter subject. It returns false when the store could not commit
// anything (every message is left for redelivery).
func (s *Server) applyChunk(chunk []decoded) bool {
	now := time.Now()
	err := s.commit(chunk, now)
	if err == nil {
		return true
	}
	if diskFull(err) {
		// Nothing is wrong with the messages: they wait in the stream.
		s.log.Error("the store cannot grow: the data dir is full; ingest pauses (messages stay in the stream) and resumes when space returns", "err", err, "store", s.store.Path())
		for _, d := range chunk {
			d.msg.NakWithDelay(time.Second)
		}
		return false
	}
	s.log.Warn("transaction failed, applying one message at a time", "err", err, "messages", len(chunk))
	var failed []decoded
	var errs []error
	full := false
	for i := range chunk {
		if err := s.commit(chunk[i:i+1], now); err != nil {
			full = full || diskFull(err)
			failed = append(failed, chunk[i])
			errs = append(errs, err)
		}
	}
	if len(failed) == len(chunk) || full {
		// A store that rejects everything, or ran out of space, is at
		// fault, not the messages: all of them wait for redelivery.
		s.log.Error("store rejects messages; will retry", "err", err, "messages", len(failed), "disk_full", full)
		for _, d := range failed {
			d.msg.NakWithDelay(time.Second)
		}
		return false
	}
	for i, d := range failed {
		s.deadLetter(d.msg, &bus.RejectError{Reason: bus.ReasonApply, Err: errs[i]})
	}
	return true
}

// commit applies messages in one store transaction; after the commit it
// acknowledges them (or, for deferred completions, asks for redelivery)
// and publishes the lifecycle events.
func (s *Server) commit(items []decoded, now time.Time) error {
	start := time.Now()
	var events []*vigilv1.FindingEvent
	var resend []*vigilv1.Scope
	var received, written int
	spans := make([]trace.Span, len(items))
	ctxs := make([]context.Context, len(items))
	for i := range items {
		ctxs[i], spans[i] = ingestSpan(items[i].msg, start)
	}
	// Heartbeats received so far commit with the scans, so that an
	// agent's first scan never shows before the agent itself.
	beats := s.beats.take()
	err := s.store.Update(func(w *store.Writer) error {
		if err := write(w, beats); err != nil {
			return err
		}
		for i := range items {
			ok, err := apply(w, items[i].sm, now, delivered(items[i].msg) >= forceAfter)
			if err != nil {
				return err
			}
			items[i].deferred = !ok
		}
		events, resend = w.Events, w.Resend
		received, written = w.Received, w.Written
		return nil
	})
	for i := range spans {
		spans[i].SetAttributes(attribute.Int("vigil.tx.messages", len(items)), attribute.Bool("vigil.deferred", items[i].deferred))
		endSpan(spans[i], err)
	}
	if err != nil {
		s.beats.restore(beats)
		return err
	}
	ctx := context.Background()
	took := time.Since(start)
	s.m.commit.Record(ctx, took.Seconds())
	s.m.received.Add(ctx, int64(received))
	s.m.written.Add(ctx, int64(written))
	s.stats.received.Add(uint64(received))
	s.stats.written.Add(uint64(written))
	for i, d := range items {
		if d.deferred {
			d.msg.NakWithDelay(2 * time.Second)
			continue
		}
		s.ack(d.msg)
		s.stats.messages.Add(1)
		s.m.messages.Add(ctx, 1)
		if md, err := d.msg.Metadata(); err == nil {
			s.m.lag.Record(ctxs[i], time.Since(md.Timestamp).Seconds())
		}
		if d.sm.GetCompleted() != nil {
			s.stats.scans.Add(1)
		}
	}
	s.after(events, resend)
	s.log.Debug("batch committed", "messages", len(items), "events", len(events), "took", took)
	if f := s.traceCommit.Load(); f != nil {
		legs := commitLegs{Fetched: items[0].fetched, Began: start, Committed: start.Add(took), Findings: received}
		for _, d := range items {
			if md, err := d.msg.Metadata(); err == nil {
				legs.Stored = append(legs.Stored, md.Timestamp)
			}
		}
		(*f)(legs)
	}
	return nil
}

// commitLegs are the times of one committed chunk: when JetStream stored
// each of its messages (and acknowledged the publisher), when the ingest
// loop fetched them, when their transaction began and when it committed,
// which is when they became visible to queries.
type commitLegs struct {
	Stored                    []time.Time
	Fetched, Began, Committed time.Time
	Findings                  int
}

// Stats are running ingest counters since the server started.
type Stats struct {
	// Messages is the number of scan messages applied.
	Messages uint64
	// Scans is the number of ScanCompleted messages applied.
	Scans uint64
}

type stats struct {
	messages, scans, received, written atomic.Uint64
}

// Stats returns the ingest counters.
func (s *Server) Stats() Stats {
	return Stats{Messages: s.stats.messages.Load(), Scans: s.stats.scans.Load()}
}

// apply applies one message; false means a ScanCompleted was deferred.
func apply(w *store.Writer, sm *vigilv1.ScanMessage, now time.Time, force bool) (bool, error) {
	switch p := sm.Payload.(type) {
	case *vigilv1.ScanMessage_Batch:
		return true, w.ApplyBatch(p.Batch, now)
	case *vigilv1.ScanMessage_Completed:
		return w.ApplyCompleted(p.Completed, now, force)
	}
	return true, nil
}

func delivered(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 0
	}
	return md.NumDelivered
}

func (s *Server) ack(m jetstream.Msg) {
	if err := m.Ack(); err != nil {
		s.log.Warn("ack failed; the message will be redelivered and applied idempotently", "err", err)
	}
}

// deadLetter copies an unusable message to vigil.deadletter.<reason> with the
// reason and original subject in headers, then acknowledges it.
func (s *Server) deadLetter(m jetstream.Msg, cause error) {
	reason := bus.ReasonInvalid
	if r, ok := bus.IsReject(cause); ok {
		reason = r.Reason
	}
	dl := nats.NewMsg(bus.DeadLetterSubject(reason))
	dl.Data = m.Data()
	dl.Header.Set(bus.HeaderReason, cause.Error())
	dl.Header.Set(bus.HeaderSubject, m.Subject())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.js.PublishMsg(ctx, dl); err != nil {
		s.log.Error("dead-letter publish failed; leaving message for redelivery", "err", err, "subject", m.Subject())
		m.NakWithDelay(time.Second)
		return
	}
	s.m.dead.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
	s.log.Warn("message dead-lettered", "reason", reason, "subject", m.Subject(), "err", cause)
	s.ack(m)
}

// after hands the lifecycle events of a committed transaction to watchers
// and to the event publisher, and asks agents for full resends where
// digests disagreed.
func (s *Server) after(events []*vigilv1.FindingEvent, resend []*vigilv1.Scope) {
	s.hub.publish(events)
	if len(events) > 0 {
		select { // the events are in the outbox already; wake its publisher
		case s.kickEvents <- struct{}{}:
		default:
		}
	}
	for _, sc := range resend {
		go s.requestResend(sc)
	}
}

// requestResend asks an agent for the full set of a scope. The request is
// stored in the control stream, so an agent that is not running reads it at
// its next start.
func (s *Server) requestResend(sc *vigilv1.Scope) {
	data, _ := proto.Marshal(&vigilv1.ResendRequest{Scope: sc, Reason: "set digest mismatch"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.js.Publish(ctx, bus.ControlSubject(sc.Tenant, sc.Agent), data); err != nil {
		s.log.Warn("resend request not stored; the agent's next periodic full scan will repair the scope", "tenant", sc.Tenant, "agent", sc.Agent, "target", sc.Target, "err", err)
		return
	}
	s.log.Info("full resend requested", "tenant", sc.Tenant, "agent", sc.Agent, "scanner", sc.Scanner, "target", sc.Target)
}

func (s *Server) onHeartbeat(m *nats.Msg) {
	h, err := bus.DecodeHeartbeat(m.Subject, m.Data)
	if err != nil {
		s.log.Warn("bad heartbeat", "subject", m.Subject, "err", err)
		return
	}
	s.beats.add(h, time.Now()) // written with the others at the next flush
}

// diskFull reports whether a store error means the file could not grow.
// bbolt formats the cause into its message rather than wrapping it.
func diskFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EFBIG.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}
