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

// heartbeats gathers agents' heartbeats between flushes, the latest per
// agent with the time it arrived, so that a fleet of 10,000 agents costs
// one write transaction per flush rather than one per heartbeat.
type heartbeats struct {
	mu      sync.Mutex
	pending map[[2]string]beat
}

type beat struct {
	h  *vigilv1.Heartbeat
	at time.Time
}

// add keeps h as its agent's latest heartbeat, received at.
func (b *heartbeats) add(h *vigilv1.Heartbeat, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[[2]string]beat{}
	}
	b.pending[[2]string{h.Tenant, h.Agent}] = beat{h, at}
}

// flush writes every gathered heartbeat in one transaction and returns
// how many, and the lifecycle events of the scopes they retired (see
// Heartbeat.scopes_complete). On a failed write they are kept for the next
// flush, unless a newer heartbeat of the same agent came meanwhile.
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
func (b *heartbeats) take() map[[2]string]beat {
	b.mu.Lock()
	defer b.mu.Unlock()
	taken := b.pending
	b.pending = nil
	return taken
}

// restore puts back heartbeats whose write failed, but not over a newer
// one of the same agent.
func (b *heartbeats) restore(taken map[[2]string]beat) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[[2]string]beat{}
	}
	for k, p := range taken {
		if _, newer := b.pending[k]; !newer {
			b.pending[k] = p
		}
	}
}

// write records heartbeats in a transaction.
func write(w *store.Writer, beats map[[2]string]beat) error {
	for _, p := range beats {
		if err := w.Heartbeat(p.h, p.at); err != nil {
			return err
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
