package secret

import (
	"io"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// endless yields n bytes of one repeated line-less pattern, then tail.
type endless struct {
	n    int
	tail string
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		if e.tail == "" {
			return 0, io.EOF
		}
		k := copy(p, e.tail)
		e.tail = e.tail[k:]
		return k, nil
	}
	k := min(len(p), e.n)
	for i := range p[:k] {
		p[i] = "abcdefgh ="[i%10]
	}
	e.n -= k
	return k, nil
}

// A 64 MiB line (minified bundle, base64 blob) is searched in bounded
// memory, and a credential after it is still found.
func TestHugeLineBoundedMemory(t *testing.T) {
	s := New([]byte("k"))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var got []Match
	err := s.ScanReader("bundle.js", &endless{n: 64 << 20, tail: "\nDB_PASSWORD = 'Xy7#kLm9Qz-Tr4'\n"}, func(m Match) { got = append(got, m) })
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1].Line != 2 {
		t.Fatalf("secret after the huge line: %+v", got)
	}
	if peak := after.HeapInuse; peak > before.HeapInuse+64<<20 {
		t.Fatalf("heap in use grew by %d MiB for a 64 MiB line", (peak-before.HeapInuse)>>20)
	}
}

// Invalid UTF-8 around a credential: the redacted line is valid UTF-8 and
// holds no part of the secret.
func TestInvalidUTF8AroundSecret(t *testing.T) {
	s := New([]byte("k"))
	const secret = "ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fGh"
	for _, text := range []string{
		"token=\xff\xfe" + secret + "\xc3\x28\n",
		"\xed\xa0\x80 GITHUB_TOKEN = \"" + secret + "\" \xf0\x28\x8c\x28\n",
	} {
		for _, m := range s.Scan([]byte(text)) {
			if !utf8.ValidString(m.Redacted) {
				t.Fatalf("redacted snippet is not UTF-8: %q", m.Redacted)
			}
			if strings.Contains(m.Redacted, secret[8:]) {
				t.Fatalf("redacted snippet shows the secret: %q", m.Redacted)
			}
		}
	}
}
