package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Limits on a configuration file, checked before the HCL parser sees it:
// the parser recurses once per nesting level, so a file of 50,000 nested
// braces would exhaust the stack and kill the process.
const (
	// MaxFileSize bounds one .tf or .tfvars file.
	MaxFileSize = 32 << 20
	// MaxNesting bounds brackets, braces and parentheses open at once.
	// Real configurations stay far below it.
	MaxNesting = 500
)

// nesting returns the deepest bracket nesting of src. It counts every
// bracket, inside strings and comments too: that can only over-count, and
// interpolations inside strings are expressions the parser recurses into.
func nesting(src []byte) int {
	depth, deepest := 0, 0
	for _, c := range src {
		switch c {
		case '{', '[', '(':
			depth++
			deepest = max(deepest, depth)
		case '}', ']', ')':
			depth = max(0, depth-1)
		}
	}
	return deepest
}

// parseHCL parses one file after checking its size and nesting.
func parseHCL(p *hclparse.Parser, src []byte, name string) (*hcl.File, error) {
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, over the %d byte limit", name, len(src), MaxFileSize)
	}
	if d := nesting(src); d > MaxNesting {
		return nil, fmt.Errorf("%s: brackets nest %d deep, over the limit of %d", name, d, MaxNesting)
	}
	file, diags := p.ParseHCL(src, name)
	if diags.HasErrors() {
		return file, fmt.Errorf("%s: %s", name, firstError(diags))
	}
	return file, nil
}
