package rpmdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The Berkeley DB hash format, as far as reading rpm's Packages needs it.
// Page 0 is the metadata page; every page starts with a 26-byte header
// (next page number at 16, entry count at 20, the free-space offset at 22,
// the page type at 25), in the byte order the metadata's magic number is
// written in. A hash page holds an array of item offsets after its header;
// items pair up as key then data. A data item is either inline (a type
// byte, then the bytes up to the previous item) or a reference to a chain
// of overflow pages, each of which holds its free-space offset's count of
// bytes after the header.
const (
	bdbHashMagic    = 0x061561
	bdbPageHeader   = 26
	bdbPageHash     = 13 // P_HASH
	bdbPageUnsorted = 2  // P_HASH_UNSORTED
	bdbPageOverflow = 7  // P_OVERFLOW
	bdbItemKeyData  = 1  // H_KEYDATA
	bdbItemOffPage  = 3  // H_OFFPAGE
	maxBlobBytes    = 64 << 20
)

// readBerkeley returns the header blobs of a Berkeley DB hash file.
func readBerkeley(ctx context.Context, r io.ReaderAt, size int64) ([][]byte, error) {
	meta := make([]byte, 512)
	if _, err := r.ReadAt(meta, 0); err != nil {
		return nil, fmt.Errorf("metadata page: %w", err)
	}
	var bo binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(meta[12:]) == bdbHashMagic:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint32(meta[12:]) == bdbHashMagic:
		bo = binary.BigEndian
	default:
		return nil, errors.New("not a Berkeley DB hash database (magic number)")
	}
	pageSize := int64(bo.Uint32(meta[20:]))
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil, fmt.Errorf("page size %d is not a power of two from 512 to 65536", pageSize)
	}
	if meta[24] != 0 {
		return nil, errors.New("encrypted database")
	}
	if meta[26]&1 != 0 {
		return nil, errors.New("checksummed pages are not supported")
	}
	pages := size / pageSize
	if last := int64(bo.Uint32(meta[32:])); last+1 < pages {
		pages = last + 1
	}
	d := &bdb{r: r, bo: bo, pageSize: pageSize, pages: pages}
	var out [][]byte
	page := make([]byte, pageSize)
	for n := int64(1); n < pages; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := d.read(page, n); err != nil {
			return out, err
		}
		if t := page[25]; t != bdbPageHash && t != bdbPageUnsorted {
			continue
		}
		blobs, err := d.hashPage(page, n)
		out = append(out, blobs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

type bdb struct {
	r        io.ReaderAt
	bo       binary.ByteOrder
	pageSize int64
	pages    int64
}

func (d *bdb) read(page []byte, n int64) error {
	if _, err := d.r.ReadAt(page, n*d.pageSize); err != nil {
		return fmt.Errorf("page %d: %w", n, err)
	}
	return nil
}

// hashPage returns the package blobs of hash page n: the data item of each
// pair whose key is not the bookkeeping record 0.
func (d *bdb) hashPage(page []byte, n int64) ([][]byte, error) {
	entries := int(d.bo.Uint16(page[20:]))
	if bdbPageHeader+2*entries > len(page) {
		return nil, fmt.Errorf("page %d claims %d entries", n, entries)
	}
	offset := func(i int) int { return int(d.bo.Uint16(page[bdbPageHeader+2*i:])) }
	// Items are laid from the page's end down: item i ends where item i-1
	// starts.
	item := func(i int) ([]byte, error) {
		start, end := offset(i), len(page)
		if i > 0 {
			end = offset(i - 1)
		}
		if start < bdbPageHeader+2*entries || start >= end || end > len(page) {
			return nil, fmt.Errorf("page %d: item %d at %d..%d is outside the page", n, i, start, end)
		}
		return page[start:end], nil
	}
	var out [][]byte
	for i := 0; i+1 < entries; i += 2 {
		key, err := item(i)
		if err != nil {
			return out, err
		}
		if key[0] == bdbItemKeyData && len(key) == 5 && d.bo.Uint32(key[1:]) == 0 {
			continue // record 0 holds the next package number
		}
		val, err := item(i + 1)
		if err != nil {
			return out, err
		}
		switch val[0] {
		case bdbItemKeyData:
			out = append(out, append([]byte(nil), val[1:]...))
		case bdbItemOffPage:
			if len(val) < 12 {
				return out, fmt.Errorf("page %d: overflow reference of %d bytes", n, len(val))
			}
			b, err := d.overflow(int64(d.bo.Uint32(val[4:])), int64(d.bo.Uint32(val[8:])))
			if err != nil {
				return out, fmt.Errorf("page %d item %d: %w", n, i+1, err)
			}
			out = append(out, b)
		default:
			return out, fmt.Errorf("page %d: item type %d is not supported", n, val[0])
		}
	}
	return out, nil
}

// overflow reads total bytes from the chain of overflow pages starting at n.
func (d *bdb) overflow(n, total int64) ([]byte, error) {
	if total > maxBlobBytes {
		return nil, fmt.Errorf("value of %d bytes is over the %d byte limit", total, maxBlobBytes)
	}
	out := make([]byte, 0, total)
	page := make([]byte, d.pageSize)
	for steps := int64(0); int64(len(out)) < total; steps++ {
		if n <= 0 || n >= d.pages || steps >= d.pages {
			return nil, fmt.Errorf("overflow chain leaves the file at page %d after %d of %d bytes", n, len(out), total)
		}
		if err := d.read(page, n); err != nil {
			return nil, err
		}
		if page[25] != bdbPageOverflow {
			return nil, fmt.Errorf("page %d is type %d, not an overflow page", n, page[25])
		}
		k := int64(d.bo.Uint16(page[22:]))
		if k > d.pageSize-bdbPageHeader || int64(len(out))+k > total {
			return nil, fmt.Errorf("overflow page %d claims %d bytes", n, k)
		}
		out = append(out, page[bdbPageHeader:bdbPageHeader+k]...)
		n = int64(d.bo.Uint32(page[16:]))
	}
	return out, nil
}
