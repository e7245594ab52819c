package server

import (
	"context"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/server/store"
)

// purgeEvery is how often resolved findings past retention are purged.
const purgeEvery = time.Hour

// sweep ends expired suppressions and exemptions (opening their findings,
// with events) and announces coverage lost or restored every SweepEvery, and purges resolved findings past the
// retention period every hour, until ctx ends.
func (s *Server) sweep(ctx context.Context) {
	tick := time.NewTicker(s.cfg.SweepEvery)
	defer tick.Stop()
	var lastPurge time.Time
	for {
		s.expire(time.Now())
		s.retireSilent(time.Now())
		s.announceCoverage(ctx, time.Now())
		if s.cfg.RetainResolved > 0 && time.Since(lastPurge) >= purgeEvery {
			lastPurge = time.Now()
			s.purge(lastPurge.Add(-s.cfg.RetainResolved))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Server) expire(now time.Time) {
	if due, err := s.store.ExpiryDue(now); err != nil || !due {
		if err != nil {
			s.log.Error("suppression expiry check failed", "err", err)
		}
		return
	}
	var events []*vigilv1.FindingEvent
	var n uint64
	err := s.store.Update(func(w *store.Writer) error {
		var err error
		n, err = w.ExpireSuppressions(now)
		events = w.Events
		return err
	})
	if err != nil {
		s.log.Error("suppression expiry failed; retrying at the next sweep", "err", err)
		return
	}
	if n > 0 {
		s.log.Info("suppressions expired", "findings", n)
	}
	s.after(events, nil)
}

func (s *Server) purge(before time.Time) {
	start := time.Now()
	n, err := s.store.Purge(before, 1000)
	if err != nil {
		s.log.Error("retention purge failed", "err", err, "purged", n)
		return
	}
	if n > 0 {
		s.log.Info("resolved findings purged", "count", n, "resolved_before", before.UTC().Format(time.RFC3339), "took", time.Since(start))
	}
}
