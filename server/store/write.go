package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Writer applies ingest messages inside one write transaction. Its methods
// are idempotent: applying the same message twice changes nothing more than
// applying it once, which with acknowledgement after commit gives
// exactly-once effect over at-least-once delivery.
//
// Writes are buffered and applied in key order at Flush: bbolt keeps a
// transaction's changes to a page in one in-memory node, and unordered
// inserts into a growing node cost a copy of the node each.
type Writer struct {
	tx       *bolt.Tx
	codec    codec
	findings *bolt.Bucket
	scopes   *bolt.Bucket
	counts   *bolt.Bucket
	idx      map[string]*bolt.Bucket
	// scopeCache holds scope records modified in this transaction.
	scopeCache map[[finding.ScopeIDLen]byte]*vigilv1.ScopeRecord
	dirty      map[[finding.ScopeIDLen]byte]bool
	// pending holds finding records written in this transaction.
	pending map[string]*vigilv1.FindingRecord
	// idxOps holds index changes per bucket: true puts the key, false deletes it.
	idxOps map[string]map[string]bool
	// occDelta holds changes of the occurrences (counts key and
	// fingerprint); Flush turns the ones that reach or leave zero into
	// changes of the running counts, countDelta.
	occDelta   map[string]int64
	countDelta map[string]int64
	// occ is the store's overlay of the occurrences bucket; staged holds
	// the counts this transaction gives, applied to occ once it commits,
	// and marks says it put keyOccurPending in meta.
	occ    *occurrences
	staged map[string]uint64
	marks  bool
	// fresh marks scopes that had no finding record when this transaction
	// began: their lookups need only the pending records.
	fresh map[[finding.ScopeIDLen]byte]bool
	// supps caches the active suppressions (nil: not loaded).
	supps []*vigilv1.Suppression
	// suppChanged is set when the transaction changed a suppression.
	suppChanged bool
	// Events are the lifecycle transitions of this transaction, to publish
	// after commit; Flush puts them in the event outbox.
	Events []*vigilv1.FindingEvent
	// outboxed counts the Events already in the outbox.
	outboxed int
	// Resend lists scopes whose digest did not match at ScanCompleted.
	Resend []*vigilv1.Scope
	// Received counts the findings of the batches applied; Written those
	// the store had to write (new, changed or changing status). The rest
	// were duplicates.
	Received, Written int
}

func newWriter(tx *bolt.Tx, cache *sharedCache, occ *occurrences) *Writer {
	w := &Writer{
		tx: tx, codec: newCodec(tx, cache), occ: occ, staged: map[string]uint64{}, findings: tx.Bucket(bFindings), scopes: tx.Bucket(bScopes), counts: tx.Bucket(bCounts),
		idx:        map[string]*bolt.Bucket{},
		scopeCache: map[[finding.ScopeIDLen]byte]*vigilv1.ScopeRecord{},
		dirty:      map[[finding.ScopeIDLen]byte]bool{},
		pending:    map[string]*vigilv1.FindingRecord{},
		idxOps:     map[string]map[string]bool{},
		countDelta: map[string]int64{},
		occDelta:   map[string]int64{},
		fresh:      map[[finding.ScopeIDLen]byte]bool{},
	}
	for _, b := range indexBuckets {
		w.idx[string(b)] = tx.Bucket(b)
	}
	return w
}

// Flush writes the buffered changes in key order; Store.Update calls it
// before commit.
func (w *Writer) Flush() error {
	if err := w.outbox(); err != nil {
		return err
	}
	keys := sortedKeys(w.pending)
	for _, k := range keys {
		v, err := w.codec.encode(w.pending[k])
		if err != nil {
			return fmt.Errorf("encode finding: %w", err)
		}
		if err := w.findings.Put([]byte(k), v); err != nil {
			return fmt.Errorf("put finding: %w", err)
		}
	}
	clear(w.pending)
	for name, ops := range w.idxOps {
		b := w.idx[name]
		for _, k := range sortedKeys(ops) {
			var err error
			if ops[k] {
				err = b.Put([]byte(k), nil)
			} else {
				err = b.Delete([]byte(k))
			}
			if err != nil {
				return fmt.Errorf("index %s: %w", name, err)
			}
		}
	}
	clear(w.idxOps)
	if len(w.occDelta) > 0 && !w.occ.marked && !w.marks {
		if err := w.tx.Bucket(bMeta).Put(keyOccurPending, []byte{1}); err != nil {
			return fmt.Errorf("occurrences: %w", err)
		}
		w.marks = true
	}
	for k, d := range w.occDelta {
		before := int64(w.occurrenceCount(k))
		after := max(before+d, 0)
		w.staged[k] = uint64(after)
		group := k[:len(k)-occurrenceFPLen]
		switch {
		case before <= 0 && after > 0:
			w.countDelta[group]++
		case before > 0 && after <= 0:
			w.countDelta[group]--
		}
	}
	clear(w.occDelta)
	for _, k := range sortedKeys(w.countDelta) {
		n := int64(u64(w.counts.Get([]byte(k)))) + w.countDelta[k]
		var err error
		if n <= 0 {
			err = w.counts.Delete([]byte(k))
		} else {
			err = w.counts.Put([]byte(k), putU64(uint64(n)))
		}
		if err != nil {
			return fmt.Errorf("counts: %w", err)
		}
	}
	clear(w.countDelta)
	ids := make([]string, 0, len(w.dirty))
	for id := range w.dirty {
		ids = append(ids, string(id[:]))
	}
	sort.Strings(ids)
	for _, id := range ids {
		b, err := proto.Marshal(w.scopeCache[[finding.ScopeIDLen]byte([]byte(id))])
		if err != nil {
			return fmt.Errorf("encode scope: %w", err)
		}
		if err := w.scopes.Put([]byte(id), b); err != nil {
			return fmt.Errorf("put scope: %w", err)
		}
	}
	clear(w.dirty)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (w *Writer) scope(s *vigilv1.Scope) (*vigilv1.ScopeRecord, [finding.ScopeIDLen]byte, error) {
	id := finding.ScopeID(s)
	if r, ok := w.scopeCache[id]; ok {
		return r, id, nil
	}
	r := &vigilv1.ScopeRecord{}
	if v := w.scopes.Get(id[:]); v != nil {
		if err := proto.Unmarshal(v, r); err != nil {
			return nil, id, fmt.Errorf("decode scope %x: %w", id, err)
		}
	} else {
		r.Scope = proto.Clone(s).(*vigilv1.Scope)
		r.Digest = make([]byte, 32)
	}
	w.scopeCache[id] = r
	w.fresh[id] = r.Records == 0
	return r, id, nil
}

func toggle(r *vigilv1.ScopeRecord, fp string) {
	var d finding.Digest
	copy(d[:], r.Digest)
	d.Toggle(fp)
	r.Digest = d[:]
}

// ApplyBatch upserts a batch: new findings open, resolved ones reopen,
// present ones are updated only when their content changed (or, in a full
// scan, marked as seen by it); gone fingerprints resolve.
func (w *Writer) ApplyBatch(b *vigilv1.FindingBatch, now time.Time) error {
	sr, sid, err := w.scope(b.Scope)
	if err != nil {
		return err
	}
	if sr.LastScanId != "" && b.ScanId <= sr.LastScanId {
		return nil // the scan (or a later one) already completed: a redelivery
	}
	if err := w.tx.Bucket(bBatches).Put(batchKey(sid, b.ScanId, b.Seq), nil); err != nil {
		return fmt.Errorf("record batch: %w", err)
	}
	w.Received += len(b.Findings)
	ts := timestamppb.New(now)
	for _, f := range b.Findings {
		if err := w.applyFinding(sr, sid, f, b.Full, now, ts); err != nil {
			return err
		}
	}
	for _, fp := range b.GoneFingerprints {
		key, err := findingKey(sid, fp)
		if err != nil {
			return err
		}
		if err := w.resolve(key, sr, sid, ts); err != nil {
			return err
		}
	}
	return nil
}

// applyFinding records one finding a scan reported: opened when new,
// updated (and maybe reopened) when known.
func (w *Writer) applyFinding(sr *vigilv1.ScopeRecord, sid [finding.ScopeIDLen]byte, f *vigilv1.Finding, full bool, now time.Time, ts *timestamppb.Timestamp) error {
	key, err := findingKey(sid, f.Fingerprint)
	if err != nil {
		return err
	}
	var old *vigilv1.FindingRecord
	if w.fresh[sid] {
		old = w.pending[string(key)]
	} else if old, err = w.get(key); err != nil {
		return err
	}
	if old == nil {
		return w.open(key, sr, sid, f, full, now, ts)
	}
	return w.update(key, old, sr, sid, f, full, now, ts)
}

// open records a finding the scope has never had: open, or suppressed
// when a suppression already covers it.
func (w *Writer) open(key []byte, sr *vigilv1.ScopeRecord, sid [finding.ScopeIDLen]byte, f *vigilv1.Finding, full bool, now time.Time, ts *timestamppb.Timestamp) error {
	sr.Records++
	sup, err := w.suppressionFor(f, now, "")
	if err != nil {
		return err
	}
	rec := &vigilv1.FindingRecord{
		Stored:    &vigilv1.StoredFinding{Finding: f, Status: vigilv1.Status_STATUS_OPEN, FirstSeen: ts, LastChange: ts, Suppression: sup},
		SinceScan: sr.Scans + 1,
	}
	opened := vigilv1.EventType_EVENT_TYPE_OPENED
	if sup != nil {
		rec.Stored.Status, opened = vigilv1.Status_STATUS_SUPPRESSED, vigilv1.EventType_EVENT_TYPE_SUPPRESSED
	}
	if full {
		rec.FullScan = sr.Scans + 1
	}
	if err := w.put(key, nil, rec); err != nil {
		return err
	}
	w.Written++
	toggle(sr, f.Fingerprint)
	sr.Present++
	w.dirty[sid] = true
	w.event(opened, key, rec, sr, ts)
	return nil
}

// update records a known finding reported again: its content refreshed,
// reopened when it was resolved, its suppression decided again when it
// reopens or changes. It writes only when something changed.
func (w *Writer) update(key []byte, old *vigilv1.FindingRecord, sr *vigilv1.ScopeRecord, sid [finding.ScopeIDLen]byte, f *vigilv1.Finding, full bool, now time.Time, ts *timestamppb.Timestamp) error {
	rec := proto.Clone(old).(*vigilv1.FindingRecord)
	changed := !proto.Equal(old.Stored.Finding, f)
	rec.Stored.Finding = f
	reopened := !present(old.Stored.Status)
	var transition vigilv1.EventType
	if reopened || changed {
		sup, err := w.suppressionFor(f, now, "")
		if err != nil {
			return err
		}
		transition = w.decideSuppression(rec, old, sup, reopened, ts)
		if transition != 0 || !proto.Equal(rec.Stored.Suppression, old.Stored.Suppression) {
			changed = true
		}
	}
	if reopened {
		rec.Stored.LastChange = ts
		rec.Stored.ResolvedAt = nil
		rec.Stored.Resolution = ""
		rec.Stored.LastSeen = nil
		rec.Stored.TimesSeen = 0
		rec.SinceScan = sr.Scans + 1
		toggle(sr, f.Fingerprint)
		sr.Present++
		w.dirty[sid] = true
		changed = true
	}
	if full && rec.FullScan != sr.Scans+1 {
		rec.FullScan = sr.Scans + 1
		changed = true
	}
	if changed {
		if err := w.put(key, old, rec); err != nil {
			return err
		}
		w.Written++
	}
	if transition != 0 {
		w.event(transition, key, rec, sr, ts)
	}
	return nil
}

// decideSuppression sets the status and suppression of a finding that
// reopens or whose content changed, and returns the event to report (0
// for none). A finding suppressed through the API stays so while its
// suppression lasts; one held by its own exemption follows the exemption.
func (w *Writer) decideSuppression(rec, old *vigilv1.FindingRecord, sup *vigilv1.Suppression, reopened bool, ts *timestamppb.Timestamp) vigilv1.EventType {
	was := old.Stored.Status
	switch {
	case reopened && sup != nil:
		rec.Stored.Status, rec.Stored.Suppression = vigilv1.Status_STATUS_SUPPRESSED, sup
		return vigilv1.EventType_EVENT_TYPE_SUPPRESSED
	case reopened:
		rec.Stored.Status, rec.Stored.Suppression = vigilv1.Status_STATUS_REOPENED, nil
		return vigilv1.EventType_EVENT_TYPE_REOPENED
	case was != vigilv1.Status_STATUS_SUPPRESSED && sup != nil:
		rec.Stored.Status, rec.Stored.Suppression, rec.Stored.LastChange = vigilv1.Status_STATUS_SUPPRESSED, sup, ts
		return vigilv1.EventType_EVENT_TYPE_SUPPRESSED
	case was == vigilv1.Status_STATUS_SUPPRESSED && old.Stored.GetSuppression().GetId() == "" && sup == nil:
		rec.Stored.Status, rec.Stored.Suppression, rec.Stored.LastChange = vigilv1.Status_STATUS_OPEN, nil, ts
		return vigilv1.EventType_EVENT_TYPE_UNSUPPRESSED
	case was == vigilv1.Status_STATUS_SUPPRESSED && old.Stored.GetSuppression().GetId() == "" && !proto.Equal(sup, old.Stored.Suppression):
		rec.Stored.Suppression = sup
	}
	return 0
}

// resolve marks a present finding resolved, freezing its last-seen time and
// times-seen count at the scope's last completed scan.
func (w *Writer) resolve(key []byte, sr *vigilv1.ScopeRecord, sid [finding.ScopeIDLen]byte, ts *timestamppb.Timestamp) error {
	return w.resolveAs(key, sr, sid, ts, "")
}

// resolveAs is resolve with the resolution recorded (Retired).
func (w *Writer) resolveAs(key []byte, sr *vigilv1.ScopeRecord, sid [finding.ScopeIDLen]byte, ts *timestamppb.Timestamp, resolution string) error {
	old, err := w.get(key)
	if err != nil || old == nil || !present(old.Stored.Status) {
		return err
	}
	rec := proto.Clone(old).(*vigilv1.FindingRecord)
	fillSeen(rec, sr)
	rec.Stored.Status = vigilv1.Status_STATUS_RESOLVED
	rec.Stored.LastChange = ts
	rec.Stored.ResolvedAt = ts
	rec.Stored.Resolution = resolution
	if err := w.put(key, old, rec); err != nil {
		return err
	}
	toggle(sr, rec.Stored.Finding.Fingerprint)
	if sr.Present > 0 {
		sr.Present--
	}
	w.dirty[sid] = true
	w.event(vigilv1.EventType_EVENT_TYPE_RESOLVED, key, rec, sr, ts)
	return nil
}

// ApplyCompleted closes a scan: a full scan resolves every present finding
// of the scope it did not report; the scope's scan count and time advance;
// a digest that differs from the agent's asks for a full resend.
//
// It returns false, changing nothing, while batches of the scan are still
// missing (they may be redelivered after the completion); force applies it
// regardless, for a completion whose batches never come.
func (w *Writer) ApplyCompleted(c *vigilv1.ScanCompleted, now time.Time, force bool) (bool, error) {
	sr, sid, err := w.scope(c.Scope)
	if err != nil {
		return false, err
	}
	if sr.LastScanId != "" && c.ScanId <= sr.LastScanId {
		// Already applied, or older than the last applied scan (scan ids
		// sort by time): a late redelivery that must not move the scope back.
		return true, nil
	}
	complete, err := w.takeBatches(sid, c, force)
	if err != nil || !complete {
		return false, err
	}
	ts := timestamppb.New(now)
	// After a full scan's batches the scope holds at least the reported set;
	// when count and digest already equal the agent's, it holds exactly that
	// set and nothing is left to resolve.
	var want, got finding.Digest
	copy(want[:], c.SetDigest)
	copy(got[:], sr.Digest)
	if c.Full && (want != got || sr.Present != c.FindingCount) {
		if err := w.resolveUnreported(sr, sid, ts); err != nil {
			return false, err
		}
	}
	finished := c.FinishedAt
	if finished == nil {
		finished = ts
	}
	if sr.FirstScanTime == nil {
		sr.FirstScanTime = finished
	}
	sr.Scans++
	sr.Retired = false
	sr.LastScanId = c.ScanId
	sr.LastScanTime = finished
	sr.Scope = c.Scope
	sr.Coverage = c.Coverage
	copy(got[:], sr.Digest)
	sr.ResendRequested = want != got || sr.Present != c.FindingCount
	if sr.ResendRequested {
		w.Resend = append(w.Resend, c.Scope)
	}
	w.dirty[sid] = true
	return true, w.touchAgent(c.Scope.GetTenant(), c.Scope.GetAgent(), func(a *vigilv1.Agent) {
		a.LastScan = finished
		if c.AgentVersion != "" {
			a.Version = c.AgentVersion
		}
	})
}

// takeBatches reports whether every batch of a completed scan has been
// applied (or force), and then forgets their records.
func (w *Writer) takeBatches(sid [finding.ScopeIDLen]byte, c *vigilv1.ScanCompleted, force bool) (bool, error) {
	prefix := batchKey(sid, c.ScanId, 0)
	prefix = prefix[:len(prefix)-4]
	var have []uint32
	bc := w.tx.Bucket(bBatches).Cursor()
	for k, _ := bc.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = bc.Next() {
		have = append(have, binary.BigEndian.Uint32(k[len(prefix):]))
	}
	if uint32(len(have)) < c.Batches && !force {
		return false, nil
	}
	for _, seq := range have {
		if err := w.tx.Bucket(bBatches).Delete(batchKey(sid, c.ScanId, seq)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// resolveUnreported resolves every present finding of the scope that the
// full scan being completed did not report.
func (w *Writer) resolveUnreported(sr *vigilv1.ScopeRecord, sid [finding.ScopeIDLen]byte, ts *timestamppb.Timestamp) error {
	// The cursor below reads the bucket: write what is buffered first.
	if err := w.Flush(); err != nil {
		return err
	}
	var stale [][]byte
	cur := w.findings.Cursor()
	for k, v := cur.Seek(sid[:]); k != nil && bytes.HasPrefix(k, sid[:]); k, v = cur.Next() {
		rec, err := w.codec.decode(k, v)
		if err != nil {
			return err
		}
		if present(rec.Stored.Status) && rec.FullScan != sr.Scans+1 {
			stale = append(stale, append([]byte(nil), k...))
		}
	}
	for _, k := range stale {
		if err := w.resolve(k, sr, sid, ts); err != nil {
			return err
		}
	}
	return nil
}

func batchKey(sid [finding.ScopeIDLen]byte, scanID string, seq uint32) []byte {
	k := make([]byte, 0, len(sid)+len(scanID)+5)
	k = append(k, sid[:]...)
	k = append(k, scanID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, seq)
}

// Heartbeat records an agent's heartbeat.
func (w *Writer) Heartbeat(h *vigilv1.Heartbeat, now time.Time) error {
	var dropped []*vigilv1.Scope
	err := w.touchAgent(h.Tenant, h.Agent, func(a *vigilv1.Agent) {
		dropped = a.KnownScopes
		a.KnownScopes = knownScopes(a.KnownScopes, h)
		a.Version = h.Version
		a.Hostname = h.Hostname
		a.LastHeartbeat = timestamppb.New(now)
		a.LastHeartbeatSent = h.SentAt
		a.Retired, a.RetiredAt = false, nil // back from retirement
		a.Scopes = h.Scopes
		a.HeartbeatIntervalSeconds = h.IntervalSeconds
		a.ScanIntervalSeconds = h.ScanIntervalSeconds
		a.OutboxDepth = h.OutboxDepth
		if h.LastScanAt != nil && (a.LastScan == nil || h.LastScanAt.AsTime().After(a.LastScan.AsTime())) {
			a.LastScan = h.LastScanAt
		}
	})
	if err != nil || !h.ScopesComplete {
		return err
	}
	named := map[[finding.ScopeIDLen]byte]bool{}
	for _, sc := range h.Scopes {
		named[finding.ScopeID(sc)] = true
	}
	for _, sc := range dropped {
		if named[finding.ScopeID(sc)] {
			continue
		}
		if err := w.retireDropped(sc, now); err != nil {
			return err
		}
	}
	return nil
}

// knownScopes is an agent's known scopes after heartbeat h: exactly the
// named ones after a complete scan round, else the known ones and the
// named ones together (a target that failed this round may come back).
func knownScopes(known []*vigilv1.Scope, h *vigilv1.Heartbeat) []*vigilv1.Scope {
	if h.ScopesComplete {
		return h.Scopes
	}
	out := slices.Clone(known)
	seen := map[[finding.ScopeIDLen]byte]bool{}
	for _, sc := range known {
		seen[finding.ScopeID(sc)] = true
	}
	for _, sc := range h.Scopes {
		if id := finding.ScopeID(sc); !seen[id] {
			seen[id] = true
			out = append(out, sc)
		}
	}
	return out
}

// retireDropped retires a scope its agent no longer names after a complete
// scan round: its present findings resolve as retired, with their events,
// and the audit log says why. A scope the store does not hold, or holds
// retired already, is left alone, so a repeated heartbeat changes nothing.
func (w *Writer) retireDropped(sc *vigilv1.Scope, now time.Time) error {
	id := finding.ScopeID(sc)
	if _, cached := w.scopeCache[id]; !cached && w.scopes.Get(id[:]) == nil {
		return nil
	}
	sr, _, err := w.scope(sc)
	if err != nil || sr.Retired {
		return err
	}
	// The cursor of retireScope reads the bucket: write what is buffered.
	if err := w.Flush(); err != nil {
		return err
	}
	ts := timestamppb.New(now)
	resolved, err := w.retireScope(sr.Scope, ts)
	if err != nil {
		return err
	}
	return w.auditRetire(&vigilv1.AuditEntry{Time: ts, Actor: "agent " + sc.Tenant + "/" + sc.Agent, Action: "retire-target", Affected: resolved,
		Tenant: sc.Tenant, Agent: sc.Agent, Target: sc.Target, Scanner: sc.Scanner, Reason: "the agent no longer scans this target"})
}

func (w *Writer) touchAgent(tenant, id string, fn func(*vigilv1.Agent)) error {
	b := w.tx.Bucket(bAgents)
	k := agentKey(tenant, id)
	a := &vigilv1.Agent{Tenant: tenant, Id: id}
	if v := b.Get(k); v != nil {
		if err := proto.Unmarshal(v, a); err != nil {
			return fmt.Errorf("decode agent %s/%s: %w", tenant, id, err)
		}
	}
	fn(a)
	v, err := proto.Marshal(a)
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

func (w *Writer) get(key []byte) (*vigilv1.FindingRecord, error) {
	if rec, ok := w.pending[string(key)]; ok {
		return rec, nil
	}
	v := w.findings.Get(key)
	if v == nil {
		return nil, nil
	}
	return w.codec.decode(key, v)
}

// put buffers a record and moves its index entries and counts from old
// (nil for a new finding) to the new values. The caller must not change
// rec afterwards.
func (w *Writer) put(key []byte, old, rec *vigilv1.FindingRecord) error {
	rec.Stored.Id = ""
	w.pending[string(key)] = rec
	newEntries := indexEntries(key, rec)
	var oldEntries []indexEntry
	if old != nil {
		oldEntries = indexEntries(key, old)
	}
	for i, e := range newEntries {
		if oldEntries != nil && oldEntries[i].key == e.key {
			continue
		}
		if oldEntries != nil && oldEntries[i].bucket != nil {
			w.idxOp(oldEntries[i].bucket, oldEntries[i].key, false)
		}
		if e.bucket != nil {
			w.idxOp(e.bucket, e.key, true)
		}
	}
	nk := occurrenceKey(key, rec)
	if old != nil {
		ok := occurrenceKey(key, old)
		if ok == nk {
			return nil
		}
		w.occDelta[ok]--
	}
	w.occDelta[nk]++
	return nil
}

func (w *Writer) idxOp(bucket []byte, key string, put bool) {
	ops := w.idxOps[string(bucket)]
	if ops == nil {
		ops = map[string]bool{}
		w.idxOps[string(bucket)] = ops
	}
	ops[key] = put
}

// event records a lifecycle transition: in the outbox, in this
// transaction, and in Events for the watchers once it commits.
// Every transition but the first opening (first_seen says when) is kept in
// the record's history, the last maxHistory of them; rec is the record
// this transaction writes.
func (w *Writer) event(t vigilv1.EventType, key []byte, rec *vigilv1.FindingRecord, sr *vigilv1.ScopeRecord, ts *timestamppb.Timestamp) {
	if t != vigilv1.EventType_EVENT_TYPE_OPENED {
		st := rec.Stored
		detail := ""
		switch t {
		case vigilv1.EventType_EVENT_TYPE_RESOLVED:
			detail = st.GetResolution()
		case vigilv1.EventType_EVENT_TYPE_SUPPRESSED:
			detail = st.GetSuppression().GetReason()
		}
		st.History = append(st.History, &vigilv1.Transition{Type: t, Time: ts, Detail: detail})
		if n := len(st.History); n > maxHistory {
			st.History = slices.Delete(st.History, 0, n-maxHistory)
		}
	}
	ev := view(key, rec, sr)
	ev.History = nil // an event is one transition; its history stays in the store
	w.Events = append(w.Events, &vigilv1.FindingEvent{Type: t, Finding: ev, Time: ts})
}

// maxHistory bounds the transitions a finding record keeps.
const maxHistory = 16
