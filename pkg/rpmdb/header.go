package rpmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// A header blob, as the database stores it, is
//
//	il (int32) dl (int32) | il index entries of 16 bytes | dl bytes of data
//
// all big-endian. An entry is tag, type, offset into the data, count.
const (
	maxIndexEntries = 0xffff    // rpm's own bound on il
	maxDataBytes    = 256 << 20 // and on dl
)

// Tags read from a header.
const (
	tagName       = 1000
	tagVersion    = 1001
	tagRelease    = 1002
	tagEpoch      = 1003
	tagVendor     = 1011
	tagArch       = 1022
	tagSourceRPM  = 1044
	tagModularity = 5096
)

// Entry types read.
const (
	typeInt32       = 4
	typeString      = 6
	typeStringArray = 8
	typeI18NString  = 9
)

// ParseHeader reads one package header blob. Name, version and release
// are required; the other fields are read when present.
func ParseHeader(b []byte) (Package, error) {
	var p Package
	if len(b) < 8 {
		return p, errors.New("header shorter than its counts")
	}
	il, dl := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if il == 0 || il > maxIndexEntries {
		return p, fmt.Errorf("header claims %d index entries", il)
	}
	if dl > maxDataBytes {
		return p, fmt.Errorf("header claims %d data bytes", dl)
	}
	start := 8 + 16*int(il)
	if start+int(dl) > len(b) {
		return p, fmt.Errorf("header of %d bytes is cut short (%d index entries and %d data bytes need %d)", len(b), il, dl, start+int(dl))
	}
	data := b[start : start+int(dl)]
	for i := range int(il) {
		e := b[8+16*i:]
		tag := binary.BigEndian.Uint32(e)
		typ := binary.BigEndian.Uint32(e[4:])
		off := int64(int32(binary.BigEndian.Uint32(e[8:])))
		var dst *string
		switch tag {
		case tagName:
			dst = &p.Name
		case tagVersion:
			dst = &p.Version
		case tagRelease:
			dst = &p.Release
		case tagVendor:
			dst = &p.Vendor
		case tagArch:
			dst = &p.Arch
		case tagSourceRPM:
			dst = &p.SourceRPM
		case tagModularity:
			dst = &p.Modularity
		case tagEpoch:
			if typ != typeInt32 || off < 0 || off+4 > int64(len(data)) {
				return p, fmt.Errorf("epoch entry (type %d, offset %d) does not fit the data", typ, off)
			}
			p.Epoch = int(int32(binary.BigEndian.Uint32(data[off:])))
			p.HasEpoch = true
			continue
		default:
			continue
		}
		s, err := str(data, typ, off)
		if err != nil {
			return p, fmt.Errorf("tag %d: %w", tag, err)
		}
		*dst = s
	}
	switch {
	case p.Name == "":
		return p, errors.New("header has no name")
	case p.Version == "":
		return p, fmt.Errorf("package %s has no version", p.Name)
	case p.Release == "" && p.Name != "gpg-pubkey":
		return p, fmt.Errorf("package %s has no release", p.Name)
	case p.Epoch < 0:
		return p, fmt.Errorf("package %s has a negative epoch", p.Name)
	}
	return p, nil
}

// str reads the NUL-terminated string at off (the first one of an array).
func str(data []byte, typ uint32, off int64) (string, error) {
	switch typ {
	case typeString, typeStringArray, typeI18NString:
	default:
		return "", fmt.Errorf("type %d is not a string", typ)
	}
	if off < 0 || off >= int64(len(data)) {
		return "", fmt.Errorf("offset %d is outside the %d data bytes", off, len(data))
	}
	n := bytes.IndexByte(data[off:], 0)
	if n < 0 {
		return "", fmt.Errorf("string at %d is not terminated", off)
	}
	return string(data[off : off+int64(n)]), nil
}
