package agent

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// ScopeScan is the result of one scan of one scope, ready to enqueue.
type ScopeScan struct {
	Scope    *vigilv1.Scope
	Findings []*vigilv1.Finding
	// Errors are notices about inputs that were still assessed.
	Errors []*vigilv1.ScanError
	// NotAssessed are the units this scan could not assess: findings
	// previously reported for them are carried over, not resolved. A unit
	// ending in "/" covers every path under it.
	NotAssessed []string
	// Coverage is what the scan of the scope assessed; it travels capped.
	Coverage   *vigilv1.Coverage
	StartedAt  time.Time
	FinishedAt time.Time
	// TraceParent is the W3C trace context of the scan, carried with its
	// messages so the server's ingest joins the scan's trace.
	TraceParent string
}

// EnqueueOptions tune how a scan travels.
type EnqueueOptions struct {
	// FullEvery sends the full set every this many scans (default 24).
	FullEvery int
	// BatchFindings caps findings per FindingBatch (default 500).
	BatchFindings int
	// BatchBytes caps the encoded size of a FindingBatch (default 512 KiB).
	BatchBytes   int
	AgentVersion string
	// Via is the tenant-wide credential the agent speaks through ("" for
	// its own); it is part of every findings subject.
	Via string
	// AnalyzerVersion names the scanner build and its checks; when it
	// differs from the one the scope was last sent with, the scan is sent
	// in full so the server resolves what the old analyzers reported.
	AnalyzerVersion string
}

// Coverage travels in the ScanCompleted message: at most this many units
// and checks are listed, each message cut to this many bytes; the counts
// stay whole.
const (
	maxCoverageUnits  = 500
	maxCoverageDetail = 512
)

// EnqueueStats says what a scan enqueued.
type EnqueueStats struct {
	Full     bool
	Sent     int // findings carried in batches
	Gone     int
	Messages int
	SetSize  int
}

type sentEntry struct {
	hash [8]byte
	path string
}

// EnqueueScan computes what changed in a scope since the last scan sent,
// enqueues the batches and the closing ScanCompleted, and records the new
// set as sent: a scan whose findings are all in hand.
func (o *Outbox) EnqueueScan(s ScopeScan, opts EnqueueOptions) (EnqueueStats, error) {
	e, err := o.BeginScan(s, opts)
	if err != nil {
		return EnqueueStats{}, err
	}
	if err := e.Add(s.Findings); err != nil {
		e.Abort()
		return EnqueueStats{}, err
	}
	st, err := e.Finish()
	if err != nil {
		e.Abort()
	}
	return st, err
}

// ScanEnqueue enqueues one scan of one scope as its findings arrive, each
// piece in a transaction of its own, so a scope of a hundred thousand
// findings never sits in memory whole. Its messages stay invisible to Peek
// until Finish commits the closing ScanCompleted together with the new sent
// set; Abort, or reopening the outbox after a crash, deletes them.
type ScanEnqueue struct {
	o        *Outbox
	s        ScopeScan
	opts     EnqueueOptions
	sid      [finding.ScopeIDLen]byte
	errPaths map[string]bool
	prev     map[string]sentEntry
	cur      map[string]sentEntry
	changed  []string // fingerprints whose sent entries change
	// sinceFull and version are the scope's record before this scan; known
	// says there was one.
	sinceFull uint64
	version   string
	known     bool
	w         *scanWriter
	// failed is set when a piece did not commit: the scan can only be
	// aborted.
	failed bool
}

// BeginScan starts enqueueing a scan of s.Scope; s.Findings are ignored,
// they come through Add.
func (o *Outbox) BeginScan(s ScopeScan, opts EnqueueOptions) (*ScanEnqueue, error) {
	if opts.FullEvery <= 0 {
		opts.FullEvery = 24
	}
	if opts.BatchFindings <= 0 {
		opts.BatchFindings = 500
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 512 << 10
	}
	s.Findings = nil
	e := &ScanEnqueue{o: o, s: s, opts: opts, sid: finding.ScopeID(s.Scope), errPaths: map[string]bool{}, cur: map[string]sentEntry{}}
	for _, p := range s.NotAssessed {
		e.errPaths[p] = true
	}
	scanID := newScanID()
	err := o.update(func(tx *bolt.Tx) error {
		e.prev = readSent(tx.Bucket(bSent), e.sid)
		scopeVal := tx.Bucket(bScopes).Get(e.sid[:])
		e.known = scopeVal != nil
		if len(scopeVal) >= 8 {
			e.sinceFull, e.version = binary.BigEndian.Uint64(scopeVal), string(scopeVal[8:])
		}
		return tx.Bucket(bOpen).Put([]byte(scanID), nil)
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue scan of %s/%s: %w", s.Scope.Scanner, s.Scope.Target, err)
	}
	full := !e.known || e.sinceFull+1 >= uint64(opts.FullEvery) || e.version != opts.AnalyzerVersion
	if full && e.known && len(e.errPaths) > 0 {
		full = false // a full send cannot carry findings of files that failed to parse
	}
	e.w = &scanWriter{subject: bus.Sender{Tenant: s.Scope.Tenant, Agent: s.Scope.Agent, Via: opts.Via}.FindingsSubject(), scanID: scanID, s: &e.s, full: full, opts: opts}
	e.w.batch = e.w.newBatch()
	o.setOpen(scanID, true)
	return e, nil
}

// Add enqueues what changed among fs since the scope's last sent scan.
func (e *ScanEnqueue) Add(fs []*vigilv1.Finding) error {
	if e.failed {
		return errors.New("enqueue: an earlier piece failed")
	}
	err := e.o.update(func(tx *bolt.Tx) error {
		e.w.out = tx.Bucket(bOutbox)
		for _, f := range fs {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(f)
			if err != nil {
				return fmt.Errorf("encode finding: %w", err)
			}
			h := sha256.Sum256(b)
			en := sentEntry{path: f.GetLocation().GetPath()}
			copy(en.hash[:], h[:8])
			e.cur[f.Fingerprint] = en
			if p, ok := e.prev[f.Fingerprint]; e.w.full || !ok || p.hash != en.hash {
				e.changed = append(e.changed, f.Fingerprint)
				if err := e.w.add(f); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		e.failed = true
		return fmt.Errorf("enqueue scan of %s/%s: %w", e.s.Scope.Scanner, e.s.Scope.Target, err)
	}
	return nil
}

// Finish enqueues the fingerprints gone since the last sent scan and the
// closing ScanCompleted, records the new set as sent and makes the scan's
// messages visible, in one transaction.
func (e *ScanEnqueue) Finish() (EnqueueStats, error) {
	if e.failed {
		return EnqueueStats{}, errors.New("enqueue: an earlier piece failed")
	}
	var st EnqueueStats
	err := e.o.update(func(tx *bolt.Tx) error {
		e.w.out = tx.Bucket(bOutbox)
		var gone []string
		for fp, en := range e.prev {
			if _, ok := e.cur[fp]; ok {
				continue
			}
			if errored(e.errPaths, en.path) {
				e.cur[fp] = en // carried over: the file (or kind) could not be read this time
				continue
			}
			if !e.w.full { // the server resolves what a full scan does not report
				gone = append(gone, fp)
			}
		}
		for _, fp := range gone {
			if err := e.w.addGone(fp); err != nil {
				return err
			}
		}
		if err := e.w.flush(); err != nil {
			return err
		}
		set := make([]string, 0, len(e.cur))
		for fp := range e.cur {
			set = append(set, fp)
		}
		digest := finding.DigestOf(set)
		s, opts := &e.s, e.opts
		done := &vigilv1.ScanCompleted{
			ScanId: e.w.scanID, Scope: s.Scope, Batches: e.w.seq, Full: e.w.full, FindingCount: uint64(len(e.cur)),
			SetDigest: digest[:], StartedAt: timestamppb.New(s.StartedAt), FinishedAt: timestamppb.New(s.FinishedAt),
			Errors: s.Errors, AgentVersion: opts.AgentVersion, AnalyzerVersion: opts.AnalyzerVersion,
			Coverage: pipeline.Capped(s.Coverage, maxCoverageUnits, maxCoverageDetail),
		}
		if err := e.w.enqueue(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Completed{Completed: done}}); err != nil {
			return err
		}
		if err := recordSent(tx.Bucket(bSent), e.sid, e.cur, e.changed, gone); err != nil {
			return err
		}
		next, version := e.sinceFull+1, e.version
		if e.w.full {
			next, version = 0, opts.AnalyzerVersion
		}
		nb := binary.BigEndian.AppendUint64(nil, next)
		if err := tx.Bucket(bScopes).Put(e.sid[:], append(nb, version...)); err != nil {
			return err
		}
		st = EnqueueStats{Full: e.w.full, Sent: len(e.changed), Gone: len(gone), Messages: e.w.messages, SetSize: len(e.cur)}
		return tx.Bucket(bOpen).Delete([]byte(e.w.scanID))
	})
	if err != nil {
		e.failed = true
		return EnqueueStats{}, fmt.Errorf("enqueue scan of %s/%s: %w", e.s.Scope.Scanner, e.s.Scope.Target, err)
	}
	e.o.setOpen(e.w.scanID, false)
	return st, nil
}

// Abort deletes what the scan enqueued; the scope's sent set stays as it
// was, so the next scan sends the same changes again.
func (e *ScanEnqueue) Abort() error {
	err := e.o.update(func(tx *bolt.Tx) error { return dropScan(tx, e.w.scanID) })
	if err == nil {
		e.o.setOpen(e.w.scanID, false)
	} // else its messages stay held back until the next start drops them
	return err
}

// dropScan deletes the messages of an unfinished scan and its open mark.
func dropScan(tx *bolt.Tx, scanID string) error {
	c := tx.Bucket(bOutbox).Cursor()
	for k, v := c.First(); k != nil; {
		p, err := decodePending(0, v)
		if err == nil && scanOf(p.MsgID) == scanID {
			at := append([]byte(nil), k...)
			if err := c.Delete(); err != nil {
				return err
			}
			k, v = c.Seek(at) // the next key: Next after Delete may skip one
			continue
		}
		k, v = c.Next()
	}
	return tx.Bucket(bOpen).Delete([]byte(scanID))
}

// scanOf is the scan id of a message id (scan id "/" message number).
func scanOf(msgID string) string {
	id, _, _ := strings.Cut(msgID, "/")
	return id
}

// readSent returns what was last sent for a scope, by fingerprint.
func readSent(sent *bolt.Bucket, sid [finding.ScopeIDLen]byte) map[string]sentEntry {
	prev := map[string]sentEntry{}
	c := sent.Cursor()
	for k, v := c.Seek(sid[:]); k != nil && bytes.HasPrefix(k, sid[:]); k, v = c.Next() {
		if len(k) != len(sid)+32 || len(v) < 8 {
			continue
		}
		var e sentEntry
		copy(e.hash[:], v[:8])
		e.path = string(v[8:])
		prev[hex.EncodeToString(k[len(sid):])] = e
	}
	return prev
}

// recordSent makes the scope's sent set the new one: gone fingerprints
// deleted, changed ones written with their hash and path.
func recordSent(sent *bolt.Bucket, sid [finding.ScopeIDLen]byte, cur map[string]sentEntry, changed []string, gone []string) error {
	for _, fp := range gone {
		k, _ := hex.DecodeString(fp)
		if err := sent.Delete(append(append([]byte(nil), sid[:]...), k...)); err != nil {
			return err
		}
	}
	for _, fp := range changed {
		k, err := hex.DecodeString(fp)
		if err != nil || len(k) != 32 {
			return fmt.Errorf("finding with malformed fingerprint %q", fp)
		}
		e := cur[fp]
		if err := sent.Put(append(append([]byte(nil), sid[:]...), k...), append(e.hash[:], e.path...)); err != nil {
			return err
		}
	}
	return nil
}

// scanWriter puts the messages of one scan into the outbox: batches of
// findings and gone fingerprints bounded by count and bytes, numbered in
// order, each under a message id unique to the scan.
type scanWriter struct {
	out      *bolt.Bucket
	subject  string
	scanID   string
	s        *ScopeScan
	full     bool
	opts     EnqueueOptions
	seq      uint32
	messages int
	batch    *vigilv1.FindingBatch
	size     int
}

func (w *scanWriter) enqueue(m *vigilv1.ScanMessage) error {
	w.seq++
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode scan message: %w", err)
	}
	if len(data) > bus.MaxMessageSize {
		return fmt.Errorf("scan message of %d bytes exceeds the bus limit", len(data))
	}
	n, err := w.out.NextSequence()
	if err != nil {
		return err
	}
	w.messages++
	return w.out.Put(seqKey(n), encodePending(w.subject, fmt.Sprintf("%s/%d", w.scanID, w.seq), w.s.TraceParent, data))
}

// newBatch is an empty batch of the scan.
func (w *scanWriter) newBatch() *vigilv1.FindingBatch {
	return &vigilv1.FindingBatch{ScanId: w.scanID, Scope: w.s.Scope, Full: w.full}
}

// flush enqueues the batch being filled, if it holds anything.
func (w *scanWriter) flush() error {
	if w.batch != nil && (len(w.batch.Findings) > 0 || len(w.batch.GoneFingerprints) > 0) {
		w.batch.Seq = w.seq + 1
		if err := w.enqueue(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: w.batch}}); err != nil {
			return err
		}
	}
	w.batch = w.newBatch()
	w.size = 0
	return nil
}

// add puts a changed finding in the batch, first enqueueing the batch when
// it is full by count or bytes.
func (w *scanWriter) add(f *vigilv1.Finding) error {
	fs := proto.Size(f) + 8
	if len(w.batch.Findings) >= w.opts.BatchFindings || (w.size+fs > w.opts.BatchBytes && len(w.batch.Findings) > 0) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.batch.Findings = append(w.batch.Findings, f)
	w.size += fs
	return nil
}

// addGone puts a gone fingerprint in the batch.
func (w *scanWriter) addGone(fp string) error {
	if w.size+70 > w.opts.BatchBytes {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.batch.GoneFingerprints = append(w.batch.GoneFingerprints, fp)
	w.size += 70
	return nil
}

// newScanID is unique per scan and sorts by time.
func newScanID() string {
	var r [6]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s-%x", time.Now().UTC().Format("20060102T150405.000000000"), r)
}

// errored reports whether a finding's path could not be read in this scan:
// the path itself failed, or a failed path ending in "/" is its prefix (a
// whole resource kind that the agent may not list).
func errored(errPaths map[string]bool, path string) bool {
	if errPaths[path] {
		return true
	}
	for p := range errPaths {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
