package server

import (
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// A watcher that stops reading is cut off once its buffer is full (and
// told it fell behind); one ended by a stopping server is told that.
func TestWatcherThatFallsBehindIsCutOff(t *testing.T) {
	h := newHub()
	slow := h.subscribe(nil)
	evs := make([]*vigilv1.FindingEvent, cap(slow.ch)+1)
	for i := range evs {
		evs[i] = &vigilv1.FindingEvent{Type: vigilv1.EventType_EVENT_TYPE_OPENED}
	}
	h.publish(evs)
	select {
	case <-slow.overflow:
	default:
		t.Fatal("a watcher past its buffer is not cut off")
	}
	if !slow.behind.Load() {
		t.Fatal("the cut-off watcher is not marked as behind")
	}
	h.unsubscribe(slow)
	other := h.subscribe(nil)
	h.closeAll()
	<-other.overflow
	if other.behind.Load() {
		t.Fatal("a watcher ended by the server stopping is marked as behind")
	}
}
