package code

import (
	"context"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/checks/checkstest"
)

func TestEveryPatternCheckFailsAndPasses(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := NewPatterns(cat)
	var all []*checks.Check
	for _, c := range p.checks {
		all = append(all, c)
	}
	checkstest.Run(t, "testdata/pattern_cases.yaml", all, func(t *testing.T, src string) map[string]int {
		first, body, _ := strings.Cut(src, "\n")
		name := strings.TrimSpace(strings.TrimPrefix(first, "# file:"))
		fs, err := p.ScanFile(context.Background(), name, []byte(body), "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, f := range fs {
			out[f.CheckId]++
		}
		return out
	})
}
