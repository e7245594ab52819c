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

// ErrNoAgent is returned for an agent the store has never heard of.
var ErrNoAgent = errors.New("agent not found")

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
		if sr.GetScope().GetTenant() == tenant && sr.GetScope().GetAgent() == agent {
			mine = append(mine, sr.Scope)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	ts := timestamppb.New(now)
	for _, sc := range mine {
		sr, sid, err := w.scope(sc)
		if err != nil {
			return 0, 0, err
		}
		var open [][]byte
		cur := w.findings.Cursor()
		for k, v := cur.Seek(sid[:]); k != nil && bytes.HasPrefix(k, sid[:]); k, v = cur.Next() {
			rec, err := decodeRecord(k, v)
			if err != nil {
				return 0, 0, err
			}
			if present(rec.Stored.Status) {
				open = append(open, bytes.Clone(k))
			}
		}
		for _, k := range open {
			if err := w.resolveAs(k, sr, sid, ts, Retired); err != nil {
				return 0, 0, err
			}
		}
		resolved += uint64(len(open))
		sr.Retired = true
		w.dirty[sid] = true
	}
	err = w.touchAgent(tenant, agent, func(a *vigilv1.Agent) {
		a.Retired, a.RetiredAt = true, ts
	})
	if err != nil {
		return 0, 0, err
	}
	v, err := proto.Marshal(&vigilv1.AuditEntry{Time: ts, Actor: actor, Action: "retire", Affected: resolved,
		Tenant: tenant, Agent: agent, Reason: reason})
	if err != nil {
		return 0, 0, fmt.Errorf("encode audit entry: %w", err)
	}
	if err := w.tx.Bucket(bAudit).Put([]byte(newID(now)), v); err != nil {
		return 0, 0, err
	}
	return resolved, len(mine), nil
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
