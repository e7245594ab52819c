package vuln

import (
	"fmt"
	"strconv"
	"strings"
)

// compareRPM orders two RPM versions, each "[epoch:]version[-release]",
// as rpm does: by epoch (absent is 0), then version, then release, each
// part compared with rpmvercmp's rules.
func compareRPM(a, b string) (int, error) {
	ea, va, ra, err := splitEVR(a)
	if err != nil {
		return 0, err
	}
	eb, vb, rb, err := splitEVR(b)
	if err != nil {
		return 0, err
	}
	switch {
	case ea < eb:
		return -1, nil
	case ea > eb:
		return 1, nil
	}
	if c := rpmvercmp(va, vb); c != 0 {
		return c, nil
	}
	return rpmvercmp(ra, rb), nil
}

// splitEVR splits "[epoch:]version[-release]". The release follows the last
// dash, since versions may not hold one.
func splitEVR(s string) (epoch int64, version, release string, err error) {
	if s == "" {
		return 0, "", "", fmt.Errorf("rpm version is empty")
	}
	rest := s
	if e, v, ok := strings.Cut(s, ":"); ok {
		if e != "" {
			epoch, err = strconv.ParseInt(e, 10, 64)
			if err != nil || epoch < 0 {
				return 0, "", "", fmt.Errorf("rpm version %q: epoch %q is not a number", s, e)
			}
		}
		rest = v
	}
	version, release = rest, ""
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		version, release = rest[:i], rest[i+1:]
	}
	if version == "" {
		return 0, "", "", fmt.Errorf("rpm version %q has no version part", s)
	}
	return epoch, version, release, nil
}

// rpmvercmp compares two version (or release) strings the way rpm does.
// Each string is cut into runs of digits and runs of letters; anything else
// separates runs. Runs compare pairwise: numbers by value, letters by
// byte order, and a number is newer than letters. A tilde sorts before
// everything, even the end of the string ("1.0~rc1" < "1.0"); a caret sorts
// after the end of the string but before anything else ("1.0" < "1.0^git1"
// < "1.0.1").
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !rpmRune(a[i]) {
			i++
		}
		for j < len(b) && !rpmRune(b[j]) {
			j++
		}
		ca, cb := at(a, i), at(b, j)
		if ca == '~' || cb == '~' {
			if ca != '~' {
				return 1
			}
			if cb != '~' {
				return -1
			}
			i, j = i+1, j+1
			continue
		}
		if ca == '^' || cb == '^' {
			switch {
			case i >= len(a):
				return -1
			case j >= len(b):
				return 1
			case ca != '^':
				return 1
			case cb != '^':
				return -1
			}
			i, j = i+1, j+1
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		numeric := isDigit(ca)
		class := isAlpha
		if numeric {
			class = isDigit
		}
		si, sj := i, j
		for i < len(a) && class(a[i]) {
			i++
		}
		for j < len(b) && class(b[j]) {
			j++
		}
		ra, rb := a[si:i], b[sj:j]
		if rb == "" {
			// The runs differ in kind: the number is newer.
			if numeric {
				return 1
			}
			return -1
		}
		if numeric {
			ra, rb = strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(ra) != len(rb) {
				if len(ra) > len(rb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(ra, rb); c != 0 {
			return c
		}
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0
	case i >= len(a):
		return -1
	}
	return 1
}

func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// rpmRune reports whether c takes part in a comparison (not a separator).
func rpmRune(c byte) bool { return isDigit(c) || isAlpha(c) || c == '~' || c == '^' }
