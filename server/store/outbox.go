package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// The event outbox holds every lifecycle event from the transaction that
// made it until the events stream acknowledged it. Invariants:
//   - an event is put in the same transaction as the change it reports,
//     so no committed change lacks its event and no event outlives a
//     rolled-back change;
//   - keys are the bucket's sequence, 8 bytes big-endian: events leave in
//     the order they happened;
//   - an event's id is the store's event prefix and its sequence, unique
//     for the life of the file (and of its backups' restores, whose
//     sequences continue), and the same on every attempt to publish it.

// keyEventPrefix is the meta key of the random prefix of event ids.
var keyEventPrefix = []byte("event_prefix")

// OutboxEvent is an event waiting in the outbox.
type OutboxEvent struct {
	Key   []byte
	Event *vigilv1.FindingEvent
}

// outbox writes the events of this transaction not yet in the outbox.
func (w *Writer) outbox() error {
	if w.outboxed == len(w.Events) {
		return nil
	}
	b := w.tx.Bucket(bEvents)
	prefix, err := eventPrefix(w.tx)
	if err != nil {
		return err
	}
	for _, ev := range w.Events[w.outboxed:] {
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("event outbox: %w", err)
		}
		ev.Id = fmt.Sprintf("%s-%d", prefix, seq)
		data, err := proto.Marshal(ev)
		if err != nil {
			return fmt.Errorf("event outbox: %w", err)
		}
		if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), data); err != nil {
			return fmt.Errorf("event outbox: %w", err)
		}
	}
	w.outboxed = len(w.Events)
	return nil
}

// eventPrefix returns the store's event id prefix, made on first use.
func eventPrefix(tx *bolt.Tx) (string, error) {
	meta := tx.Bucket(bMeta)
	if v := meta.Get(keyEventPrefix); len(v) > 0 {
		return string(v), nil
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	p := hex.EncodeToString(r[:])
	return p, meta.Put(keyEventPrefix, []byte(p))
}

// PendingEvents returns up to max events of the outbox, oldest first. An
// entry that does not decode is returned with a nil Event, so the caller
// can remove it rather than stall behind it.
func (s *Store) PendingEvents(max int) ([]OutboxEvent, error) {
	var out []OutboxEvent
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			ev := &vigilv1.FindingEvent{}
			if proto.Unmarshal(v, ev) != nil {
				ev = nil
			}
			out = append(out, OutboxEvent{Key: append([]byte(nil), k...), Event: ev})
		}
		return nil
	})
	return out, err
}

// DeleteEvents removes events the stream acknowledged.
func (s *Store) DeleteEvents(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bEvents)
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// OutboxDepth is the number of events waiting to be published.
func (s *Store) OutboxDepth() int {
	n := 0
	s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bEvents).Stats().KeyN
		return nil
	})
	return n
}
