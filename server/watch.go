package server

import (
	"slices"
	"sync"
	"sync/atomic"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// hub fans lifecycle events out to WatchFindings streams. A watcher that
// falls more than its buffer behind is cut off rather than slowing ingest.
type hub struct {
	mu   sync.Mutex
	subs map[*watcher]struct{}
}

type watcher struct {
	filter   *vigilv1.FindingFilter
	ch       chan *vigilv1.FindingEvent
	overflow chan struct{}
	once     sync.Once
	// behind is set, before overflow closes, when the watcher fell behind
	// its buffer (rather than the server stopping).
	behind atomic.Bool
}

func newHub() *hub { return &hub{subs: map[*watcher]struct{}{}} }

func (h *hub) subscribe(f *vigilv1.FindingFilter) *watcher {
	w := &watcher{filter: f, ch: make(chan *vigilv1.FindingEvent, 4096), overflow: make(chan struct{})}
	h.mu.Lock()
	h.subs[w] = struct{}{}
	h.mu.Unlock()
	return w
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
	for w := range h.subs {
		for _, ev := range evs {
			if !eventMatches(ev, w.filter) {
				continue
			}
			select {
			case w.ch <- ev:
			default:
				w.once.Do(func() { w.behind.Store(true); close(w.overflow) })
			}
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
	if f == nil {
		return true
	}
	sf := ev.GetFinding()
	fd := sf.GetFinding()
	if f.Tenant != "" && fd.GetResource().GetTenant() != f.Tenant ||
		f.Account != "" && fd.GetResource().GetAccount() != f.Account ||
		f.CheckId != "" && fd.GetCheckId() != f.CheckId ||
		f.Pillar != vigilv1.Pillar_PILLAR_UNSPECIFIED && fd.GetPillar() != f.Pillar ||
		fd.GetSeverity() < f.MinSeverity ||
		len(f.Tenants) > 0 && !slices.Contains(f.Tenants, fd.GetResource().GetTenant()) {
		return false
	}
	if len(f.Statuses) > 0 {
		for _, st := range f.Statuses {
			if st == sf.GetStatus() {
				return true
			}
		}
		return false
	}
	return true
}
