package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/ocsf"
	"github.com/vigilsec/vigil/pkg/version"
)

// Quotas bound what one agent may put through ingest, so that one agent,
// broken or hostile, cannot flood the store. Zero means no bound.
type Quotas struct {
	// FindingsPerScan bounds the findings one scan of one scope carries.
	FindingsPerScan int
	// BytesPerMinute bounds the message bytes one agent sends, as a token
	// bucket that holds a minute's worth.
	BytesPerMinute int64
}

// Invariants of quota:
//   - A scan that goes over a bound is refused from that message on: that
//     message and every later one of the scan, its ScanCompleted too, go to
//     the dead-letter stream (reason quota), so the scope keeps the state of
//     its last whole scan and no partial set resolves anything. One
//     ingest.quota event announces it.
//   - Refused messages take nothing from the agent's byte budget, so the
//     agent's other scopes go on once the budget refills.
//   - Only a message's first delivery is counted: a redelivery after a
//     failed commit does not count twice.
//   - The state is bounded: scans are forgotten when they complete or
//     after scanMemory, byte buckets of agents quiet for a minute.
type quota struct {
	limits Quotas

	mu      sync.Mutex
	buckets map[string]*bucket
	scans   map[string]*scanUse
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

type scanUse struct {
	findings int
	refused  bool
	seen     time.Time
}

// scanMemory is how long an unfinished scan's count is kept.
const scanMemory = time.Hour

// maxScans bounds the scans tracked at once; past it the oldest go.
const maxScans = 100_000

func newQuota(limits Quotas) *quota {
	return &quota{limits: limits, buckets: map[string]*bucket{}, scans: map[string]*scanUse{}}
}

// refusal says why a scan went over its agent's quota.
type refusal struct {
	scope  *vigilv1.Scope
	scanID string
	what   string
}

// admit counts a decoded message against its agent's quota and returns a
// refusal when it must be dead-lettered; first is set when this message is
// the one that went over (the refusal is to be announced).
func (q *quota) admit(sm *vigilv1.ScanMessage, size int, firstDelivery bool, now time.Time) (r *refusal, first bool) {
	if q.limits.FindingsPerScan <= 0 && q.limits.BytesPerMinute <= 0 {
		return nil, false
	}
	scope, scanID, findings := scanOf(sm)
	sid := finding.ScopeID(scope)
	key := string(sid[:]) + scanID
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sweep(now)
	use := q.scans[key]
	if use == nil {
		use = &scanUse{}
		q.scans[key] = use
	}
	use.seen = now
	if sm.GetCompleted() != nil {
		delete(q.scans, key)
	}
	if use.refused {
		return &refusal{scope: scope, scanID: scanID, what: "an earlier message of this scan went over the quota"}, false
	}
	if !firstDelivery {
		return nil, false
	}
	if lim := q.limits.FindingsPerScan; lim > 0 && use.findings+findings > lim {
		use.refused = true
		return &refusal{scope: scope, scanID: scanID, what: fmt.Sprintf("the scan carries more than %d findings", lim)}, true
	}
	if lim := q.limits.BytesPerMinute; lim > 0 {
		agent := scope.Tenant + "/" + scope.Agent
		b := q.buckets[agent]
		if b == nil {
			b = &bucket{tokens: float64(lim), at: now}
			q.buckets[agent] = b
		}
		b.tokens = min(float64(lim), b.tokens+now.Sub(b.at).Seconds()*float64(lim)/60)
		b.at = now
		if float64(size) > b.tokens {
			use.refused = true
			return &refusal{scope: scope, scanID: scanID, what: fmt.Sprintf("the agent sent more than %d bytes in a minute", lim)}, true
		}
		b.tokens -= float64(size)
	}
	use.findings += findings
	return nil, false
}

// sweep forgets scans not heard of for scanMemory and full buckets of
// quiet agents, at most once a second; past maxScans it drops the oldest.
func (q *quota) sweep(now time.Time) {
	if now.Sub(q.swept) < time.Second && len(q.scans) < maxScans {
		return
	}
	q.swept = now
	for k, u := range q.scans {
		if now.Sub(u.seen) > scanMemory || len(q.scans) >= maxScans && now.Sub(u.seen) > time.Minute {
			delete(q.scans, k)
		}
	}
	for k, b := range q.buckets {
		if now.Sub(b.at) > time.Minute {
			delete(q.buckets, k)
		}
	}
}

func scanOf(sm *vigilv1.ScanMessage) (*vigilv1.Scope, string, int) {
	if b := sm.GetBatch(); b != nil {
		return b.Scope, b.ScanId, len(b.Findings)
	}
	c := sm.GetCompleted()
	return c.GetScope(), c.GetScanId(), 0
}

// checkQuota dead-letters a message its agent's quota refuses and
// announces the refusal of a scan once; it reports whether the message
// may be applied.
func (s *Server) checkQuota(m jetstream.Msg, sm *vigilv1.ScanMessage) bool {
	r, first := s.quota.admit(sm, len(m.Data()), delivered(m) <= 1, time.Now())
	if r == nil {
		return true
	}
	s.deadLetter(m, &bus.RejectError{Reason: bus.ReasonQuota, Err: fmt.Errorf("scan %s of %s/%s %s %s: %s", r.scanID, r.scope.Tenant, r.scope.Agent,
		r.scope.Scanner, r.scope.Target, r.what)})
	if first {
		go s.announceQuota(r, time.Now())
	}
	return false
}

// quotaJSON is unmapped.vigil of an ingest.quota event.
type quotaJSON struct {
	Tenant  string `json:"tenant"`
	Agent   string `json:"agent"`
	Scanner string `json:"scanner"`
	Target  string `json:"target"`
	ScanID  string `json:"scan_id"`
	Reason  string `json:"reason"`
}

// announceQuota publishes an ingest.quota event for a refused scan, with
// the scan as message id so a retry is one event; it tries for a minute.
func (s *Server) announceQuota(r *refusal, at time.Time) {
	extra, err := json.Marshal(quotaJSON{Tenant: r.scope.Tenant, Agent: r.scope.Agent, Scanner: r.scope.Scanner, Target: r.scope.Target, ScanID: r.scanID, Reason: r.what})
	if err != nil {
		return
	}
	uid := "quota:" + r.scope.Tenant + "/" + r.scope.Agent + "/" + r.scanID
	ev := ocsf.QuotaEvent(ocsf.Refusal{Tenant: r.scope.Tenant, Agent: r.scope.Agent, Scanner: r.scope.Scanner, Target: r.scope.Target, Reason: r.what, At: at},
		version.Version, uid, extra)
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	msg := nats.NewMsg(bus.EventsSubject(r.scope.Tenant, "ingest", "quota"))
	msg.Data = data
	msg.Header.Set(bus.HeaderContentType, bus.ContentJSON)
	msg.Header.Set(nats.MsgIdHdr, uid)
	for attempt := range 12 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = s.js.PublishMsg(ctx, msg)
		cancel()
		if err == nil {
			s.log.Warn("scan refused: over its agent's ingest quota", "tenant", r.scope.Tenant, "agent", r.scope.Agent, "scanner", r.scope.Scanner,
				"target", r.scope.Target, "scan", r.scanID, "reason", r.what)
			return
		}
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
	}
	s.log.Error("ingest.quota event not published", "tenant", r.scope.Tenant, "agent", r.scope.Agent, "scan", r.scanID, "err", err)
}
