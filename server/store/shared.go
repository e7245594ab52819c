package store

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// bShared holds what many finding records have in common: key = 8-byte
// id (the start of the SHA-256 of the value) → a Finding holding only the
// check id, title, remediation, references, tags, scanner and pillar.
// Entries are content-addressed and never change or go: a record names its
// entry by id, and every record of one check and catalog version names the
// same one. This is most of a record's bytes (a check's remediation alone
// is often longer than the rest of the finding).
var bShared = []byte("shared")

// sharedCache keeps the shared entries a store has read, and the id of
// each shared part it has encoded (by its fields, so the hash is not
// computed again). An id always names the same content, so an entry cached
// from a transaction that rolled back is still right; writers check the
// bucket, never the cache, before leaving a part out. Each map holds at
// most maxShared entries (the catalog has far fewer checks; past that it
// starts over), so odd input cannot grow it without bound.
type sharedCache struct {
	mu  sync.RWMutex
	m   map[uint64]*vigilv1.Finding
	ids map[string]uint64
}

const maxShared = 20000

func (c *sharedCache) get(id uint64) *vigilv1.Finding {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[id]
}

func (c *sharedCache) put(id uint64, f *vigilv1.Finding) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxShared {
		c.m = map[uint64]*vigilv1.Finding{}
	}
	c.m[id] = f
}

func (c *sharedCache) idOf(key string) (uint64, bool) {
	if c == nil {
		return 0, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.ids[key]
	return id, ok
}

func (c *sharedCache) putID(key string, id uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids) >= maxShared {
		c.ids = map[string]uint64{}
	}
	c.ids[key] = id
}

// codec encodes and decodes finding records inside one transaction.
type codec struct {
	b     *bolt.Bucket // nil in a store of a schema before it
	cache *sharedCache
	// present holds the ids this transaction found in, or wrote to, b.
	present map[uint64]bool
}

func newCodec(tx *bolt.Tx, cache *sharedCache) codec {
	return codec{b: tx.Bucket(bShared), cache: cache, present: map[uint64]bool{}}
}

// partKey spells the fields of a shared part as one string: equal keys,
// equal parts.
func partKey(f *vigilv1.Finding) string {
	var b strings.Builder
	for _, s := range []string{f.CheckId, f.Title, f.Remediation, f.Scanner, strconv.Itoa(int(f.Pillar))} {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	for _, list := range [][]string{f.References, f.Tags} {
		b.WriteString(strconv.Itoa(len(list)))
		b.WriteByte('[')
		for _, s := range list {
			b.WriteString(strconv.Itoa(len(s)))
			b.WriteByte(':')
			b.WriteString(s)
		}
	}
	return b.String()
}

// sharedPart is the part of f that findings of its check share.
func sharedPart(f *vigilv1.Finding) *vigilv1.Finding {
	return &vigilv1.Finding{CheckId: f.CheckId, Title: f.Title, Remediation: f.Remediation,
		References: f.References, Tags: f.Tags, Scanner: f.Scanner, Pillar: f.Pillar}
}

// intern stores the shared part of f unless the bucket has it, and returns
// its id.
func (c codec) intern(f *vigilv1.Finding) (uint64, error) {
	pk := partKey(f)
	id, known := c.cache.idOf(pk)
	if known && c.present[id] {
		return id, nil
	}
	if known && c.b.Get(putU64(id)) != nil {
		c.present[id] = true
		return id, nil
	}
	part := sharedPart(f)
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(part)
	if err != nil {
		return 0, err
	}
	if !known {
		sum := sha256.Sum256(data)
		id = binary.BigEndian.Uint64(sum[:8]) | 1 // never 0, which means none
		c.cache.putID(pk, id)
	}
	key := putU64(id)
	if c.b.Get(key) == nil {
		if err := c.b.Put(key, data); err != nil {
			return 0, fmt.Errorf("shared part: %w", err)
		}
	}
	c.present[id] = true
	c.cache.put(id, part)
	return id, nil
}

// lookup returns the shared part named id.
func (c codec) lookup(id uint64) (*vigilv1.Finding, error) {
	if part := c.cache.get(id); part != nil {
		return part, nil
	}
	if c.b == nil {
		return nil, fmt.Errorf("shared part %016x: no shared bucket", id)
	}
	data := c.b.Get(putU64(id))
	if data == nil {
		return nil, fmt.Errorf("shared part %016x: missing", id)
	}
	part := &vigilv1.Finding{}
	if err := proto.Unmarshal(data, part); err != nil {
		return nil, fmt.Errorf("shared part %016x: %w", id, err)
	}
	c.cache.put(id, part)
	return part, nil
}

// encode encodes a finding record without its fingerprint (the key carries
// it), its shared part (named by id), a message equal to its title and a
// resource URI equal to its path. The
// fields left out are put back after: records in a transaction belong to
// the writing goroutine until commit.
func (c codec) encode(rec *vigilv1.FindingRecord) ([]byte, error) {
	f := rec.GetStored().GetFinding()
	if f == nil || c.b == nil {
		return proto.Marshal(rec)
	}
	id, err := c.intern(f)
	if err != nil {
		return nil, err
	}
	kept := sharedPart(f)
	fp, msg := f.Fingerprint, f.Message
	f.Fingerprint = ""
	var uri string
	if r := f.GetResource(); r != nil && r.Uri != "" && r.Uri == f.GetLocation().GetPath() {
		uri, r.Uri, rec.UriIsPath = r.Uri, "", true
	}
	f.CheckId, f.Title, f.Remediation, f.References, f.Tags, f.Scanner, f.Pillar = "", "", "", nil, nil, "", 0
	rec.Shared = id
	if msg == kept.Title && msg != "" {
		f.Message, rec.MessageIsTitle = "", true
	}
	b, err := proto.Marshal(rec)
	f.Fingerprint, f.Message = fp, msg
	f.CheckId, f.Title, f.Remediation, f.References, f.Tags, f.Scanner, f.Pillar = kept.CheckId, kept.Title, kept.Remediation, kept.References, kept.Tags, kept.Scanner, kept.Pillar
	if rec.UriIsPath {
		f.Resource.Uri = uri
	}
	rec.Shared, rec.MessageIsTitle, rec.UriIsPath = 0, false, false
	return b, err
}

// decode decodes a finding record: the fingerprint from the key, the
// shared part from its entry.
func (c codec) decode(key, val []byte) (*vigilv1.FindingRecord, error) {
	rec, err := decodeRecord(key, val)
	if err != nil {
		return nil, err
	}
	if rec.Shared != 0 {
		part, err := c.lookup(rec.Shared)
		if err != nil {
			return nil, fmt.Errorf("decode finding %x: %w", key, err)
		}
		f := rec.Stored.Finding
		f.CheckId, f.Title, f.Remediation, f.Scanner, f.Pillar = part.CheckId, part.Title, part.Remediation, part.Scanner, part.Pillar
		f.References, f.Tags = slices.Clone(part.References), slices.Clone(part.Tags)
		rec.Shared = 0
	}
	if rec.MessageIsTitle {
		rec.Stored.Finding.Message = rec.Stored.Finding.Title
		rec.MessageIsTitle = false
	}
	if rec.UriIsPath {
		f := rec.Stored.Finding
		if f.Resource == nil {
			f.Resource = &vigilv1.Resource{}
		}
		f.Resource.Uri = f.GetLocation().GetPath()
		rec.UriIsPath = false
	}
	return rec, nil
}
