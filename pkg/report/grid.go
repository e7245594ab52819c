package report

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// Style is how a table is drawn for its reader.
type Style struct {
	// Width is the terminal's width in columns: long cells wrap onto more
	// lines so that rows fit it. 0 leaves rows as long as they are (a pipe,
	// a file).
	Width int
	// Wide shows every column, nothing left out or wrapped.
	Wide bool
	// Color marks severities with ANSI colours.
	Color bool
}

// TerminalStyle is the style for out: when out is a terminal, its width
// (COLUMNS overrides it) and colour unless NO_COLOR is set or TERM is
// dumb; otherwise plain, unwrapped rows.
func TerminalStyle(out io.Writer, wide bool) Style {
	st := Style{Wide: wide}
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return st
	}
	if w, _, err := term.GetSize(int(f.Fd())); err == nil {
		st.Width = w
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		st.Width = c
	}
	st.Color = os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	return st
}

// column is one column of a grid.
type column struct {
	head string
	// flex columns wrap to share the width the fixed ones leave.
	flex bool
	// severity columns are coloured by their value.
	severity bool
}

// grid is a table of plain cells; write lays it out for a style.
type grid struct {
	cols []column
	rows [][]string
}

func (g *grid) add(cells ...string) {
	for i, c := range cells {
		cells[i] = Text(c)
	}
	g.rows = append(g.rows, cells)
}

// minFlex is the narrowest a wrapping column gets.
const minFlex = 10

// gap separates columns.
const gap = "  "

func width(s string) int { return utf8.RuneCountInString(s) }

// widths are the columns' widths for a style: their natural widths when
// they fit or nothing bounds them; else the fixed columns keep theirs and
// the flexible ones share the rest, a narrow one keeping its own width and
// the wider ones splitting what remains.
func (g *grid) widths(st Style) []int {
	natural := make([]int, len(g.cols))
	for i, c := range g.cols {
		natural[i] = width(c.head)
	}
	for _, r := range g.rows {
		for i, c := range r {
			natural[i] = max(natural[i], width(c))
		}
	}
	total := len(gap) * (len(g.cols) - 1)
	for _, n := range natural {
		total += n
	}
	if st.Width <= 0 || st.Wide || total <= st.Width {
		return natural
	}
	w := append([]int(nil), natural...)
	room := st.Width - len(gap)*(len(g.cols)-1)
	var flex []int
	for i, c := range g.cols {
		if c.flex {
			flex = append(flex, i)
		} else {
			room -= natural[i]
		}
	}
	// Water-filling: columns narrower than an even share keep their width.
	for len(flex) > 0 {
		share := max(room/len(flex), minFlex)
		var rest []int
		for _, i := range flex {
			if natural[i] <= share {
				room -= natural[i]
			} else {
				rest = append(rest, i)
			}
		}
		if len(rest) == len(flex) {
			for k, i := range rest {
				w[i] = share
				if k < room%len(rest) && room/len(rest) >= minFlex {
					w[i]++
				}
			}
			break
		}
		flex = rest
	}
	return w
}

// wrap cuts s into lines of at most n runes, after a space, a slash, a
// comma or a dash where one falls in the line's second half.
func wrap(s string, n int) []string {
	if n <= 0 || width(s) <= n {
		return []string{s}
	}
	var out []string
	r := []rune(s)
	for len(r) > n {
		cut := n
		for i := n; i > n/2; i-- {
			if c := r[i-1]; c == ' ' || c == '/' || c == ',' || c == '-' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		r = r[cut:]
		for len(r) > 0 && r[0] == ' ' {
			r = r[1:]
		}
	}
	if len(r) > 0 {
		out = append(out, string(r))
	}
	return out
}

// severityColor is the ANSI colour of a severity's name.
var severityColor = map[string]string{
	"CRITICAL": "\x1b[1;31m", "HIGH": "\x1b[31m", "MEDIUM": "\x1b[33m", "LOW": "\x1b[34m", "INFO": "\x1b[2m",
}

// write lays the grid out: a header, then each row over as many lines as
// its longest wrapped cell needs.
func (g *grid) write(w io.Writer, st Style) error { return g.lay(w, st, true) }

// writeBody lays the grid out without its header.
func (g *grid) writeBody(w io.Writer, st Style) error { return g.lay(w, st, false) }

func (g *grid) lay(w io.Writer, st Style, header bool) error {
	ws := g.widths(st)
	var b strings.Builder
	line := func(cells []string, colour bool) {
		for i, c := range cells {
			if i > 0 {
				b.WriteString(gap)
			}
			pad := ws[i] - width(c)
			if code := severityColor[c]; colour && g.cols[i].severity && code != "" {
				c = code + c + "\x1b[0m"
			}
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", max(pad, 0)))
			}
		}
		b.WriteString("\n")
	}
	if header {
		head := make([]string, len(g.cols))
		for i, c := range g.cols {
			head[i] = c.head
		}
		line(head, false)
	}
	for _, r := range g.rows {
		parts := make([][]string, len(r))
		height := 1
		for i, c := range r {
			parts[i] = []string{c}
			if g.cols[i].flex {
				parts[i] = wrap(c, ws[i])
			}
			height = max(height, len(parts[i]))
		}
		for l := 0; l < height; l++ {
			cells := make([]string, len(r))
			for i := range r {
				if l < len(parts[i]) {
					cells[i] = parts[i][l]
				}
			}
			// Trailing empty cells of continuation lines leave no spaces.
			last := len(cells)
			for last > 1 && cells[last-1] == "" {
				last--
			}
			line(cells[:last], st.Color && l == 0)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
