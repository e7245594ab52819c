package server

import (
	"bufio"
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pki"
	"github.com/vigilsec/vigil/server/store"
)

type suppressionService struct {
	vigilv1.UnimplementedSuppressionServiceServer
	s *Server
}

func storeErr(what string, err error) error {
	switch {
	case errors.Is(err, store.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, store.ErrBadToken):
		return status.Error(codes.InvalidArgument, "page_token is not one this server issued")
	}
	return status.Errorf(codes.Internal, "%s: %v", what, err)
}

func (x *suppressionService) CreateSuppression(ctx context.Context, req *vigilv1.CreateSuppressionRequest) (*vigilv1.CreateSuppressionResponse, error) {
	id := caller(ctx)
	sp := proto.Clone(req.GetSuppression()).(*vigilv1.Suppression)
	if sp == nil {
		return nil, status.Error(codes.InvalidArgument, "suppression missing")
	}
	if sp.Tenant == "" && !id.AllTenants() {
		if len(id.Tenants) != 1 {
			return nil, status.Error(codes.InvalidArgument, "name the tenant the suppression applies to")
		}
		sp.Tenant = id.Tenants[0]
	}
	if sp.Tenant != "" && !id.AllowsTenant(sp.Tenant) {
		return nil, status.Errorf(codes.PermissionDenied, "%s may not change tenant %q", id.Name, sp.Tenant)
	}
	// The author is who called, not what the request says.
	sp.Author = id.Name
	var out *vigilv1.Suppression
	var n uint64
	var events []*vigilv1.FindingEvent
	err := x.s.store.Update(func(w *store.Writer) error {
		var err error
		out, n, err = w.CreateSuppression(sp, time.Now())
		events = w.Events
		return err
	})
	if err != nil {
		return nil, storeErr("create suppression", err)
	}
	x.s.after(events, nil)
	x.s.log.Info("suppression created", "id", out.Id, "author", out.Author, "check", out.CheckId, "fingerprint", out.Fingerprint, "tenant", out.Tenant, "reason", out.Reason, "affected", n)
	return &vigilv1.CreateSuppressionResponse{Suppression: out, Affected: n}, nil
}

func (x *suppressionService) RevokeSuppression(ctx context.Context, req *vigilv1.RevokeSuppressionRequest) (*vigilv1.RevokeSuppressionResponse, error) {
	id := caller(ctx)
	cur, err := x.s.store.Suppression(req.Id)
	if err == nil && !allowsSuppression(id, cur) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, storeErr("revoke suppression", err)
	}
	var out *vigilv1.Suppression
	var n uint64
	var events []*vigilv1.FindingEvent
	err = x.s.store.Update(func(w *store.Writer) error {
		var err error
		out, n, err = w.RevokeSuppression(req.Id, id.Name, time.Now())
		events = w.Events
		return err
	})
	if err != nil {
		return nil, storeErr("revoke suppression", err)
	}
	x.s.after(events, nil)
	x.s.log.Info("suppression revoked", "id", out.Id, "by", id.Name, "reopened", n)
	return &vigilv1.RevokeSuppressionResponse{Suppression: out, Affected: n}, nil
}

// allowsSuppression: a suppression without a tenant spans all tenants and
// belongs to admins of all tenants.
func allowsSuppression(id pki.Identity, sp *vigilv1.Suppression) bool {
	if sp.Tenant == "" {
		return id.AllTenants()
	}
	return id.AllowsTenant(sp.Tenant)
}

func (x *suppressionService) ListSuppressions(ctx context.Context, req *vigilv1.ListSuppressionsRequest) (*vigilv1.ListSuppressionsResponse, error) {
	tenants, err := listTenants(caller(ctx), req.Tenant)
	if err != nil {
		return nil, err
	}
	list, err := x.s.store.Suppressions(tenants, req.IncludeEnded, time.Now())
	if err != nil {
		return nil, storeErr("list suppressions", err)
	}
	return &vigilv1.ListSuppressionsResponse{Suppressions: list}, nil
}

func (x *suppressionService) ListAudit(ctx context.Context, req *vigilv1.ListAuditRequest) (*vigilv1.ListAuditResponse, error) {
	tenants, err := listTenants(caller(ctx), req.Tenant)
	if err != nil {
		return nil, err
	}
	if req.PageSize < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	list, next, err := x.s.store.Audit(tenants, int(req.PageSize), req.PageToken)
	if err != nil {
		return nil, storeErr("audit", err)
	}
	return &vigilv1.ListAuditResponse{Entries: list, NextPageToken: next}, nil
}

// listTenants is the tenant restriction of a suppression listing: nil for
// everything (an all-tenant caller naming none).
func listTenants(id pki.Identity, tenant string) ([]string, error) {
	if tenant != "" {
		if !id.AllowsTenant(tenant) {
			return nil, status.Errorf(codes.PermissionDenied, "%s may not read tenant %q", id.Name, tenant)
		}
		return []string{tenant}, nil
	}
	if id.AllTenants() {
		return nil, nil
	}
	return id.Tenants, nil
}

type backupService struct {
	vigilv1.UnimplementedBackupServiceServer
	s *Server
}

// chunkWriter sends what it is given as BackupResponse messages.
type chunkWriter struct {
	stream grpc.ServerStreamingServer[vigilv1.BackupResponse]
}

func (c chunkWriter) Write(p []byte) (int, error) {
	const max = 1 << 20
	n := 0
	for len(p) > 0 {
		k := min(len(p), max)
		if err := c.stream.Send(&vigilv1.BackupResponse{Data: p[:k]}); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

func (b *backupService) Backup(_ *vigilv1.BackupRequest, stream grpc.ServerStreamingServer[vigilv1.BackupResponse]) error {
	start := time.Now()
	// bbolt writes page by page; send MiB messages instead.
	bw := bufio.NewWriterSize(chunkWriter{stream}, 1<<20)
	n, err := b.s.store.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return status.Errorf(codes.Internal, "backup: %v", err)
	}
	b.s.log.Info("backup streamed", "by", caller(stream.Context()).Name, "bytes", n, "took", time.Since(start))
	return nil
}
