package secret

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// bigText builds about size bytes of text with credentials at varied
// offsets: plain lines, lines with allowlist markers above them, a PEM
// block and one very long line, so some of them straddle window cuts.
func bigText(size int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	pem := "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat("MIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aumfm9ReVZ0lYK3kB3ESbUb3yQ\n", 20) + "-----END RSA PRIVATE KEY-----\n"
	for i := 0; b.Len() < size; i++ {
		switch rng.IntN(40) {
		case 0:
			fmt.Fprintf(&b, "aws_key_%d = AKIAQYLPMN5HHH%06d\n", i, rng.IntN(1000000))
		case 1:
			fmt.Fprintf(&b, "# vigil:ignore\nSLACK=xoxb-2461938475-%d-Zx8yw7vu6ts5rq4po3nm2lk1\n", 1000000+i)
		case 2:
			b.WriteString(pem)
		case 3:
			b.WriteString(strings.Repeat("x", 70000+rng.IntN(90000)) + " db_password = 'Qm7vT2xLp9_" + fmt.Sprint(i) + "'\n")
		default:
			fmt.Fprintf(&b, "line %d of ordinary text with nothing to see %x\n", i, rng.Uint64())
		}
	}
	return b.Bytes()
}

func TestScanReaderMatchesScanFile(t *testing.T) {
	s := New([]byte("k"))
	for seed := uint64(1); seed <= 4; seed++ {
		data := bigText(3*window+12345, seed)
		want := s.ScanFile("big.txt", data)
		var got []Match
		// One byte per Read at times: the windows must not depend on how
		// the reader splits its data.
		r := iotest.HalfReader(bytes.NewReader(data))
		if err := s.ScanReader("big.txt", r, func(m Match) { got = append(got, m) }); err != nil {
			t.Fatal(err)
		}
		if len(want) < 20 {
			t.Fatalf("seed %d: only %d matches in the whole text; the test text is too thin", seed, len(want))
		}
		key := func(m Match) string { return fmt.Sprintf("%d-%d %s %s", m.Line, m.EndLine, m.Rule.ID, m.Hash) }
		ws, gs := map[string]int{}, map[string]int{}
		for _, m := range want {
			ws[key(m)]++
		}
		for _, m := range got {
			gs[key(m)]++
		}
		for k, n := range ws {
			if gs[k] != n {
				t.Errorf("seed %d: %s found %d times streamed, %d times whole", seed, k, gs[k], n)
			}
		}
		for k, n := range gs {
			if ws[k] == 0 {
				t.Errorf("seed %d: %s found %d times streamed, never whole", seed, k, n)
			}
		}
	}
}

func TestScanReaderSkipsBinaryAndReportsErrors(t *testing.T) {
	s := New(nil)
	n := 0
	if err := s.ScanReader("a.bin", bytes.NewReader([]byte("\x00\x01 AKIAQYLPMN5HHHFPZAM2")), func(Match) { n++ }); err != nil || n != 0 {
		t.Fatalf("binary: %d matches, err %v", n, err)
	}
	err := s.ScanReader("broken.txt", iotest.ErrReader(fmt.Errorf("disk on fire")), func(Match) {})
	if err == nil || !strings.Contains(err.Error(), "broken.txt") {
		t.Fatalf("read error not named: %v", err)
	}
}

func BenchmarkScanReader(b *testing.B) {
	data := bigText(32<<20, 7)
	s := New([]byte("k"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ScanReader("big.txt", bytes.NewReader(data), func(Match) {}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOneLine scans the same text as lines and as one line (newlines
// made spaces, as in minified or concatenated files): the one-line form
// must neither crawl nor find more than the lines do.
func BenchmarkOneLine(b *testing.B) {
	lines := bigText(32<<20, 7)
	one := bytes.ReplaceAll(lines, []byte("\n"), []byte(" "))
	s := New([]byte("k"))
	for _, c := range []struct {
		name string
		data []byte
	}{{"lines", lines}, {"one-line", one}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			n := 0
			for b.Loop() {
				n = 0
				if err := s.ScanReader("big.txt", bytes.NewReader(c.data), func(Match) { n++ }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "matches")
		})
	}
}

// The same text as one line finds no more than as lines: long lines are
// searched around their keywords, not whole, and no token is cut in two.
func TestOneLineFindsNoMoreThanLines(t *testing.T) {
	s := New([]byte("k"))
	for seed := uint64(1); seed <= 3; seed++ {
		lines := bigText(3<<20, seed)
		one := bytes.ReplaceAll(lines, []byte("\n"), []byte(" "))
		count := func(data []byte) int {
			n := 0
			if err := s.ScanReader("t.txt", bytes.NewReader(data), func(Match) { n++ }); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if l, o := count(lines), count(one); o > l || l == 0 {
			t.Errorf("seed %d: %d matches as lines, %d as one line", seed, l, o)
		}
	}
}

// On a long line an allowlist marker counts near its match only.
func TestMarkersOnLongLinesReachNearby(t *testing.T) {
	s := New([]byte("k"))
	key := "aws_access_key_id = AKIAQYLPMN5HHHFPZAM2"
	near := strings.Repeat("x ", 5000) + key + " // vigil:ignore"
	far := "// vigil:ignore " + strings.Repeat("x ", 5000) + key
	if n := len(s.ScanFile("near.js", []byte(near))); n != 0 {
		t.Errorf("a marker beside the key did not hold: %d matches", n)
	}
	if n := len(s.ScanFile("far.js", []byte(far))); n == 0 {
		t.Error("a marker 10 KB away on a minified line hid the key")
	}
}
