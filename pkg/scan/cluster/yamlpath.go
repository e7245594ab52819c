package cluster

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// segment is one step of a field path: a mapping key or a sequence index.
type segment struct {
	key   string
	index int
	isIdx bool
}

// parsePath splits "spec.containers[0].securityContext" or
// `metadata.annotations["a.b/c"]` into segments.
func parsePath(p string) ([]segment, error) {
	var segs []segment
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: unclosed [", p)
			}
			inner := p[i+1 : i+end]
			if len(inner) >= 2 && inner[0] == '"' && inner[len(inner)-1] == '"' {
				segs = append(segs, segment{key: inner[1 : len(inner)-1]})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil {
					return nil, fmt.Errorf("path %q: bad index %q", p, inner)
				}
				segs = append(segs, segment{index: n, isIdx: true})
			}
			i += end + 1
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			segs = append(segs, segment{key: p[i:j]})
			i = j
		}
	}
	return segs, nil
}

// lineOf returns the line of the deepest node along path that exists in the
// document, so a finding about a missing field points at its parent. For a
// mapping entry it is the key's line.
func lineOf(root *yaml.Node, path string) int {
	n := root
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return 0
	}
	line := n.Line
	segs, err := parsePath(path)
	if err != nil {
		return line
	}
	for _, s := range segs {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		keyLine := 0
		switch {
		case s.isIdx && n.Kind == yaml.SequenceNode && s.index >= 0 && s.index < len(n.Content):
			next = n.Content[s.index]
			keyLine = next.Line
		case !s.isIdx && n.Kind == yaml.MappingNode:
			for k := 0; k+1 < len(n.Content); k += 2 {
				if n.Content[k].Value == s.key {
					next = n.Content[k+1]
					keyLine = n.Content[k].Line
					break
				}
			}
		}
		if next == nil {
			return line
		}
		n, line = next, keyLine
	}
	return line
}

// joinPath appends a relative field path to a base path.
func joinPath(base, rel string) string {
	switch {
	case rel == "":
		return base
	case base == "":
		return rel
	case strings.HasPrefix(rel, "["):
		return base + rel
	default:
		return base + "." + rel
	}
}
