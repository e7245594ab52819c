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
func unreleased(f *ssa.Function) []Finding {
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
	for _, l := range locks {
		if deferAll || deferred[l.name] || !released[l.name] {
			continue
		}
		if ret := leaks(l.block, l.index+1, l.name); ret != nil {
			out = append(out, Finding{Check: CheckLockNotReleased, Pos: l.pos, Message: fmt.Sprintf(
				"%s is locked here and not unlocked on a path that returns (line %d): the next Lock waits forever",
				l.name, f.Prog.Fset.Position(ret.Pos()).Line)})
		}
	}
	return out
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

// lockPairs lists the (held, taken) pairs of named locks in f, in the
// order of its blocks: a lock taken while another is held.
func lockPairs(f *ssa.Function) map[[2]string]token.Pos {
	out := map[[2]string]token.Pos{}
	var held []string
	for _, b := range f.Blocks {
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
				for i, h := range held {
					if h == name {
						held = append(held[:i], held[i+1:]...)
						break
					}
				}
				continue
			}
			for _, h := range held {
				if h != name {
					if _, seen := out[[2]string{h, name}]; !seen {
						out[[2]string{h, name}] = call.Pos()
					}
				}
			}
			held = append(held, name)
		}
	}
	return out
}
