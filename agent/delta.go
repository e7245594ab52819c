package agent

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
// and in one transaction enqueues the batches and the closing ScanCompleted
// and records the new set as sent.
func (o *Outbox) EnqueueScan(s ScopeScan, opts EnqueueOptions) (EnqueueStats, error) {
	if opts.FullEvery <= 0 {
		opts.FullEvery = 24
	}
	if opts.BatchFindings <= 0 {
		opts.BatchFindings = 500
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 512 << 10
	}
	sid := finding.ScopeID(s.Scope)
	errPaths := map[string]bool{}
	for _, p := range s.NotAssessed {
		errPaths[p] = true
	}
	var st EnqueueStats
	err := o.update(func(tx *bolt.Tx) error {
		sent, scopes := tx.Bucket(bSent), tx.Bucket(bScopes)
		prev := readSent(sent, sid)
		scopeVal := scopes.Get(sid[:])
		sinceFull, lastVersion := uint64(0), ""
		if len(scopeVal) >= 8 {
			sinceFull, lastVersion = binary.BigEndian.Uint64(scopeVal), string(scopeVal[8:])
		}
		full := scopeVal == nil || sinceFull+1 >= uint64(opts.FullEvery) || lastVersion != opts.AnalyzerVersion
		if full && scopeVal != nil && len(errPaths) > 0 {
			full = false // a full send cannot carry findings of files that failed to parse
		}

		cur, changed, gone, err := diff(prev, s.Findings, full, errPaths)
		if err != nil {
			return err
		}
		w := &scanWriter{out: tx.Bucket(bOutbox), subject: bus.Sender{Tenant: s.Scope.Tenant, Agent: s.Scope.Agent, Via: opts.Via}.FindingsSubject(), scanID: newScanID(), s: &s, full: full, opts: opts}
		if err := w.send(changed, gone); err != nil {
			return err
		}
		set := make([]string, 0, len(cur))
		for fp := range cur {
			set = append(set, fp)
		}
		digest := finding.DigestOf(set)
		done := &vigilv1.ScanCompleted{
			ScanId: w.scanID, Scope: s.Scope, Batches: w.seq, Full: full, FindingCount: uint64(len(cur)),
			SetDigest: digest[:], StartedAt: timestamppb.New(s.StartedAt), FinishedAt: timestamppb.New(s.FinishedAt),
			Errors: s.Errors, AgentVersion: opts.AgentVersion, AnalyzerVersion: opts.AnalyzerVersion,
			Coverage: pipeline.Capped(s.Coverage, maxCoverageUnits, maxCoverageDetail),
		}
		if err := w.enqueue(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Completed{Completed: done}}); err != nil {
			return err
		}
		if err := recordSent(sent, sid, cur, changed, gone); err != nil {
			return err
		}
		next, version := sinceFull+1, lastVersion
		if full {
			next, version = 0, opts.AnalyzerVersion
		}
		nb := binary.BigEndian.AppendUint64(nil, next)
		if err := scopes.Put(sid[:], append(nb, version...)); err != nil {
			return err
		}
		st = EnqueueStats{Full: full, Sent: len(changed), Gone: len(gone), Messages: w.messages, SetSize: len(cur)}
		return nil
	})
	if err != nil {
		return EnqueueStats{}, fmt.Errorf("enqueue scan of %s/%s: %w", s.Scope.Scanner, s.Scope.Target, err)
	}
	return st, nil
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
// deleted, changed findings written with their hash and path.
func recordSent(sent *bolt.Bucket, sid [finding.ScopeIDLen]byte, cur map[string]sentEntry, changed []*vigilv1.Finding, gone []string) error {
	for _, fp := range gone {
		k, _ := hex.DecodeString(fp)
		if err := sent.Delete(append(append([]byte(nil), sid[:]...), k...)); err != nil {
			return err
		}
	}
	for _, f := range changed {
		k, err := hex.DecodeString(f.Fingerprint)
		if err != nil || len(k) != 32 {
			return fmt.Errorf("finding with malformed fingerprint %q", f.Fingerprint)
		}
		e := cur[f.Fingerprint]
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

// flush enqueues the batch being filled, if it holds anything.
func (w *scanWriter) flush() error {
	if w.batch != nil && (len(w.batch.Findings) > 0 || len(w.batch.GoneFingerprints) > 0) {
		w.batch.Seq = w.seq + 1
		if err := w.enqueue(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: w.batch}}); err != nil {
			return err
		}
	}
	w.batch = &vigilv1.FindingBatch{ScanId: w.scanID, Scope: w.s.Scope, Full: w.full}
	w.size = 0
	return nil
}

// send enqueues the changed findings and the gone fingerprints in batches.
func (w *scanWriter) send(changed []*vigilv1.Finding, gone []string) error {
	if err := w.flush(); err != nil { // starts the first batch
		return err
	}
	for _, f := range changed {
		fs := proto.Size(f) + 8
		if len(w.batch.Findings) >= w.opts.BatchFindings || (w.size+fs > w.opts.BatchBytes && len(w.batch.Findings) > 0) {
			if err := w.flush(); err != nil {
				return err
			}
		}
		w.batch.Findings = append(w.batch.Findings, f)
		w.size += fs
	}
	for _, fp := range gone {
		if w.size+70 > w.opts.BatchBytes {
			if err := w.flush(); err != nil {
				return err
			}
		}
		w.batch.GoneFingerprints = append(w.batch.GoneFingerprints, fp)
		w.size += 70
	}
	return w.flush()
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

// diff compares a scan's findings with what was last sent for the scope:
// cur is the new set, changed the findings to send (all of them when
// full), gone the fingerprints to resolve. A finding of a unit that could
// not be read this time is carried over into cur, not gone.
func diff(prev map[string]sentEntry, findings []*vigilv1.Finding, full bool, errPaths map[string]bool) (cur map[string]sentEntry, changed []*vigilv1.Finding, gone []string, err error) {
	cur = make(map[string]sentEntry, len(findings))
	for _, f := range findings {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encode finding: %w", err)
		}
		h := sha256.Sum256(b)
		e := sentEntry{path: f.GetLocation().GetPath()}
		copy(e.hash[:], h[:8])
		cur[f.Fingerprint] = e
		if p, ok := prev[f.Fingerprint]; full || !ok || p.hash != e.hash {
			changed = append(changed, f)
		}
	}
	for fp, e := range prev {
		if _, ok := cur[fp]; ok {
			continue
		}
		if errored(errPaths, e.path) {
			cur[fp] = e // carried over: the file (or kind) could not be read this time
			continue
		}
		gone = append(gone, fp)
	}
	if full {
		gone = nil // the server resolves what a full scan does not report
	}
	return cur, changed, gone, nil
}
