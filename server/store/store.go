// Package store keeps the server's view of the fleet in a bbolt file.
//
// Layout and invariants (schema 6; migrate.go upgrades older files):
//
//   - findings: key = scope id (8 bytes) + fingerprint (32 bytes) →
//     FindingRecord. Keys are clustered by scope so one scan's writes touch
//     few pages. The public finding id is the hex of this key. A record
//     leaves out what every finding of its check shares and names it in
//     shared (see shared.go).
//   - idx_tenant, idx_account, idx_check, idx_class, idx_change: key =
//     value + 0x00 + finding key → empty, where the value of idx_class is
//     the severity, pillar and status bytes (it serves the three filters
//     and the order by severity). Every finding has exactly
//     one entry in each index, for its current values (none in
//     idx_account when its account is empty); they are rewritten in the
//     same transaction as the finding.
//   - counts: key = tenant 0x00 account 0x00 pillar severity status (one
//     byte each) → big-endian uint64: the number of distinct fingerprints
//     with those values (a fingerprint two scopes hold counts once).
//   - occurrences: key = counts key + the first 16 bytes of a fingerprint
//     → big-endian uint64, the number of scopes holding it with those
//     values. Its recent changes live in an in-memory overlay written back
//     in parts, with a mark in meta while any are pending (occurrences.go).
//   - scopes: key = scope id → ScopeRecord. Its digest is the XOR of
//     SHA-256(fingerprint) over the findings of the scope that are present
//     (open, reopened or suppressed), and present is their number.
//   - scan_batches: key = scope id + scan id 0x00 + big-endian batch seq →
//     empty, for each batch of a scan that has not completed yet. A
//     ScanCompleted applies only once all its batches are here (batches can
//     be redelivered out of order after a crash), then its keys go.
//   - idx_expiry: key = big-endian expiry 0x00 finding key for suppressed
//     findings whose suppression expires (see suppress.go). There is no
//     index by fingerprint on purpose: fingerprints are random, and an
//     index of random keys halves ingest (bbolt rewrites every leaf page
//     a transaction touches); the rare lookups by fingerprint walk keys.
//   - suppressions: key = id → Suppression; audit: key = time-ordered id →
//     AuditEntry. Neither is ever deleted: exceptions stay accountable.
//   - agents: key = tenant 0x00 agent id → Agent.
//   - meta: "schema" → schema version; "event_prefix"; and
//     "occurrences_pending" while the occurrences bucket lags its overlay.
//
// An unchanged finding is not rewritten on re-scan: its last-seen time and
// times-seen count derive from its scope's completed scans.
package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout version written to meta.
const SchemaVersion = 6

var (
	bFindings = []byte("findings")
	bScopes   = []byte("scopes")
	bCounts   = []byte("counts")
	// bOccur counts, per counts key and fingerprint (its first 16 bytes),
	// the scopes that hold the fingerprint in that group: counts holds the
	// number of distinct fingerprints, so two scopes reporting one finding
	// count it once.
	bOccur   = []byte("occurrences")
	bAgents  = []byte("agents")
	bBatches = []byte("scan_batches")
	bMeta    = []byte("meta")
	bSupp    = []byte("suppressions")
	bAudit   = []byte("audit")
	// bEvents is the outbox of lifecycle events: written in the transaction
	// of the change, deleted once the events stream acknowledged them.
	bEvents = []byte("event_outbox")

	bIdxTenant  = []byte("idx_tenant")
	bIdxAccount = []byte("idx_account")
	bIdxCheck   = []byte("idx_check")
	// bIdxClass is the index by severity, pillar and status; before
	// schema 5 each had an index of its own, which the migration drops.
	bIdxClass    = []byte("idx_class")
	bIdxPillar   = []byte("idx_pillar")
	bIdxSeverity = []byte("idx_severity")
	bIdxStatus   = []byte("idx_status")
	bIdxChange   = []byte("idx_change")
	bIdxExpiry   = []byte("idx_expiry")

	allBuckets = [][]byte{bFindings, bShared, bScopes, bCounts, bOccur, bAgents, bMeta, bBatches, bSupp, bAudit, bEvents,
		bIdxTenant, bIdxAccount, bIdxCheck, bIdxClass, bIdxChange, bIdxExpiry}
	indexBuckets = [][]byte{bIdxTenant, bIdxAccount, bIdxCheck, bIdxClass, bIdxChange, bIdxExpiry}

	keySchema = []byte("schema")
)

// Store is an open store file.
type Store struct {
	db     *bolt.DB
	path   string
	shared *sharedCache
	// writeMu orders the transactions that change findings, so that the
	// occurrences overlay follows the commits (see occurrences.go).
	writeMu sync.Mutex
	occ     *occurrences
}

// Options tune a store.
type Options struct {
	// NoSync skips fsync on commit; for benchmarks and tests only.
	NoSync bool
	// ReadOnly opens the file for reading: nothing is created or migrated
	// (for checking a file, such as a backup, that must stay as it is).
	ReadOnly bool
	// OccurrenceOverlay is how many changed occurrence counts are held in
	// memory before part of them is written back; 0 means
	// DefaultOccurrenceOverlay.
	OccurrenceOverlay int
}

// Open opens or creates the store at path. It refuses a file that is not a
// bbolt store or has a newer schema.
func Open(path string, opts Options) (*Store, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoSync: opts.NoSync, FreelistType: bolt.FreelistMapType,
		NoFreelistSync: true, InitialMmapSize: 1 << 30, ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, shared: &sharedCache{}, occ: newOccurrences(opts.OccurrenceOverlay)}
	if opts.ReadOnly {
		if _, err := s.Schema(); err != nil {
			db.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		return s, nil
	}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return fmt.Errorf("create bucket meta: %w", err)
		}
		v := meta.Get(keySchema)
		if v == nil && tx.Bucket(bFindings) == nil {
			// A new file: the current layout, no migration.
			for _, b := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return fmt.Errorf("create bucket %s: %w", b, err)
				}
			}
			return meta.Put(keySchema, []byte{SchemaVersion})
		}
		switch {
		case v == nil || len(v) != 1 || v[0] == 0:
			return errors.New("corrupt schema version in meta")
		case v[0] > SchemaVersion:
			return fmt.Errorf("store has schema %d, this server knows up to %d", v[0], SchemaVersion)
		}
		if err := migrate(tx, int(v[0])); err != nil {
			return err
		}
		if err := recoverOccurrences(tx, s.path); err != nil {
			return err
		}
		// After the migrations every bucket of the layout must exist.
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("bucket %s missing: the file is damaged or not a Vigil store", b)
			}
		}
		return nil
	})
}

// Schema returns the file's schema version; it fails on a file that is not
// a Vigil store or is newer than this server.
func (s *Store) Schema() (int, error) {
	v := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta == nil {
			return errors.New("no meta bucket: not a Vigil store")
		}
		b := meta.Get(keySchema)
		switch {
		case len(b) != 1 || b[0] == 0:
			return errors.New("corrupt schema version in meta")
		case b[0] > SchemaVersion:
			return fmt.Errorf("store has schema %d, this server knows up to %d", b[0], SchemaVersion)
		}
		v = int(b[0])
		return nil
	})
	return v, err
}

// Close closes the file.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var err error
	if !s.db.IsReadOnly() {
		err = s.writeBack(64<<10, true)
	}
	return errors.Join(err, s.db.Close())
}

// Path is the file the store lives in.
func (s *Store) Path() string { return s.path }

// Check verifies the file's pages: the file is as long as its pages (a
// copy cut short is damaged even when what it lost was free pages), every
// page reachable once and of a known type (bbolt's own check), then every
// key and value of every bucket read, so a leaf page whose elements point outside it is found
// here rather than by a later query. A corrupt file gives an error; a
// panic of the page reader on this goroutine is returned as one too.
// (bbolt also reads pages on goroutines of its own, where a panic ends
// the process: run Check in a child process when the file may be damaged.)
func (s *Store) Check() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the page reader failed: %v", r)
		}
	}()
	return s.db.View(func(tx *bolt.Tx) error {
		fi, err := os.Stat(s.path)
		if err != nil {
			return err
		}
		if fi.Size() < tx.Size() {
			return fmt.Errorf("the file is %d bytes, shorter than the %d bytes of its pages: it was cut short", fi.Size(), tx.Size())
		}
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
	})
}

// walk reads every key and value of b and of its nested buckets.
func walk(path string, b *bolt.Bucket) error {
	n := 0
	var prev []byte
	return b.ForEach(func(k, v []byte) error {
		n++
		if len(k) == 0 {
			return fmt.Errorf("bucket %s: entry %d has an empty key", path, n)
		}
		if n > 1 && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("bucket %s: key %x out of order after %x", path, k, prev)
		}
		prev = k
		if v == nil {
			nb := b.Bucket(k)
			if nb == nil {
				return fmt.Errorf("bucket %s: entry %x is neither a value nor a bucket", path, k)
			}
			return walk(path+"/"+string(k), nb)
		}
		return nil
	})
}

// Update runs fn in one write transaction; everything fn does commits
// together or not at all.
func (s *Store) Update(fn func(w *Writer) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var w *Writer
	err := s.db.Update(func(tx *bolt.Tx) error {
		fill(tx)
		w = newWriter(tx, s.shared, s.occ)
		if err := fn(w); err != nil {
			return err
		}
		return w.Flush()
	})
	if err != nil {
		return err
	}
	return s.afterCommit(w)
}

// fill sets how full bbolt packs the pages it splits in this transaction.
// Its default of one half suits keys that arrive in random order
// (occurrences, keyed by fingerprint, and idx_check, where a scan adds a
// few keys to each check's range); where a scan's keys are adjacent (by
// scope in findings, by tenant or account then scope in their indexes,
// by value then scope in the small ones) each transaction writes runs of
// them, and half-full pages would double the file. idx_change and the
// event outbox only ever grow at their end. Measured by BenchmarkStoredBytes.
func fill(tx *bolt.Tx) {
	for _, name := range [][]byte{bFindings, bIdxTenant, bIdxAccount, bIdxChange, bEvents} {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = 1
		}
	}
}

// Backup writes a consistent snapshot of the store to path.
func (s *Store) Backup(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(f)
		return err
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
