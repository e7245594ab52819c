package pipeline

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestLenient(t *testing.T) {
	for in, want := range map[string]string{
		"plain: yes\n":             "plain: yes\n",
		"a: caf\xe9\n# \xff\xfe\n": "a: caf\uFFFD\n# \uFFFD\uFFFD\n",
		"bell\x07\ttab\r\n":        "bell\uFFFD\ttab\r\n",
		"nul\x00 del\x7f":          "nul\uFFFD del\uFFFD",
		"c1 \u0085 \u0086":         "c1 \u0085 \uFFFD",
		"emoji 🙂 ok":               "emoji 🙂 ok",
	} {
		got, changed := Lenient([]byte(in))
		if string(got) != want || changed != (in != want) {
			t.Errorf("Lenient(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}

func FuzzLenient(f *testing.F) {
	f.Add([]byte("apiVersion: v1\n# caf\xe9\nkind: Pod\n"))
	f.Add([]byte("\x00\x01\xff\n\r\n\t"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, changed := Lenient(data)
		if !utf8.Valid(out) {
			t.Fatalf("output not UTF-8: %q", out)
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(data, []byte("\n")) {
			t.Fatal("line breaks changed")
		}
		if !changed && !bytes.Equal(out, data) {
			t.Fatal("changed without saying so")
		}
		if again, ch := Lenient(out); ch || !bytes.Equal(again, out) {
			t.Fatal("not idempotent")
		}
	})
}
