package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Outbox is the agent's bbolt file. It holds messages not yet acknowledged
// by JetStream and, per scope, the set of findings last sent.
//
// Invariants:
//   - outbox: key = big-endian sequence → subject 0x00 msg id [0x01
//     traceparent] 0x00 payload; the W3C traceparent of the scan that made
//     the message, when there was one, rides after the id (0x01 never
//     appears in an id), so entries written before it still read.
//     Keys only grow; a message is deleted only after JetStream acked it, so
//     a crash re-sends at most the messages in flight, which JetStream drops
//     as duplicates by Nats-Msg-Id.
//   - sent: key = scope id + fingerprint (raw) → content hash (8 bytes) +
//     file path. It is changed in the same transaction that enqueues the
//     messages describing the change, so state and outbox never disagree.
//   - scopes: key = scope id → scans since the last full send (8 bytes);
//     a missing key forces the next scan of the scope to send in full.
//   - meta: "control_seq" → the stream sequence (8 bytes) of the last
//     control request applied.
//   - open: key = scan id of a scan being enqueued piece by piece (see
//     ScanEnqueue). Its messages are in outbox but not sent: Peek stops at
//     the first of them until the scan finishes. Opening the file deletes
//     the messages of scans left open by a crash.
type Outbox struct {
	path string
	// mu guards db against Remap; bbolt orders the transactions.
	mu sync.RWMutex
	db *bolt.DB
	// open holds the ids of the scans being enqueued.
	openMu sync.Mutex
	open   map[string]bool
}

var (
	bOutbox = []byte("outbox")
	bSent   = []byte("sent")
	bScopes = []byte("scopes")
	bMeta   = []byte("meta")
	bOpen   = []byte("open")

	keyControlSeq = []byte("control_seq")
)

// OpenOutbox opens or creates the outbox file.
func OpenOutbox(path string) (*Outbox, error) {
	db, err := openOutboxDB(path)
	if err != nil {
		return nil, err
	}
	// Scans a crash left half enqueued are dropped: their scopes' sent
	// sets never changed, so the next scan sends the same again.
	err = db.Update(func(tx *bolt.Tx) error {
		var open []string
		tx.Bucket(bOpen).ForEach(func(k, _ []byte) error {
			open = append(open, string(k))
			return nil
		})
		for _, id := range open {
			if err := dropScan(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	return &Outbox{path: path, db: db, open: map[string]bool{}}, nil
}

// setOpen marks a scan as being enqueued, or no longer.
func (o *Outbox) setOpen(scanID string, open bool) {
	o.openMu.Lock()
	defer o.openMu.Unlock()
	if open {
		o.open[scanID] = true
	} else {
		delete(o.open, scanID)
	}
}

func (o *Outbox) isOpen(scanID string) bool {
	o.openMu.Lock()
	defer o.openMu.Unlock()
	return o.open[scanID]
}

func openOutboxDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bOutbox, bSent, bScopes, bMeta, bOpen} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	return db, nil
}

// Close closes the file.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db == nil {
		return nil
	}
	err := o.db.Close()
	o.db = nil
	return err
}

// Remap closes and reopens the file. bbolt maps the whole file, and each
// page a scan's enqueue or a drain read stays in the agent's resident set:
// reopening once the outbox drained gives those pages back, so an idle
// agent holds only the pages it reads again.
func (o *Outbox) Remap() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db == nil {
		return errOutboxClosed
	}
	if err := o.db.Close(); err != nil {
		return fmt.Errorf("outbox %s: %w", o.path, err)
	}
	db, err := openOutboxDB(o.path)
	o.db = db // nil on failure: every use reports the outbox closed
	return err
}

var errOutboxClosed = errors.New("outbox is closed")

// view and update run a transaction on the file as it is mapped now.
func (o *Outbox) view(fn func(*bolt.Tx) error) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.db == nil {
		return errOutboxClosed
	}
	return o.db.View(fn)
}

func (o *Outbox) update(fn func(*bolt.Tx) error) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.db == nil {
		return errOutboxClosed
	}
	return o.db.Update(fn)
}

// Pending is one message waiting for an ack.
type Pending struct {
	Seq     uint64
	Subject string
	MsgID   string
	// TraceParent is the W3C trace context of the scan that made it.
	TraceParent string
	Data        []byte
}

func encodePending(subject, msgID, traceParent string, data []byte) []byte {
	b := make([]byte, 0, len(subject)+len(msgID)+len(traceParent)+3+len(data))
	b = append(b, subject...)
	b = append(b, 0)
	b = append(b, msgID...)
	if traceParent != "" {
		b = append(b, 1)
		b = append(b, traceParent...)
	}
	b = append(b, 0)
	return append(b, data...)
}

func decodePending(seq uint64, v []byte) (Pending, error) {
	i := bytes.IndexByte(v, 0)
	if i < 0 {
		return Pending{}, errors.New("corrupt outbox entry")
	}
	j := bytes.IndexByte(v[i+1:], 0)
	if j < 0 {
		return Pending{}, errors.New("corrupt outbox entry")
	}
	id, tp, _ := strings.Cut(string(v[i+1:i+1+j]), "\x01")
	return Pending{Seq: seq, Subject: string(v[:i]), MsgID: id, TraceParent: tp, Data: append([]byte(nil), v[i+2+j:]...)}, nil
}

// Peek returns up to n of the oldest pending messages, oldest first.
func (o *Outbox) Peek(n int) ([]Pending, error) {
	var out []Pending
	err := o.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			p, err := decodePending(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return fmt.Errorf("outbox entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if o.isOpen(scanOf(p.MsgID)) {
				break // the scan is still being enqueued; what follows waits for it
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// Delete removes acknowledged messages.
func (o *Outbox) Delete(seqs []uint64) error {
	return o.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		for _, s := range seqs {
			if err := b.Delete(seqKey(s)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Depth is the number of pending messages.
func (o *Outbox) Depth() uint64 {
	var n int
	o.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bOutbox).Stats().KeyN
		return nil
	})
	return uint64(n)
}

// ForceFull makes the next scan of a scope send its full set, and records
// the control request's stream sequence as applied.
func (o *Outbox) ForceFull(scopeID []byte, controlSeq uint64) error {
	return o.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bScopes).Delete(scopeID); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(keyControlSeq, seqKey(controlSeq))
	})
}

// ControlSeq is the stream sequence of the last control request applied.
func (o *Outbox) ControlSeq() uint64 {
	var n uint64
	o.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(keyControlSeq); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return n
}

func seqKey(s uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], s)
	return k[:]
}
