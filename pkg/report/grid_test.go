package report

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want []string
	}{
		{"short", 10, []string{"short"}},
		{"examples/payments/reconcile-cronjob.yaml:16", 22, []string{"examples/payments/", "reconcile-cronjob.yaml", ":16"}},
		{"Container can run as root", 12, []string{"Container", "can run as", "root"}},
		{"aaaaaaaaaaaaaaaaaaaaaaaaa", 10, []string{"aaaaaaaaaa", "aaaaaaaaaa", "aaaaa"}},
		{"日本語のテキストを折り返す", 5, []string{"日本語のテ", "キストを折", "り返す"}},
		{"anything", 0, []string{"anything"}},
	} {
		got := wrap(c.in, c.n)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		for _, l := range got {
			if c.n > 0 && utf8.RuneCountInString(l) > c.n {
				t.Errorf("wrap(%q, %d): line %q too long", c.in, c.n, l)
			}
		}
	}
}

// Fixed columns keep their width; flexible ones share the rest, a narrow
// one keeping its own; with no width (a pipe) nothing is bounded.
func TestGridWidths(t *testing.T) {
	g := &grid{cols: []column{{head: "SEVERITY"}, {head: "TITLE", flex: true}, {head: "R", flex: true}, {head: "LOCATION", flex: true}}}
	g.add("CRITICAL", strings.Repeat("t", 60), "pod", strings.Repeat("l", 60))
	w := g.widths(Style{Width: 60})
	if w[0] != 8 || w[2] != 3 {
		t.Fatalf("widths %v: the fixed and the narrow column must keep theirs", w)
	}
	total := 3 * len(gap)
	for _, n := range w {
		total += n
	}
	if total != 60 || w[1] < minFlex || w[3] < minFlex {
		t.Fatalf("widths %v sum to %d, want 60", w, total)
	}
	if w := g.widths(Style{}); w[1] != 60 || w[3] != 60 {
		t.Fatalf("without a width: %v", w)
	}
	var b strings.Builder
	if err := g.write(&b, Style{Width: 60}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		if utf8.RuneCountInString(l) > 60 || strings.HasSuffix(l, " ") {
			t.Errorf("line %q: over 60 columns or trailing spaces", l)
		}
	}
}
