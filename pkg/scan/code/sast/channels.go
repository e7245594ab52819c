package sast

import (
	"fmt"
	"go/constant"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// CheckChannelSend is the id of the check for sends on unbuffered channels
// that no receive can take.
const CheckChannelSend = "VGL-CODE-144"

// chanUses is every place a channel made in one function is used, found by
// following it through local variables, closures and phis. escaped is set
// when it leaves what the analysis can see (a call, a store elsewhere, a
// return, an interface): then nothing is reported.
type chanUses struct {
	sends    []chanSend
	recvs    []recvAt
	escaped  bool
	launched map[*ssa.Function]bool // closures started with go
}

type chanSend struct {
	pos token.Pos
	fn  *ssa.Function
}

// recvAt is a receive; sel is the select that holds it, if any.
type recvAt struct {
	sel *ssa.Select
}

// runChannels reports sends on unbuffered channels made in a function
// that nothing receives: either no receive exists at all, or every receive
// sits in one select that can take another case (a timeout, a context, a
// default) while the sending goroutine waits forever.
func runChannels(funcs []*ssa.Function) []Finding {
	var out []Finding
	for _, f := range funcs {
		for _, b := range f.Blocks {
			for _, ins := range b.Instrs {
				mc, ok := ins.(*ssa.MakeChan)
				if !ok || !unbuffered(mc) {
					continue
				}
				if fd, ok := judgeChannel(mc); ok {
					out = append(out, fd)
				}
			}
		}
	}
	return out
}

func unbuffered(mc *ssa.MakeChan) bool {
	c, ok := mc.Size.(*ssa.Const)
	if !ok || c.Value == nil {
		return false
	}
	n, exact := constant.Int64Val(constant.ToInt(c.Value))
	return exact && n == 0
}

func judgeChannel(mc *ssa.MakeChan) (Finding, bool) {
	u := &chanUses{launched: map[*ssa.Function]bool{}}
	u.follow(mc, map[ssa.Value]bool{})
	if u.escaped || len(u.sends) == 0 {
		return Finding{}, false
	}
	send := u.sends[0]
	if len(u.recvs) == 0 {
		return Finding{Check: CheckChannelSend, Pos: send.pos, Message: fmt.Sprintf(
			"send on an unbuffered channel made in %s that nothing receives from: the sender blocks forever (a deadlock, or a leaked goroutine)",
			mc.Parent().Name())}, true
	}
	// Every receive must be a case of a select that can go another way,
	// outside any loop (a loop would come back to receive), and every send
	// must run in a goroutine of its own.
	for _, r := range u.recvs {
		if r.sel == nil || (r.sel.Blocking && len(r.sel.States) < 2) || inLoop(r.sel.Block()) {
			return Finding{}, false
		}
	}
	for _, s := range u.sends {
		if !u.launched[s.fn] {
			return Finding{}, false
		}
	}
	line := mc.Parent().Prog.Fset.Position(u.recvs[0].sel.Pos()).Line
	return Finding{Check: CheckChannelSend, Pos: send.pos, Message: fmt.Sprintf(
		"a goroutine sends on an unbuffered channel whose only receive is a case of the select at line %d: when the select takes another case, nothing receives and the goroutine blocks forever (goroutine leak); give the channel a buffer of one",
		line)}, true
}

// follow walks the uses of v, a channel or the address of a variable
// holding it.
func (u *chanUses) follow(v ssa.Value, seen map[ssa.Value]bool) {
	if seen[v] || u.escaped {
		return
	}
	seen[v] = true
	refs := v.Referrers()
	if refs == nil {
		return
	}
	for _, ins := range *refs {
		switch x := ins.(type) {
		case *ssa.DebugRef:
		case *ssa.Send:
			if x.Chan != v {
				u.escaped = true // the channel itself sent as a value
				return
			}
			u.sends = append(u.sends, chanSend{x.Pos(), x.Parent()})
		case *ssa.UnOp:
			switch {
			case x.Op == token.ARROW:
				u.recvs = append(u.recvs, recvAt{})
			case x.Op == token.MUL && isPointer(v):
				u.follow(x, seen)
			default:
				u.escaped = true
			}
		case *ssa.Select:
			for _, st := range x.States {
				if st.Chan != v {
					continue
				}
				if st.Dir == types.SendOnly {
					u.sends = append(u.sends, chanSend{st.Pos, x.Parent()})
				} else {
					u.recvs = append(u.recvs, recvAt{sel: x})
				}
			}
			if selectSends(x, v) {
				u.escaped = true
			}
		case *ssa.Store:
			// Storing the channel into a local variable: follow the
			// variable. Storing another value into that variable, or the
			// channel anywhere else, loses track of it.
			if x.Addr == v && seen[x.Val] {
				continue
			}
			if a, ok := x.Addr.(*ssa.Alloc); ok && x.Val == v {
				u.follow(a, seen)
				continue
			}
			u.escaped = true
		case *ssa.Phi, *ssa.ChangeType:
			u.follow(x.(ssa.Value), seen)
		case *ssa.MakeClosure:
			fn := x.Fn.(*ssa.Function)
			for i, b := range x.Bindings {
				if b == v && i < len(fn.FreeVars) {
					u.follow(fn.FreeVars[i], seen)
				}
			}
			if cr := x.Referrers(); cr != nil {
				for _, r := range *cr {
					if g, ok := r.(*ssa.Go); ok && g.Call.Value == x {
						u.launched[fn] = true
					}
				}
			}
		case *ssa.Call:
			if b, ok := x.Call.Value.(*ssa.Builtin); ok && (b.Name() == "close" || b.Name() == "len" || b.Name() == "cap") {
				continue
			}
			u.escaped = true
		default:
			u.escaped = true
		}
	}
}

// selectSends reports whether a select sends v itself as a value.
func selectSends(s *ssa.Select, v ssa.Value) bool {
	for _, st := range s.States {
		if st.Send == v {
			return true
		}
	}
	return false
}

func isPointer(v ssa.Value) bool {
	_, ok := v.Type().Underlying().(*types.Pointer)
	return ok
}

// inLoop reports whether control can come back to block b.
func inLoop(b *ssa.BasicBlock) bool {
	seen := map[*ssa.BasicBlock]bool{}
	stack := append([]*ssa.BasicBlock(nil), b.Succs...)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x == b {
			return true
		}
		if seen[x] {
			continue
		}
		seen[x] = true
		stack = append(stack, x.Succs...)
	}
	return false
}
