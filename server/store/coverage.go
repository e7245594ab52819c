package store

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// Coverage staleness: an agent is stale after three of its own heartbeat
// intervals without one (staleAfter when it never said its interval), and
// a scope after three of its agent's scan intervals without a completed
// scan. Agents that scan once, and so have no interval, have no stale scopes.

// AgentStale reports whether an agent has gone silent at now.
func AgentStale(a *vigilv1.Agent, now time.Time, staleAfter time.Duration) bool {
	if a.GetRetired() {
		return false // gone on purpose, not silent
	}
	if a == nil || a.LastHeartbeat == nil {
		return true
	}
	if a.HeartbeatIntervalSeconds > 0 {
		staleAfter = StaleAfter(time.Duration(a.HeartbeatIntervalSeconds) * time.Second)
	}
	return now.Sub(a.LastHeartbeat.AsTime()) > staleAfter
}

// ScopeStale reports whether a scope has gone three of its agent's scan
// intervals without a completed scan at now.
func ScopeStale(sr *vigilv1.ScopeRecord, a *vigilv1.Agent, now time.Time) bool {
	if sr.Retired || a.GetRetired() || a.GetScanIntervalSeconds() == 0 || sr.LastScanTime == nil {
		return false
	}
	return now.Sub(sr.LastScanTime.AsTime()) > 3*time.Duration(a.ScanIntervalSeconds)*time.Second
}

// agentsByKey reads every agent record.
func agentsByKey(tx *bolt.Tx) (map[string]*vigilv1.Agent, error) {
	out := map[string]*vigilv1.Agent{}
	err := tx.Bucket(bAgents).ForEach(func(k, v []byte) error {
		a := &vigilv1.Agent{}
		if err := proto.Unmarshal(v, a); err != nil {
			return fmt.Errorf("decode agent: %w", err)
		}
		out[string(k)] = a
		return nil
	})
	return out, err
}

// coverageQuery is a ListCoverageRequest with the caller's tenants.
type coverageQuery struct {
	req     *vigilv1.ListCoverageRequest
	tenants []string
}

func (q coverageQuery) tenant(t string) bool {
	return (q.req.Tenant == "" || t == q.req.Tenant) && (len(q.tenants) == 0 || slices.Contains(q.tenants, t))
}

// scope reports whether a scope record matches the query's fields.
func (q coverageQuery) scope(sr *vigilv1.ScopeRecord) bool {
	sc, r := sr.Scope, q.req
	if !q.tenant(sc.GetTenant()) || r.Agent != "" && sc.GetAgent() != r.Agent ||
		r.Scanner != "" && sc.GetScanner() != r.Scanner || r.Target != "" && sc.GetTarget() != r.Target {
		return false
	}
	return r.Reason == 0 || slices.ContainsFunc(sr.GetCoverage().GetNotAssessed(), func(e *vigilv1.ScanError) bool { return e.Reason == r.Reason })
}

// Coverage pages through the scopes that match req, in key order, with
// what their last completed scan assessed. tenants, when not empty, are
// the only tenants the caller may see.
func (s *Store) Coverage(req *vigilv1.ListCoverageRequest, tenants []string, now time.Time, staleAfter time.Duration) (*vigilv1.ListCoverageResponse, error) {
	size := int(req.PageSize)
	if size <= 0 || size > 1000 {
		size = 100
	}
	var after []byte
	if req.PageToken != "" {
		var err error
		if after, err = hex.DecodeString(req.PageToken); err != nil {
			return nil, ErrBadToken
		}
	}
	q := coverageQuery{req, tenants}
	resp := &vigilv1.ListCoverageResponse{}
	err := s.db.View(func(tx *bolt.Tx) error {
		agents, err := agentsByKey(tx)
		if err != nil {
			return err
		}
		var last []byte
		c := tx.Bucket(bScopes).Cursor()
		k, v := c.First()
		if after != nil {
			if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			sr := &vigilv1.ScopeRecord{}
			if err := proto.Unmarshal(v, sr); err != nil {
				return fmt.Errorf("decode scope %x: %w", k, err)
			}
			if !q.scope(sr) {
				continue
			}
			a := agents[string(agentKey(sr.Scope.GetTenant(), sr.Scope.GetAgent()))]
			row := &vigilv1.ScopeCoverage{Scope: sr.Scope, Coverage: sr.Coverage, LastScanTime: sr.LastScanTime, Retired: sr.Retired || a.GetRetired(),
				Stale: ScopeStale(sr, a, now), AgentStale: AgentStale(a, now, staleAfter)}
			if req.Stale && !row.Stale && !row.AgentStale {
				continue
			}
			if len(resp.Scopes) == size {
				resp.NextPageToken = hex.EncodeToString(last)
				break
			}
			resp.Scopes = append(resp.Scopes, row)
			last = append(last[:0], k...)
		}
		if req.Stale && req.PageToken == "" {
			resp.StaleAgents = staleAgents(agents, q, now, staleAfter)
		}
		return nil
	})
	return resp, err
}

// staleAgents are the query's agents gone silent, in key order.
func staleAgents(agents map[string]*vigilv1.Agent, q coverageQuery, now time.Time, staleAfter time.Duration) []*vigilv1.Agent {
	var out []*vigilv1.Agent
	for _, a := range agents {
		if q.tenant(a.Tenant) && (q.req.Agent == "" || a.Id == q.req.Agent) && AgentStale(a, now, staleAfter) {
			a.Stale = true
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y *vigilv1.Agent) int {
		return bytes.Compare(agentKey(x.Tenant, x.Id), agentKey(y.Tenant, y.Id))
	})
	return out
}

// CoverageChange is a blind spot that appeared (Lost) or went away: a
// whole agent (Scope nil) or one scope of it.
type CoverageChange struct {
	Lost          bool
	Tenant, Agent string
	Scope         *vigilv1.Scope
	// Since is the agent's last heartbeat or the scope's last scan.
	Since time.Time
	// Episode names the blind spot the change opens or closes, by times
	// every server holds alike (the agent's clock): the last heartbeat
	// sent or scan finished before it. A lost and its restored event share
	// it, and servers of one fleet announcing the same change give it the
	// same event id.
	Episode time.Time
}

// CoverageChanges lists the agents and scopes whose staleness differs from
// what was last announced. A stale agent is one change, not one per scope:
// its scopes are announced on their own only while it is heard from.
func (s *Store) CoverageChanges(now time.Time, staleAfter time.Duration) ([]CoverageChange, error) {
	var out []CoverageChange
	err := s.db.View(func(tx *bolt.Tx) error {
		agents, err := agentsByKey(tx)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(agents))
		for k := range agents {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			a := agents[k]
			if stale := AgentStale(a, now, staleAfter); stale != a.CoverageLost {
				episode := a.GetLostSince()
				if stale {
					episode = cmpTime(a.GetLastHeartbeatSent(), a.GetLastHeartbeat())
				}
				out = append(out, CoverageChange{Lost: stale, Tenant: a.Tenant, Agent: a.Id, Since: a.GetLastHeartbeat().AsTime(), Episode: episode.AsTime()})
			}
		}
		return tx.Bucket(bScopes).ForEach(func(k, v []byte) error {
			sr := &vigilv1.ScopeRecord{}
			if err := proto.Unmarshal(v, sr); err != nil {
				return fmt.Errorf("decode scope %x: %w", k, err)
			}
			a := agents[string(agentKey(sr.Scope.GetTenant(), sr.Scope.GetAgent()))]
			stale := ScopeStale(sr, a, now)
			if stale == sr.Stale || stale && AgentStale(a, now, staleAfter) {
				return nil
			}
			episode := sr.GetStaleSince()
			if stale {
				episode = sr.GetLastScanTime()
			}
			out = append(out, CoverageChange{Lost: stale, Tenant: sr.Scope.GetTenant(), Agent: sr.Scope.GetAgent(), Scope: sr.Scope,
				Since: sr.GetLastScanTime().AsTime(), Episode: episode.AsTime()})
			return nil
		})
	})
	return out, err
}

// MarkCoverage records that a change was announced, so it is announced once.
func (w *Writer) MarkCoverage(c CoverageChange) error {
	var since *timestamppb.Timestamp
	if c.Lost {
		since = timestamppb.New(c.Episode)
	}
	if c.Scope == nil {
		return w.touchAgent(c.Tenant, c.Agent, func(a *vigilv1.Agent) { a.CoverageLost, a.LostSince = c.Lost, since })
	}
	sr, sid, err := w.scope(c.Scope)
	if err != nil {
		return err
	}
	sr.Stale, sr.StaleSince = c.Lost, since
	w.dirty[sid] = true
	return nil
}

// cmpTime is the first time that is set.
func cmpTime(ts ...*timestamppb.Timestamp) *timestamppb.Timestamp {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}
