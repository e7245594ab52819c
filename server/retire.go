package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/server/store"
)

// retireActor names the server in the audit log of automatic retirements.
const retireActor = "vigil-server (retire-after)"

// RetireAgent retires one agent of a tenant the caller administers.
func (a *agentService) RetireAgent(ctx context.Context, req *vigilv1.RetireAgentRequest) (*vigilv1.RetireAgentResponse, error) {
	id := caller(ctx)
	if req.Tenant == "" || req.Agent == "" {
		return nil, status.Error(codes.InvalidArgument, "tenant and agent are required")
	}
	if !id.AllowsTenant(req.Tenant) {
		// Another tenant's agent reads as absent.
		return nil, status.Errorf(codes.NotFound, "agent %s/%s not found", req.Tenant, req.Agent)
	}
	resolved, scopes, err := a.s.retire(req.Tenant, req.Agent, id.Name, req.Reason, time.Now())
	if errors.Is(err, store.ErrNoAgent) {
		return nil, status.Errorf(codes.NotFound, "agent %s/%s not found", req.Tenant, req.Agent)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "retire: %v", err)
	}
	return &vigilv1.RetireAgentResponse{Resolved: resolved, Scopes: uint32(scopes)}, nil
}

// RetireTarget retires the scopes of one target of an agent.
func (a *agentService) RetireTarget(ctx context.Context, req *vigilv1.RetireTargetRequest) (*vigilv1.RetireTargetResponse, error) {
	id := caller(ctx)
	if req.Tenant == "" || req.Agent == "" || req.Target == "" {
		return nil, status.Error(codes.InvalidArgument, "tenant, agent and target are required")
	}
	if !id.AllowsTenant(req.Tenant) {
		return nil, status.Errorf(codes.NotFound, "no scope of %s on agent %s/%s", req.Target, req.Tenant, req.Agent)
	}
	var resolved uint64
	var scopes int
	var events []*vigilv1.FindingEvent
	err := a.s.store.Update(func(w *store.Writer) error {
		var err error
		resolved, scopes, err = w.RetireTarget(req.Tenant, req.Agent, req.Target, req.Scanner, id.Name, req.Reason, time.Now())
		events = w.Events
		return err
	})
	if errors.Is(err, store.ErrNoScope) {
		return nil, status.Errorf(codes.NotFound, "no scope of %s on agent %s/%s", req.Target, req.Tenant, req.Agent)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "retire: %v", err)
	}
	a.s.after(events, nil)
	a.s.log.Info("target retired", "tenant", req.Tenant, "agent", req.Agent, "target", req.Target, "scanner", req.Scanner, "by", id.Name, "resolved", resolved)
	return &vigilv1.RetireTargetResponse{Resolved: resolved, Scopes: uint32(scopes)}, nil
}

// retire retires an agent in one transaction and publishes the events of
// the findings it resolved.
func (s *Server) retire(tenant, agent, actor, reason string, now time.Time) (uint64, int, error) {
	var resolved uint64
	var scopes int
	var events []*vigilv1.FindingEvent
	err := s.store.Update(func(w *store.Writer) error {
		var err error
		resolved, scopes, err = w.RetireAgent(tenant, agent, actor, reason, now)
		events = w.Events
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	s.after(events, nil)
	s.log.Info("agent retired", "tenant", tenant, "agent", agent, "by", actor, "reason", reason, "resolved", resolved, "scopes", scopes)
	return resolved, scopes, nil
}

// retireSilent retires the agents without a heartbeat for RetireAfter.
func (s *Server) retireSilent(now time.Time) {
	if s.cfg.RetireAfter <= 0 {
		return
	}
	due, err := s.store.RetireDue(now.Add(-s.cfg.RetireAfter))
	if err != nil {
		s.log.Error("agents due for retirement", "err", err)
		return
	}
	for _, d := range due {
		if _, _, err := s.retire(d[0], d[1], retireActor, "no heartbeat for "+s.cfg.RetireAfter.String(), now); err != nil {
			s.log.Error("retire agent", "tenant", d[0], "agent", d[1], "err", err)
		}
	}
}
