package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Purge deletes resolved findings whose resolution is older than before,
// with their index entries and counts, in transactions of at most batch
// findings so ingest is never held up long. It returns how many went.
//
// It walks idx_change from the oldest change: a resolved finding's last
// change is its resolution, so the walk stops at the first change at or
// after before.
func (s *Store) Purge(before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	limit := make([]byte, 8)
	binary.BigEndian.PutUint64(limit, uint64(before.UnixNano()))
	total := 0
	var from []byte
	for {
		n, next, err := s.purgeBatch(limit, from, batch)
		total += n
		if err != nil || next == nil {
			return total, err
		}
		from = next
	}
}

func (s *Store) purgeBatch(limit, from []byte, batch int) (int, []byte, error) {
	n := 0
	var next []byte
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var w *Writer
	err := s.db.Update(func(tx *bolt.Tx) error {
		w = newWriter(tx, s.shared, s.occ)
		keys, rest := indexKeys(tx.Bucket(bIdxChange).Cursor(), from, func(k []byte) bool { return bytes.Compare(k[:8], limit) < 0 }, batch)
		next = rest
		for _, key := range keys {
			rec, err := w.get(key)
			if err != nil {
				return err
			}
			if rec == nil || present(rec.Stored.Status) {
				continue
			}
			if err := w.remove(key, rec); err != nil {
				return err
			}
			n++
		}
		return w.Flush()
	})
	if err == nil {
		err = s.afterCommit(w)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("purge: %w", err)
	}
	return n, next, nil
}

// remove deletes a finding record with its index entries and count; the
// scope's record count drops by one.
func (w *Writer) remove(key []byte, rec *vigilv1.FindingRecord) error {
	for _, e := range indexEntries(key, rec) {
		if e.bucket != nil {
			w.idxOp(e.bucket, e.key, false)
		}
	}
	w.occDelta[occurrenceKey(key, rec)]--
	delete(w.pending, string(key))
	if err := w.findings.Delete(key); err != nil {
		return fmt.Errorf("delete finding: %w", err)
	}
	sr, err := w.scopeByID(key)
	if err != nil {
		return err
	}
	if sr.Records > 0 {
		sr.Records--
	}
	w.dirty[[finding.ScopeIDLen]byte(key[:finding.ScopeIDLen])] = true
	return nil
}

// WriteTo writes a consistent snapshot of the store (a bbolt file) to out.
func (s *Store) WriteTo(out io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(out)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("snapshot: %w", err)
	}
	return n, nil
}

// Compact rewrites the store file at src into dst without free pages.
// Neither may be open by a server.
func Compact(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("compact: %s exists", dst)
	}
	in, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("compact: open %s: %w", src, err)
	}
	defer in.Close()
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return fmt.Errorf("compact: create %s: %w", dst, err)
	}
	if err := bolt.Compact(out, in, 64<<20); err != nil {
		out.Close()
		os.Remove(dst)
		return fmt.Errorf("compact: %w", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("compact: %w", err)
	}
	return out.Close()
}

// Restore checks that the snapshot at src is a readable store of a schema
// this server knows, then puts it in place at dst (which must not be open).
// The previous file, if any, is kept as dst + ".before-restore".
func Restore(src, dst string) (err error) {
	tmp := dst + ".restoring"
	os.Remove(tmp)
	defer func() {
		if err != nil {
			os.Remove(tmp) // a failed restore leaves nothing behind
		}
	}()
	if err := copyFile(src, tmp); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	s, err := Open(tmp, Options{})
	if err != nil {
		return fmt.Errorf("restore: %s is not a usable store: %w", src, err)
	}
	err = s.Check()
	if err == nil {
		err = s.Verify()
	}
	s.Close()
	if err != nil {
		return fmt.Errorf("restore: %s is corrupt: %w", src, err)
	}
	if _, err := os.Stat(dst); err == nil {
		if err := os.Rename(dst, dst+".before-restore"); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return syncDir(filepath.Dir(dst))
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
