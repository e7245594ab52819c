package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/ocsf"
	"github.com/vigilsec/vigil/pkg/version"
	"github.com/vigilsec/vigil/server/store"
)

type coverageService struct {
	vigilv1.UnimplementedCoverageServiceServer
	s *Server
}

func (c *coverageService) ListCoverage(ctx context.Context, req *vigilv1.ListCoverageRequest) (*vigilv1.ListCoverageResponse, error) {
	if req.PageSize < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	tenants, err := scopeTenants(caller(ctx), req.Tenant, nil)
	if err != nil {
		return nil, err
	}
	release, err := c.s.reads.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	resp, err := c.s.store.Coverage(req, tenants, time.Now(), c.s.cfg.StaleAfter)
	if errors.Is(err, store.ErrBadToken) {
		return nil, status.Error(codes.InvalidArgument, "page_token is not one this service gave")
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "coverage: %v", err)
	}
	return resp, nil
}

// announceCoverage publishes a coverage.lost or coverage.restored event
// for every agent and scope whose staleness changed, and records each as
// announced only once JetStream has acknowledged it: a crash in between
// publishes it again, with the same message id, which the stream's
// duplicate window drops.
func (s *Server) announceCoverage(ctx context.Context, now time.Time) {
	changes, err := s.store.CoverageChanges(now, s.cfg.StaleAfter)
	if err != nil {
		s.log.Error("coverage sweep failed", "err", err)
		return
	}
	for _, c := range changes {
		if err := s.publishCoverage(ctx, c, now); err != nil {
			s.log.Warn("coverage event not published; retrying at the next sweep", "tenant", c.Tenant, "agent", c.Agent, "err", err)
			continue
		}
		if err := s.store.Update(func(w *store.Writer) error { return w.MarkCoverage(c) }); err != nil {
			s.log.Error("coverage change not recorded", "tenant", c.Tenant, "agent", c.Agent, "err", err)
			continue
		}
		s.log.Info("coverage "+word(c.Lost), "tenant", c.Tenant, "agent", c.Agent, "target", c.Scope.GetTarget(), "scanner", c.Scope.GetScanner(),
			"since", c.Since)
	}
}

func word(lost bool) string {
	if lost {
		return "lost"
	}
	return "restored"
}

// coverageJSON is unmapped.vigil of a coverage event.
type coverageJSON struct {
	Tenant  string `json:"tenant"`
	Agent   string `json:"agent"`
	Scanner string `json:"scanner,omitempty"`
	Target  string `json:"target,omitempty"`
	Since   string `json:"since"`
	State   string `json:"state"`
}

func (s *Server) publishCoverage(ctx context.Context, c store.CoverageChange, now time.Time) error {
	b := ocsf.Blind{Lost: c.Lost, Tenant: c.Tenant, Agent: c.Agent, Scanner: c.Scope.GetScanner(), Target: c.Scope.GetTarget(), Since: c.Since, At: now}
	extra, err := json.Marshal(coverageJSON{Tenant: c.Tenant, Agent: c.Agent, Scanner: b.Scanner, Target: b.Target,
		Since: c.Since.UTC().Format(time.RFC3339Nano), State: word(c.Lost)})
	if err != nil {
		return err
	}
	// One id per blind spot and state, the same on every server: the same
	// change announced twice, or by two servers, is one message on the
	// stream.
	uid := fmt.Sprintf("coverage:%s/%s/%s/%s:%s:%d", c.Tenant, c.Agent, b.Scanner, b.Target, word(c.Lost), c.Episode.UnixNano())
	data, err := json.Marshal(ocsf.CoverageEvent(b, version.Version, uid, extra))
	if err != nil {
		return err
	}
	msg := nats.NewMsg(bus.EventsSubject(c.Tenant, "coverage", word(c.Lost)))
	msg.Data = data
	msg.Header.Set(bus.HeaderContentType, bus.ContentJSON)
	msg.Header.Set(nats.MsgIdHdr, uid)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = s.js.PublishMsg(ctx, msg)
	return err
}
