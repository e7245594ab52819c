package secret

// keywords finds which of a set of lower-case keywords occur in a text in
// one pass (an Aho-Corasick automaton over ASCII-case-folded bytes), so
// that a rule's expression runs only on texts holding one of its keywords.
type keywords struct {
	// class maps a byte to its column in next: bytes that appear in no
	// keyword share column 0, and upper-case letters take their lower
	// case's, so the table is a few dozen columns wide rather than 256.
	class [256]uint16
	width int
	// shift is log2 of the table's row length, width rounded up to a
	// power of two, so a step shifts rather than multiplies.
	shift uint
	// next[state<<shift|class[b]] is the state after reading byte b; the
	// automaton is complete (failure links folded in), so a pass never
	// backtracks.
	next []int32
	// out[state] lists the keyword ids that end at state, its suffixes'
	// included.
	out   [][]int
	words []string
}

func newKeywords(words []string) *keywords {
	type node struct {
		child map[byte]int
		fail  int
		out   []int
	}
	nodes := []node{{child: map[byte]int{}}}
	for id, w := range words {
		s := 0
		for i := 0; i < len(w); i++ {
			c := lower(w[i])
			n, ok := nodes[s].child[c]
			if !ok {
				n = len(nodes)
				nodes = append(nodes, node{child: map[byte]int{}})
				nodes[s].child[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, id)
	}
	k := &keywords{out: make([][]int, len(nodes)), words: words}
	reps := []byte{0} // the byte each column stands for; column 0 matches no child
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if c := lower(w[i]); k.class[c] == 0 {
				k.class[c] = uint16(len(reps))
				reps = append(reps, c)
			}
		}
	}
	for b := 0; b < 256; b++ {
		k.class[b] = k.class[lower(byte(b))]
	}
	k.width = len(reps)
	for 1<<k.shift < k.width {
		k.shift++
	}
	k.next = make([]int32, len(nodes)<<k.shift)
	// Breadth-first: a node's failure state is finished before its children.
	queue := []int{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		k.out[s] = append(nodes[s].out, k.out[nodes[s].fail]...)
		if s == 0 {
			k.out[s] = nodes[s].out
		}
		for col, c := range reps {
			if n, ok := nodes[s].child[c]; ok && col > 0 {
				if s != 0 {
					nodes[n].fail = int(k.next[nodes[s].fail<<k.shift|col])
				}
				k.next[s<<k.shift|col] = int32(n)
				queue = append(queue, n)
			} else if s != 0 {
				k.next[s<<k.shift|col] = k.next[nodes[s].fail<<k.shift|col]
			}
		}
	}
	return k
}

// lines calls fn for each line of data (without its newline) with the ids
// of the keywords on it, each once. ids is reused between calls.
func (k *keywords) lines(data []byte, fn func(start, end int, ids []int)) {
	var ids []int
	mark := make([]int, len(k.words)) // keyword id → 1 + start of the line it was last seen on
	s, ls := int32(0), 0
	for i, b := range data {
		if b == '\n' {
			fn(ls, i, ids)
			ids, s, ls = ids[:0], 0, i+1
			continue
		}
		s = k.step(s, b)
		for _, id := range k.out[s] {
			if mark[id] != ls+1 {
				mark[id] = ls + 1
				ids = append(ids, id)
			}
		}
	}
	if ls < len(data) {
		fn(ls, len(data), ids)
	}
}

// step is the state after reading b in state s.
func (k *keywords) step(s int32, b byte) int32 {
	return k.next[int(s)<<k.shift|int(k.class[b])]
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
