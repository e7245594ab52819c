package rpmdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The NDB format (Packages.db), all little-endian. A 32-byte file header
// ("RpmP", version 0, generation, slot page count) opens the first of the
// slot pages, 4096 bytes each, which hold 16-byte slots ("Slot", package
// index, block offset, block count; a zero offset is a free slot). Blocks
// are 16 bytes; a package's blocks start with a 16-byte blob header
// ("BlbS", package index, timestamp, length) before the header blob.
const (
	ndbMagic     = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbPage      = 4096
	ndbSlot      = 16
	ndbBlock     = 16
	ndbBlobHead  = 16
	ndbBlobTail  = 12
)

// readNDB returns the header blobs of an NDB package file.
func readNDB(ctx context.Context, r io.ReaderAt, size int64) ([][]byte, error) {
	head := make([]byte, 32)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("file header: %w", err)
	}
	le := binary.LittleEndian
	if le.Uint32(head) != ndbMagic {
		return nil, errors.New("not an NDB package file (magic number)")
	}
	if v := le.Uint32(head[4:]); v != 0 {
		return nil, fmt.Errorf("NDB version %d is not supported", v)
	}
	slotPages := int64(le.Uint32(head[12:]))
	if slotPages == 0 || slotPages*ndbPage > size {
		return nil, fmt.Errorf("%d slot pages do not fit the %d byte file", slotPages, size)
	}
	page := make([]byte, ndbPage)
	var out [][]byte
	for p := range slotPages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := r.ReadAt(page, p*ndbPage); err != nil {
			return out, fmt.Errorf("slot page %d: %w", p, err)
		}
		first := 0
		if p == 0 {
			first = 32 // the file header takes the first two slots
		}
		for o := first; o < ndbPage; o += ndbSlot {
			s := page[o:]
			if le.Uint32(s) != ndbSlotMagic {
				return out, fmt.Errorf("slot page %d: slot at %d has no magic number", p, o)
			}
			idx, off, cnt := le.Uint32(s[4:]), int64(le.Uint32(s[8:])), int64(le.Uint32(s[12:]))
			if off == 0 {
				continue
			}
			b, err := ndbBlob(r, size, slotPages, idx, off, cnt)
			if err != nil {
				return out, fmt.Errorf("package %d: %w", idx, err)
			}
			out = append(out, b)
		}
	}
	return out, nil
}

func ndbBlob(r io.ReaderAt, size, slotPages int64, idx uint32, off, cnt int64) ([]byte, error) {
	le := binary.LittleEndian
	start, n := off*ndbBlock, cnt*ndbBlock
	if off < slotPages*ndbPage/ndbBlock || n < ndbBlobHead+ndbBlobTail || start+n > size {
		return nil, fmt.Errorf("blocks %d+%d do not fit the file", off, cnt)
	}
	head := make([]byte, ndbBlobHead)
	if _, err := r.ReadAt(head, start); err != nil {
		return nil, err
	}
	if le.Uint32(head) != ndbBlobMagic || le.Uint32(head[4:]) != idx {
		return nil, errors.New("blob header does not match its slot")
	}
	length := int64(le.Uint32(head[12:]))
	if length > maxBlobBytes || ndbBlobHead+length+ndbBlobTail > n {
		return nil, fmt.Errorf("blob of %d bytes does not fit its %d blocks", length, cnt)
	}
	b := make([]byte, length)
	if _, err := r.ReadAt(b, start+ndbBlobHead); err != nil {
		return nil, err
	}
	return b, nil
}
