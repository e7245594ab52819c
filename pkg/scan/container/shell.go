package container

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// shellCommands parses a RUN script and returns its simple commands as argv
// lists (words that are not plain literals keep their source text), and its
// pipelines as [left argv, right argv] pairs. A script that does not parse
// falls back to whitespace splitting on && ; and |, so checks still see the
// commands of scripts with unusual syntax.
func shellCommands(script string) (cmds, pipes []any) {
	cmds, pipes = []any{}, []any{}
	f, err := syntax.NewParser(syntax.KeepComments(false)).Parse(strings.NewReader(script), "")
	if err != nil {
		return fallbackCommands(script), pipes
	}
	printer := syntax.NewPrinter()
	word := func(w *syntax.Word) string {
		if lit := w.Lit(); lit != "" {
			return lit
		}
		var sb strings.Builder
		if err := printer.Print(&sb, w); err != nil {
			return ""
		}
		return unquote(sb.String())
	}
	argv := func(c *syntax.CallExpr) []any {
		out := make([]any, 0, len(c.Args))
		for _, a := range c.Args {
			out = append(out, word(a))
		}
		return out
	}
	firstCall := func(s *syntax.Stmt) *syntax.CallExpr {
		var found *syntax.CallExpr
		syntax.Walk(s, func(n syntax.Node) bool {
			if found != nil {
				return false
			}
			if c, ok := n.(*syntax.CallExpr); ok && len(c.Args) > 0 {
				found = c
				return false
			}
			return true
		})
		return found
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch t := n.(type) {
		case *syntax.CallExpr:
			if len(t.Args) > 0 {
				cmds = append(cmds, argv(t))
			}
		case *syntax.BinaryCmd:
			if t.Op == syntax.Pipe || t.Op == syntax.PipeAll {
				l, r := firstCall(t.X), firstCall(t.Y)
				if l != nil && r != nil {
					pipes = append(pipes, []any{argv(l), argv(r)})
				}
			}
		}
		return true
	})
	return cmds, pipes
}

func fallbackCommands(script string) []any {
	out := []any{}
	r := strings.NewReplacer("&&", "\n", "||", "\n", ";", "\n", "|", "\n")
	for _, part := range strings.Split(r.Replace(script), "\n") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			continue
		}
		argv := make([]any, len(fields))
		for i, f := range fields {
			argv[i] = f
		}
		out = append(out, argv)
	}
	return out
}
