package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/server/store"
)

func (s *Server) newGRPC() *grpc.Server {
	g := grpc.NewServer()
	vigilv1.RegisterFindingServiceServer(g, &findingService{s: s})
	vigilv1.RegisterAgentServiceServer(g, &agentService{s: s})
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(vigilv1.FindingService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(vigilv1.AgentService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, hs)
	reflection.Register(g)
	return g
}

type findingService struct {
	vigilv1.UnimplementedFindingServiceServer
	s *Server
}

func (f *findingService) ListFindings(_ context.Context, req *vigilv1.ListFindingsRequest) (*vigilv1.ListFindingsResponse, error) {
	if req.PageSize < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	list, next, err := f.s.store.List(req.Filter, int(req.PageSize), req.PageToken)
	if errors.Is(err, store.ErrBadToken) {
		return nil, status.Error(codes.InvalidArgument, "page_token does not belong to this filter")
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "list: %v", err)
	}
	return &vigilv1.ListFindingsResponse{Findings: list, NextPageToken: next}, nil
}

func (f *findingService) GetFinding(_ context.Context, req *vigilv1.GetFindingRequest) (*vigilv1.GetFindingResponse, error) {
	sf, err := f.s.store.Get(req.Id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "finding %q not found", req.Id)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "get: %v", err)
	}
	return &vigilv1.GetFindingResponse{Finding: sf}, nil
}

func (f *findingService) SummarizeFindings(_ context.Context, req *vigilv1.SummarizeFindingsRequest) (*vigilv1.SummarizeFindingsResponse, error) {
	resp, err := f.s.store.Summarize(req)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "summarize: %v", err)
	}
	return resp, nil
}

func (f *findingService) WatchFindings(req *vigilv1.WatchFindingsRequest, stream grpc.ServerStreamingServer[vigilv1.WatchFindingsResponse]) error {
	w := f.s.hub.subscribe(req.Filter)
	defer f.s.hub.unsubscribe(w)
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case ev := <-w.ch:
			if err := stream.Send(&vigilv1.WatchFindingsResponse{Event: ev}); err != nil {
				return err
			}
		case <-w.overflow:
			// Deliver what is buffered, then end.
			for {
				select {
				case ev := <-w.ch:
					if err := stream.Send(&vigilv1.WatchFindingsResponse{Event: ev}); err != nil {
						return err
					}
				default:
					return status.Error(codes.Unavailable, "watch ended: the server is stopping or the client fell behind; resume with ListFindings and watch again")
				}
			}
		}
	}
}

type agentService struct {
	vigilv1.UnimplementedAgentServiceServer
	s *Server
}

func (a *agentService) ListAgents(_ context.Context, req *vigilv1.ListAgentsRequest) (*vigilv1.ListAgentsResponse, error) {
	list, err := a.s.store.Agents(req.Tenant, time.Now(), a.s.cfg.StaleAfter)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "agents: %v", err)
	}
	return &vigilv1.ListAgentsResponse{Agents: list}, nil
}
