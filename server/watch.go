package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/server/store"
)

// hub fans lifecycle events out to WatchFindings streams. A watcher that
// falls more than its buffer behind is cut off rather than slowing ingest.
//
// Invariants: a watcher's buffer holds at most watchBufferEvents events and
// watchBufferBytes bytes of them; an event that does not fit cuts the
// watcher off (behind, then overflow closed) and is not queued. A stream
// whose client stops reading holds at most that, its Send blocked on
// HTTP/2 flow control, and is ended with RESOURCE_EXHAUSTED once a Send has
// waited watchStall.
type hub struct {
	mu   sync.Mutex
	subs map[*watcher]struct{}
}

// Bounds of one watcher.
const (
	watchBufferEvents = 4096
	watchBufferBytes  = 8 << 20
)

type watcher struct {
	filter   *vigilv1.FindingFilter
	ch       chan queued
	overflow chan struct{}
	once     sync.Once
	// bytes is the encoded size of the events in ch.
	bytes atomic.Int64
	// behind is set, before overflow closes, when the watcher fell behind
	// its buffer (rather than the server stopping).
	behind atomic.Bool
}

type queued struct {
	ev   *vigilv1.FindingEvent
	size int64
}

func newHub() *hub { return &hub{subs: map[*watcher]struct{}{}} }

func (h *hub) subscribe(f *vigilv1.FindingFilter) *watcher {
	w := &watcher{filter: f, ch: make(chan queued, watchBufferEvents), overflow: make(chan struct{})}
	h.mu.Lock()
	h.subs[w] = struct{}{}
	h.mu.Unlock()
	return w
}

// count is the number of watchers.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *hub) unsubscribe(w *watcher) {
	h.mu.Lock()
	delete(h.subs, w)
	h.mu.Unlock()
}

func (h *hub) publish(evs []*vigilv1.FindingEvent) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	// An event is sized once, and only when some watcher wants it.
	sizes := make([]int64, len(evs))
	for w := range h.subs {
		for i, ev := range evs {
			if !eventMatches(ev, w.filter) {
				continue
			}
			if sizes[i] == 0 {
				sizes[i] = int64(proto.Size(ev)) + 1
			}
			if w.bytes.Load()+sizes[i] > watchBufferBytes {
				w.cutOff()
				break
			}
			select {
			case w.ch <- queued{ev, sizes[i]}:
				w.bytes.Add(sizes[i])
			default:
				w.cutOff()
			}
		}
	}
}

// cutOff ends a watcher that fell behind its buffer.
func (w *watcher) cutOff() { w.once.Do(func() { w.behind.Store(true); close(w.overflow) }) }

// next takes the next buffered event, if any.
func (w *watcher) next() (*vigilv1.FindingEvent, bool) {
	select {
	case q := <-w.ch:
		w.bytes.Add(-q.size)
		return q.ev, true
	default:
		return nil, false
	}
}

// watchStall is how long one Send may wait for a client that stopped
// reading before the stream ends.
const watchStall = 30 * time.Second

// watch streams the events of w to a client. Sends run on a goroutine of
// their own, so a client that stops reading (its Send blocked on flow
// control) is noticed and its stream ended, not held open for ever.
func watch(ctx context.Context, w *watcher, stream grpc.ServerStreamingServer[vigilv1.WatchFindingsResponse], stall time.Duration) error {
	out := make(chan *vigilv1.FindingEvent)
	sendErr := make(chan error, 1)
	defer close(out)
	go func() {
		for ev := range out {
			if err := stream.Send(&vigilv1.WatchFindingsResponse{Event: ev}); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	send := func(ev *vigilv1.FindingEvent) error {
		timer := time.NewTimer(stall)
		defer timer.Stop()
		select {
		case out <- ev:
			return nil
		case err := <-sendErr:
			return err
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-timer.C:
			return status.Errorf(codes.ResourceExhausted, "watch ended: the client read nothing for %s; resume with ListFindings and watch again", stall)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sendErr:
			return err
		case q := <-w.ch:
			w.bytes.Add(-q.size)
			if err := send(q.ev); err != nil {
				return err
			}
		case <-w.overflow:
			// Deliver what is buffered, then end.
			for {
				ev, ok := w.next()
				if !ok {
					break
				}
				if err := send(ev); err != nil {
					return err
				}
			}
			if w.behind.Load() {
				return status.Error(codes.ResourceExhausted, "watch ended: the client fell behind its buffer of events; resume with ListFindings and watch again")
			}
			return status.Error(codes.Unavailable, "watch ended: the server is stopping; resume with ListFindings and watch again")
		}
	}
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.subs {
		w.once.Do(func() { close(w.overflow) })
	}
}

func eventMatches(ev *vigilv1.FindingEvent, f *vigilv1.FindingFilter) bool {
	return store.Matches(ev.GetFinding(), f)
}
