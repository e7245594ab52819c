package server

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"golang.org/x/mod/semver"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/version"
	"github.com/vigilsec/vigil/server/store"
)

func (s *Server) newGRPC(opts ...grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(s.auth.unary), grpc.ChainStreamInterceptor(s.auth.stream))
	opts = append(opts, grpcLimits()...)
	g := grpc.NewServer(opts...)
	vigilv1.RegisterFindingServiceServer(g, &findingService{s: s})
	vigilv1.RegisterAgentServiceServer(g, &agentService{s: s})
	vigilv1.RegisterSuppressionServiceServer(g, &suppressionService{s: s})
	vigilv1.RegisterBackupServiceServer(g, &backupService{s: s})
	vigilv1.RegisterCoverageServiceServer(g, &coverageService{s: s})
	vigilv1.RegisterServerServiceServer(g, &serverService{s: s})
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(vigilv1.FindingService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	for _, name := range []string{vigilv1.AgentService_ServiceDesc.ServiceName, vigilv1.SuppressionService_ServiceDesc.ServiceName, vigilv1.BackupService_ServiceDesc.ServiceName,
		vigilv1.CoverageService_ServiceDesc.ServiceName, vigilv1.ServerService_ServiceDesc.ServiceName} {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(g, hs)
	reflection.Register(g)
	return g
}

type findingService struct {
	vigilv1.UnimplementedFindingServiceServer
	s *Server
}

// scopedFilter is the request's filter narrowed to the caller's tenants.
func scopedFilter(ctx context.Context, f *vigilv1.FindingFilter) (*vigilv1.FindingFilter, error) {
	if f == nil {
		f = &vigilv1.FindingFilter{}
	}
	tenants, err := scopeTenants(caller(ctx), f.Tenant, f.Tenants)
	if err != nil {
		return nil, err
	}
	f = proto.Clone(f).(*vigilv1.FindingFilter)
	f.Tenants = tenants
	return f, nil
}

func (f *findingService) ListFindings(ctx context.Context, req *vigilv1.ListFindingsRequest) (*vigilv1.ListFindingsResponse, error) {
	if req.PageSize < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	filter, err := scopedFilter(ctx, req.Filter)
	if err != nil {
		return nil, err
	}
	release, err := f.s.reads.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	list, next, total, err := f.s.store.ListQuery(filter, store.Query{PageSize: int(req.PageSize), Token: req.PageToken, Sort: req.Sort, Total: req.WithTotal})
	if errors.Is(err, store.ErrBadToken) {
		return nil, status.Error(codes.InvalidArgument, "page_token does not belong to this filter")
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "list: %v", err)
	}
	return &vigilv1.ListFindingsResponse{Findings: list, NextPageToken: next, Total: int64(total)}, nil
}

func (f *findingService) GetFinding(ctx context.Context, req *vigilv1.GetFindingRequest) (*vigilv1.GetFindingResponse, error) {
	// Outside the caller's tenants reads as absent, and makes no prefix
	// ambiguous: no existence leaks.
	sf, all, err := f.s.store.GetAll(req.Id, 0, caller(ctx).AllowsTenant)
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "finding %q not found", req.Id)
	}
	if errors.Is(err, store.ErrAmbiguous) {
		return nil, status.Errorf(codes.InvalidArgument, "%v: give more digits", err)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "get: %v", err)
	}
	return &vigilv1.GetFindingResponse{Finding: sf, Occurrences: all}, nil
}

func (f *findingService) SummarizeFindings(ctx context.Context, req *vigilv1.SummarizeFindingsRequest) (*vigilv1.SummarizeFindingsResponse, error) {
	tenants, err := scopeTenants(caller(ctx), req.Tenant, req.Tenants)
	if err != nil {
		return nil, err
	}
	req = proto.Clone(req).(*vigilv1.SummarizeFindingsRequest)
	req.Tenants = tenants
	release, err := f.s.reads.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	resp, err := f.s.store.Summarize(req)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "summarize: %v", err)
	}
	return resp, nil
}

// StreamGroupFingerprints streams the fingerprints behind a summary, for a
// client that merges several shards' into one exact count.
func (f *findingService) StreamGroupFingerprints(req *vigilv1.StreamGroupFingerprintsRequest, stream grpc.ServerStreamingServer[vigilv1.StreamGroupFingerprintsResponse]) error {
	tenants, err := scopeTenants(caller(stream.Context()), req.Tenant, req.Tenants)
	if err != nil {
		return err
	}
	req = proto.Clone(req).(*vigilv1.StreamGroupFingerprintsRequest)
	req.Tenants = tenants
	release, err := f.s.reads.enter(stream.Context())
	if err != nil {
		return err
	}
	defer release()
	err = f.s.store.GroupFingerprints(req, func(m *vigilv1.StreamGroupFingerprintsResponse) error {
		if err := stream.Context().Err(); err != nil {
			return err
		}
		return stream.Send(m)
	})
	if err != nil {
		if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
			return err
		}
		return status.Errorf(codes.Internal, "group fingerprints: %v", err)
	}
	return nil
}

func (f *findingService) WatchFindings(req *vigilv1.WatchFindingsRequest, stream grpc.ServerStreamingServer[vigilv1.WatchFindingsResponse]) error {
	filter, err := scopedFilter(stream.Context(), req.Filter)
	if err != nil {
		return err
	}
	w := f.s.hub.subscribe(filter)
	defer f.s.hub.unsubscribe(w)
	return watch(stream.Context(), w, stream, f.s.watchStall)
}

type agentService struct {
	vigilv1.UnimplementedAgentServiceServer
	s *Server
}

func (a *agentService) ListAgents(ctx context.Context, req *vigilv1.ListAgentsRequest) (*vigilv1.ListAgentsResponse, error) {
	id := caller(ctx)
	if _, err := scopeTenants(id, req.Tenant, nil); err != nil {
		return nil, err
	}
	if req.PageSize < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	release, err := a.s.reads.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	list, next, total, err := a.s.store.AgentsPage(req.Tenant, id.AllowsTenant, req.PageToken, int(req.PageSize), time.Now(), a.s.cfg.StaleAfter)
	if errors.Is(err, store.ErrBadToken) {
		return nil, status.Error(codes.InvalidArgument, "page_token does not belong to this tenant")
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "agents: %v", err)
	}
	for _, ag := range list {
		ag.OlderThanServer = olderThan(ag.GetVersion(), version.Version)
	}
	return &vigilv1.ListAgentsResponse{Agents: list, NextPageToken: next, Total: int64(total)}, nil
}

// olderThan reports whether version v sorts before server (semantic
// versions without their leading v). A version that is not semver, as
// agents before versions were stamped may send, is not judged.
func olderThan(v, server string) bool {
	return semver.IsValid("v"+v) && semver.IsValid("v"+server) && semver.Compare("v"+v, "v"+server) < 0
}

// serverService answers what a server is.
type serverService struct {
	vigilv1.UnimplementedServerServiceServer
	s *Server
}

func (v *serverService) GetServerInfo(context.Context, *vigilv1.GetServerInfoRequest) (*vigilv1.GetServerInfoResponse, error) {
	return &vigilv1.GetServerInfoResponse{Version: version.Version, Shard: int32(v.s.cfg.Shard), Shards: int32(v.s.cfg.Shards)}, nil
}
