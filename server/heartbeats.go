package server

import (
	"context"
	"sync"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/server/store"
)

// heartbeatFlush is how often gathered heartbeats are written: an agent's
// last heartbeat shows in queries at most this much later.
const heartbeatFlush = 250 * time.Millisecond

// heartbeats gathers agents' heartbeats between flushes, so that a fleet
// of 10,000 agents costs one write transaction per flush rather than one
// per heartbeat. An agent's heartbeats within one flush are all written, in
// order: a complete round's heartbeat followed at once by the next run's
// first (which names no scopes yet) must still retire what the round
// dropped.
type heartbeats struct {
	mu      sync.Mutex
	pending map[[2]string][]beat
}

// maxPendingBeats bounds the heartbeats kept per agent between flushes; an
// agent sending more than this in one flush interval loses its oldest.
const maxPendingBeats = 16

type beat struct {
	h  *vigilv1.Heartbeat
	at time.Time
}

// add queues h, received at, after its agent's earlier heartbeats.
func (b *heartbeats) add(h *vigilv1.Heartbeat, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[[2]string][]beat{}
	}
	k := [2]string{h.Tenant, h.Agent}
	q := b.pending[k]
	if len(q) >= maxPendingBeats {
		q = q[1:]
	}
	b.pending[k] = append(q, beat{h, at})
}

// flush writes every gathered heartbeat in one transaction and returns
// for how many agents, and the lifecycle events of the scopes they retired
// (see Heartbeat.scopes_complete). On a failed write they are kept for the
// next flush, ahead of any that came meanwhile.
func (b *heartbeats) flush(st *store.Store) (int, []*vigilv1.FindingEvent, error) {
	taken := b.take()
	if len(taken) == 0 {
		return 0, nil, nil
	}
	var events []*vigilv1.FindingEvent
	err := st.Update(func(w *store.Writer) error {
		if err := write(w, taken); err != nil {
			return err
		}
		events = w.Events
		return nil
	})
	if err != nil {
		b.restore(taken)
		return 0, nil, err
	}
	return len(taken), events, nil
}

// take removes and returns the gathered heartbeats.
func (b *heartbeats) take() map[[2]string][]beat {
	b.mu.Lock()
	defer b.mu.Unlock()
	taken := b.pending
	b.pending = nil
	return taken
}

// restore puts back heartbeats whose write failed, ahead of those of the
// same agent that came meanwhile.
func (b *heartbeats) restore(taken map[[2]string][]beat) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[[2]string][]beat{}
	}
	for k, q := range taken {
		q = append(q, b.pending[k]...)
		if len(q) > maxPendingBeats {
			q = q[len(q)-maxPendingBeats:]
		}
		b.pending[k] = q
	}
}

// write records heartbeats in a transaction, each agent's in order.
func write(w *store.Writer, beats map[[2]string][]beat) error {
	for _, q := range beats {
		for _, p := range q {
			if err := w.Heartbeat(p.h, p.at); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeHeartbeats flushes the gathered heartbeats every heartbeatFlush
// until ctx ends.
func (s *Server) writeHeartbeats(ctx context.Context) {
	tick := time.NewTicker(heartbeatFlush)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_, events, err := s.beats.flush(s.store)
		if err != nil {
			s.log.Error("store heartbeats", "err", err)
		}
		s.after(events, nil)
	}
}
