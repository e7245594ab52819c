package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// ErrNoAgent is returned for an agent the store has never heard of, and
// ErrNoScope for a target none of whose scopes it holds.
var (
	ErrNoAgent = errors.New("agent not found")
	ErrNoScope = errors.New("no scope of this target")
)

// Retired is the resolution of a finding whose agent was retired.
const Retired = "retired"

// RetireAgent retires an agent: every present finding of its scopes is
// resolved with resolution Retired (each with its event), its scopes and
// the agent are marked retired, so that they leave summaries and coverage,
// and an audit entry records who did it and why. It returns the findings
// resolved and the scopes retired; ErrNoAgent when the agent is unknown.
//
// Invariant: a retired agent has no present finding. A heartbeat clears
// the agent's mark and a completed scan its scope's; what the agent then
// reports opens again.
func (w *Writer) RetireAgent(tenant, agent, actor, reason string, now time.Time) (resolved uint64, scopes int, err error) {
	if w.tx.Bucket(bAgents).Get(agentKey(tenant, agent)) == nil {
		return 0, 0, ErrNoAgent
	}
	ts := timestamppb.New(now)
	resolved, scopes, err = w.retireScopes(ts, func(sc *vigilv1.Scope) bool { return sc.GetTenant() == tenant && sc.GetAgent() == agent })
	if err != nil {
		return 0, 0, err
	}
	err = w.touchAgent(tenant, agent, func(a *vigilv1.Agent) {
		a.Retired, a.RetiredAt = true, ts
	})
	if err != nil {
		return 0, 0, err
	}
	return resolved, scopes, w.auditRetire(&vigilv1.AuditEntry{Time: ts, Actor: actor, Action: "retire", Affected: resolved,
		Tenant: tenant, Agent: agent, Reason: reason})
}

// RetireTarget retires the scopes of one target of an agent (of one
// scanner, or of all when scanner is ""), as RetireAgent retires all of
// them: a repository moved away, a cluster torn down. The agent itself
// stays. ErrNoScope when no scope matches.
func (w *Writer) RetireTarget(tenant, agent, target, scanner, actor, reason string, now time.Time) (resolved uint64, scopes int, err error) {
	ts := timestamppb.New(now)
	resolved, scopes, err = w.retireScopes(ts, func(sc *vigilv1.Scope) bool {
		return sc.GetTenant() == tenant && sc.GetAgent() == agent && sc.GetTarget() == target && (scanner == "" || sc.GetScanner() == scanner)
	})
	if err != nil {
		return 0, 0, err
	}
	if scopes == 0 {
		return 0, 0, ErrNoScope
	}
	return resolved, scopes, w.auditRetire(&vigilv1.AuditEntry{Time: ts, Actor: actor, Action: "retire-target", Affected: resolved,
		Tenant: tenant, Agent: agent, Target: target, Scanner: scanner, Reason: reason})
}

// retireScopes resolves, as Retired, every present finding of the scopes
// match accepts, and marks those scopes retired.
func (w *Writer) retireScopes(ts *timestamppb.Timestamp, match func(*vigilv1.Scope) bool) (resolved uint64, scopes int, err error) {
	// The cursors below read the buckets: write what is buffered first.
	if err := w.Flush(); err != nil {
		return 0, 0, err
	}
	var mine []*vigilv1.Scope
	err = w.scopes.ForEach(func(_, v []byte) error {
		sr := &vigilv1.ScopeRecord{}
		if err := proto.Unmarshal(v, sr); err != nil {
			return fmt.Errorf("decode scope: %w", err)
		}
		if match(sr.GetScope()) {
			mine = append(mine, sr.Scope)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	for _, sc := range mine {
		n, err := w.retireScope(sc, ts)
		if err != nil {
			return 0, 0, err
		}
		resolved += n
	}
	return resolved, len(mine), nil
}

// retireScope resolves, as Retired, every present finding of one scope and
// marks it retired. Buffered writes must be flushed first.
func (w *Writer) retireScope(sc *vigilv1.Scope, ts *timestamppb.Timestamp) (uint64, error) {
	sr, sid, err := w.scope(sc)
	if err != nil {
		return 0, err
	}
	var open [][]byte
	cur := w.findings.Cursor()
	for k, v := cur.Seek(sid[:]); k != nil && bytes.HasPrefix(k, sid[:]); k, v = cur.Next() {
		rec, err := w.codec.decode(k, v)
		if err != nil {
			return 0, err
		}
		if present(rec.Stored.Status) {
			open = append(open, bytes.Clone(k))
		}
	}
	for _, k := range open {
		if err := w.resolveAs(k, sr, sid, ts, Retired); err != nil {
			return 0, err
		}
	}
	sr.Retired = true
	w.dirty[sid] = true
	return uint64(len(open)), nil
}

func (w *Writer) auditRetire(e *vigilv1.AuditEntry) error {
	v, err := proto.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	return w.tx.Bucket(bAudit).Put([]byte(newID(e.Time.AsTime())), v)
}

// RetireDue lists the agents, not yet retired, whose last heartbeat is
// older than before (tenant and id).
func (s *Store) RetireDue(before time.Time) ([][2]string, error) {
	var out [][2]string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bAgents).ForEach(func(_, v []byte) error {
			a := &vigilv1.Agent{}
			if err := proto.Unmarshal(v, a); err != nil {
				return fmt.Errorf("decode agent: %w", err)
			}
			if !a.Retired && a.LastHeartbeat != nil && a.LastHeartbeat.AsTime().Before(before) {
				out = append(out, [2]string{a.Tenant, a.Id})
			}
			return nil
		})
	})
	return out, err
}
