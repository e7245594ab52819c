package store

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Footprint says where a store file's bytes go.
type Footprint struct {
	// FileBytes is the size of the file on disk.
	FileBytes int64
	// FreeBytes is the part of the file bbolt holds free for reuse.
	FreeBytes int64
	// Findings is the number of finding records.
	Findings int
	// Buckets is, per top-level bucket, the bytes of the pages it takes
	// (branch, leaf and overflow pages, their unused tails included).
	Buckets map[string]int64
	// InUse is, per bucket, the part of those pages its keys, values and
	// page headers fill.
	InUse map[string]int64
}

// Footprint measures the store's file and its buckets' pages.
func (s *Store) Footprint() (Footprint, error) {
	fp := Footprint{Buckets: map[string]int64{}, InUse: map[string]int64{}}
	fi, err := os.Stat(s.path)
	if err != nil {
		return fp, fmt.Errorf("footprint: %w", err)
	}
	fp.FileBytes = fi.Size()
	st := s.db.Stats()
	page := int64(s.db.Info().PageSize)
	fp.FreeBytes = int64(st.FreePageN+st.PendingPageN) * page
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			bs := b.Stats()
			fp.Buckets[string(name)] = int64(bs.BranchAlloc + bs.LeafAlloc)
			fp.InUse[string(name)] = int64(bs.BranchInuse + bs.LeafInuse)
			if string(name) == string(bFindings) {
				fp.Findings = bs.KeyN
			}
			return nil
		})
	})
	return fp, err
}

// PagesWritten is the number of bytes of pages the store's transactions
// have written since it was opened: what its write amplification costs.
func (s *Store) PagesWritten() int64 {
	st := s.db.Stats()
	return st.TxStats.GetPageAlloc()
}
