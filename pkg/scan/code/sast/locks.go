package sast

import (
	"fmt"
	"go/token"
	"go/types"
	"sort"

	"golang.org/x/tools/go/ssa"
)

// Lock check ids.
const (
	CheckLockNotReleased = "VGL-CODE-142"
	CheckLockOrder       = "VGL-CODE-143"
)

// lockMethods are the calls that take and release a lock, by full name.
var (
	lockCalls   = map[string]bool{"(*sync.Mutex).Lock": true, "(*sync.RWMutex).Lock": true, "(*sync.RWMutex).RLock": true}
	unlockCalls = map[string]bool{"(*sync.Mutex).Unlock": true, "(*sync.RWMutex).Unlock": true, "(*sync.RWMutex).RUnlock": true}
)

// lockOf names the lock a call takes or releases: a field of a struct
// type (the same field in every value of the type, which is what lock
// ordering is about), a package variable, or, for a local lock, the SSA
// value itself. ok is false for calls that are neither.
func lockOf(c *ssa.CallCommon) (name string, lock, ok bool) {
	fn := calleeName(c)
	lock, unlock := lockCalls[fn], unlockCalls[fn]
	if (!lock && !unlock) || len(c.Args) == 0 {
		return "", false, false
	}
	return lockName(c.Args[0]), lock, true
}

func lockName(v ssa.Value) string {
	switch x := v.(type) {
	case *ssa.FieldAddr:
		if st, ok := x.X.Type().Underlying().(*types.Pointer); ok {
			if s, ok := st.Elem().Underlying().(*types.Struct); ok && x.Field < s.NumFields() {
				return types.TypeString(st.Elem(), nil) + "." + s.Field(x.Field).Name()
			}
		}
	case *ssa.Global:
		return x.String()
	}
	return fmt.Sprintf("%p", v)
}

// runLocks finds locks taken and not released on some path to a return,
// and pairs of locks two functions take in opposite orders.
func runLocks(funcs []*ssa.Function) []Finding {
	var out []Finding
	type order struct {
		pos token.Pos
		fn  string
	}
	orders := map[[2]string]order{} // (held, taken) → first place
	for _, f := range funcs {
		out = append(out, unreleased(f)...)
		for pair, pos := range lockPairs(f) {
			if _, ok := orders[pair]; !ok {
				orders[pair] = order{pos, f.String()}
			}
		}
	}
	var pairs [][2]string
	for p := range orders {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0]+pairs[i][1] < pairs[j][0]+pairs[j][1] })
	for _, p := range pairs {
		rev, ok := orders[[2]string{p[1], p[0]}]
		if !ok || p[0] > p[1] {
			continue
		}
		here := orders[p]
		out = append(out, Finding{Check: CheckLockOrder, Pos: here.pos, Message: fmt.Sprintf(
			"%s takes %s while holding %s, and %s takes them in the opposite order: two goroutines running them can deadlock",
			shortName(here.fn), p[1], p[0], shortName(rev.fn))})
	}
	return out
}

// unreleased reports each lock of f that some path from it reaches a
// return without releasing while another path releases it: the early
// return that forgets the Unlock. A function that never releases a lock
// it takes hands it over on purpose (a lock() helper), and one that defers
// the release (directly or in a deferred closure) releases it everywhere.
// A function whose caller holds the lock (it releases before it takes)
// re-takes it before returning on purpose, and the body of a range over a
// function is left alone: its returns end an iteration, not the function.
func unreleased(f *ssa.Function) []Finding {
	if f.Synthetic != "" {
		return nil
	}
	deferred := map[string]bool{}
	released := map[string]bool{}
	deferAll := false
	type site struct {
		name  string
		block *ssa.BasicBlock
		index int
		pos   token.Pos
	}
	var locks []site
	for _, b := range f.Blocks {
		for i, ins := range b.Instrs {
			switch ins := ins.(type) {
			case *ssa.Defer:
				if name, lock, ok := lockOf(&ins.Call); ok && !lock {
					deferred[name] = true
				} else if g := ins.Call.StaticCallee(); g != nil && g.Parent() != nil && unlocksAny(g) {
					deferAll = true // defer func() { …; mu.Unlock() }()
				}
			case *ssa.Call:
				if name, lock, ok := lockOf(&ins.Call); ok && lock {
					locks = append(locks, site{name, b, i, ins.Pos()})
				} else if ok {
					released[name] = true
				}
			}
		}
	}
	var out []Finding
	yields := rangeBodies(f)
	for _, l := range locks {
		if deferAll || deferred[l.name] || !released[l.name] || yields[l.name] || heldOnEntry(f, l.name) {
			continue
		}
		if ret := leaks(l.block, l.index+1, l.name); ret != nil {
			where := "at the end of the function"
			if ret.Pos().IsValid() {
				where = fmt.Sprintf("at line %d", f.Prog.Fset.Position(ret.Pos()).Line)
			}
			out = append(out, Finding{Check: CheckLockNotReleased, Pos: l.pos, Message: fmt.Sprintf(
				"%s is locked here and a path returns %s without unlocking it: the next Lock waits forever",
				l.name, where)})
		}
	}
	return out
}

// rangeBodies names the locks the range-over-func loop bodies of f
// release: their control flow is the iterator's, which the paths of f do
// not show.
func rangeBodies(f *ssa.Function) map[string]bool {
	out := map[string]bool{}
	for _, g := range f.AnonFuncs {
		if g.Synthetic == "" {
			continue
		}
		for _, b := range g.Blocks {
			for _, ins := range b.Instrs {
				if c, ok := ins.(ssa.CallInstruction); ok {
					if name, lock, ok := lockOf(c.Common()); ok && !lock {
						out[name] = true
					}
				}
			}
		}
		for n := range rangeBodies(g) {
			out[n] = true
		}
	}
	return out
}

// heldOnEntry reports whether some path from the entry of f releases the
// lock before taking it: f is called with the lock held.
func heldOnEntry(f *ssa.Function, name string) bool {
	if len(f.Blocks) == 0 {
		return false
	}
	seen := map[*ssa.BasicBlock]bool{f.Blocks[0]: true}
	stack := []*ssa.BasicBlock{f.Blocks[0]}
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		first := false // a lock op on this lock ends the path
		for _, ins := range b.Instrs {
			c, ok := ins.(*ssa.Call)
			if !ok {
				continue
			}
			if n, lock, ok := lockOf(&c.Call); ok && n == name {
				if !lock {
					return true
				}
				first = true
				break
			}
		}
		if first {
			continue
		}
		for _, s := range b.Succs {
			if !seen[s] {
				seen[s] = true
				stack = append(stack, s)
			}
		}
	}
	return false
}

// unlocksAny reports whether f releases some lock.
func unlocksAny(f *ssa.Function) bool {
	for _, b := range f.Blocks {
		for _, ins := range b.Instrs {
			if c, ok := ins.(ssa.CallInstruction); ok {
				if _, lock, ok := lockOf(c.Common()); ok && !lock {
					return true
				}
			}
		}
	}
	return false
}

// leaks returns a return instruction reachable from instruction i of b
// without a release of the lock name, nil when every path releases it.
// Paths that end in a panic are not returns.
func leaks(b *ssa.BasicBlock, i int, name string) *ssa.Return {
	seen := map[*ssa.BasicBlock]bool{}
	var walk func(b *ssa.BasicBlock, i int) *ssa.Return
	walk = func(b *ssa.BasicBlock, i int) *ssa.Return {
		for ; i < len(b.Instrs); i++ {
			switch ins := b.Instrs[i].(type) {
			case *ssa.Call:
				if n, lock, ok := lockOf(&ins.Call); ok && !lock && n == name {
					return nil
				}
				if g := ins.Call.StaticCallee(); g != nil && g.Blocks != nil && unlocksAny(g) {
					return nil // a helper of the package that releases it
				}
			case *ssa.Return:
				return ins
			case *ssa.Panic:
				return nil
			}
		}
		for _, s := range b.Succs {
			if seen[s] {
				continue
			}
			seen[s] = true
			if r := walk(s, 0); r != nil {
				return r
			}
		}
		return nil
	}
	return walk(b, i)
}

// lockPairs lists the (held, taken) pairs of named locks in f: a lock
// taken while another is held on every path that reaches the Lock (a
// forward must-analysis over the blocks, so a release in one branch is
// not mistaken for a hold in the next).
func lockPairs(f *ssa.Function) map[[2]string]token.Pos {
	out := map[[2]string]token.Pos{}
	if len(f.Blocks) == 0 {
		return out
	}
	in := make([]map[string]bool, len(f.Blocks)) // nil: not reached yet
	in[0] = map[string]bool{}
	// transfer applies the lock calls of b to a copy of held; record adds
	// the pairs it sees.
	transfer := func(b *ssa.BasicBlock, held map[string]bool, record bool) map[string]bool {
		h := make(map[string]bool, len(held))
		for k := range held {
			h[k] = true
		}
		for _, ins := range b.Instrs {
			call, ok := ins.(*ssa.Call)
			if !ok {
				continue
			}
			name, lock, ok := lockOf(&call.Call)
			if !ok || name[0] == '0' { // a local lock has no order to keep with others
				continue
			}
			if !lock {
				delete(h, name)
				continue
			}
			if record {
				for held := range h {
					if _, seen := out[[2]string{held, name}]; held != name && !seen {
						out[[2]string{held, name}] = call.Pos()
					}
				}
			}
			h[name] = true
		}
		return h
	}
	for changed := true; changed; {
		changed = false
		for _, b := range f.Blocks {
			if in[b.Index] == nil {
				continue
			}
			o := transfer(b, in[b.Index], false)
			for _, s := range b.Succs {
				if in[s.Index] == nil {
					in[s.Index], changed = o, true
					continue
				}
				for k := range in[s.Index] {
					if !o[k] {
						delete(in[s.Index], k)
						changed = true
					}
				}
			}
		}
	}
	for _, b := range f.Blocks {
		if in[b.Index] != nil {
			transfer(b, in[b.Index], true)
		}
	}
	return out
}
