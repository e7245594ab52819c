package pipeline

import (
	"bytes"
	"unicode/utf8"
)

// Lenient returns data with every byte that is not valid UTF-8, and every
// control character YAML refuses, replaced by U+FFFD, and whether it
// replaced anything. Line breaks and tabs are kept, so line numbers still
// hold. One stray byte in a comment would otherwise make a YAML or JSON
// parser give up on the whole file; after this only what truly does not
// parse is lost. data is returned unchanged when it needs nothing.
func Lenient(data []byte) ([]byte, bool) {
	if clean(data) {
		return data, false
	}
	var out bytes.Buffer
	out.Grow(len(data) + 64)
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			out.WriteRune(utf8.RuneError)
		case refused(r):
			out.WriteRune(utf8.RuneError)
		default:
			out.Write(data[i : i+size])
		}
		i += size
	}
	return out.Bytes(), true
}

// clean reports whether data is valid UTF-8 without refused characters.
func clean(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if refused(rune(c)) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || refused(r) {
			return false
		}
		i += size
	}
	return true
}

// refused reports whether YAML 1.2 forbids r in a stream: C0 controls but
// tab and line breaks, DEL, C1 controls but NEL, surrogates and the two
// non-characters U+FFFE and U+FFFF.
func refused(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return r != 0x85
	case r == 0xfffe || r == 0xffff:
		return true
	}
	return false
}
