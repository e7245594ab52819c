package secret

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// ScanReader searches text of any length a window at a time, so memory
// stays near window+2*overlap bytes whatever the size of the file.
//
// Invariants: each window starts at a line start and repeats the end of
// the one before it. A match belongs to the window it starts in, before
// that window's cut, and is reported once. A match that starts before the
// cut has at least overlap bytes after it inside the window, so any
// credential shorter than overlap (every rule's, PEM blocks included) is
// seen whole.
const (
	window  = 1 << 20
	overlap = 64 << 10
)

// buffers hold the windows of ScanReader: one per concurrent scan, reused
// from file to file rather than allocated for each.
var buffers = sync.Pool{New: func() any {
	b := make([]byte, window+2*overlap)
	return &b
}}

// ScanReader calls fn for each credential in the text read from r, in the
// order of the windows. Binary content (a NUL byte in the first 8 KiB) is
// not searched. A read error is returned wrapped with name.
func (s *Scanner) ScanReader(name string, r io.Reader, fn func(Match)) error {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := *bp
	carry := 0    // bytes at the start of buf kept from the previous window
	owned := 0    // matches starting before this offset were reported already
	lineBase := 0 // lines before buf[0]
	for first := true; ; first = false {
		n, err := io.ReadFull(r, buf[carry:])
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return fmt.Errorf("%s: %w", name, err)
		}
		data := buf[:carry+n]
		if first && Binary(data) {
			return nil
		}
		cut := len(data)
		if !eof {
			cut = cutAt(data)
		}
		for _, m := range s.scan(name, data) {
			if m.off < owned || m.off >= cut {
				continue
			}
			m.Line += lineBase
			m.EndLine += lineBase
			fn(m)
		}
		if eof {
			return nil
		}
		// The next window also holds the line before the cut, for the
		// allowlist markers that sit on the line above a secret.
		keep := bytes.LastIndexByte(data[:max(cut-1, 0)], '\n') + 1
		if cut-keep > overlap {
			keep = cut
		}
		lineBase += bytes.Count(data[:keep], []byte("\n"))
		owned = cut - keep
		carry = copy(buf, data[keep:])
	}
}

// cutAt returns where the matches of a full window end: the last line
// start at least overlap bytes before the end, or exactly overlap bytes
// before it when the line is too long to go back to its start.
func cutAt(data []byte) int {
	target := len(data) - overlap
	if p := bytes.LastIndexByte(data[:target], '\n'); p >= 0 && target-(p+1) <= overlap/2 {
		return p + 1
	}
	return target
}
