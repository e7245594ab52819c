package server

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pki"
	"github.com/vigilsec/vigil/server/trust"
)

// Authorization: every gRPC call is made by an identity (from a verified
// client certificate or a bearer token) with a role and a tenant scope.
// Viewers read, admins also change; both see only their tenants. Methods
// not listed in methodRoles need an admin of every tenant.

// localIdentity is the caller when the server runs without --tls: the API
// is then reachable only as configured (loopback by default) and open.
var localIdentity = pki.Identity{Name: "local", Role: pki.RoleAdmin, Tenants: []string{pki.AllTenants}}

// open methods need no identity.
var openMethods = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

var methodRoles = map[string]string{
	vigilv1.FindingService_ListFindings_FullMethodName:            pki.RoleViewer,
	vigilv1.FindingService_GetFinding_FullMethodName:              pki.RoleViewer,
	vigilv1.FindingService_SummarizeFindings_FullMethodName:       pki.RoleViewer,
	vigilv1.FindingService_StreamGroupFingerprints_FullMethodName: pki.RoleViewer,
	vigilv1.FindingService_WatchFindings_FullMethodName:           pki.RoleViewer,
	vigilv1.AgentService_ListAgents_FullMethodName:                pki.RoleViewer,
	vigilv1.ServerService_GetServerInfo_FullMethodName:            pki.RoleViewer,
	vigilv1.AgentService_RetireAgent_FullMethodName:               pki.RoleAdmin,
	vigilv1.AgentService_RetireTarget_FullMethodName:              pki.RoleAdmin,
	vigilv1.CoverageService_ListCoverage_FullMethodName:           pki.RoleViewer,
	vigilv1.SuppressionService_ListSuppressions_FullMethodName:    pki.RoleViewer,
	vigilv1.SuppressionService_ListAudit_FullMethodName:           pki.RoleViewer,
	vigilv1.SuppressionService_CreateSuppression_FullMethodName:   pki.RoleAdmin,
	vigilv1.SuppressionService_RevokeSuppression_FullMethodName:   pki.RoleAdmin,
}

type callerKey struct{}

// caller is the identity of a call; handlers scope their answers by it.
func caller(ctx context.Context) pki.Identity {
	if id, ok := ctx.Value(callerKey{}).(pki.Identity); ok {
		return id
	}
	return pki.Identity{}
}

type authenticator struct {
	// tokens and revoked are nil when the server runs without --tls.
	tokens  *trust.Tokens
	revoked *trust.Watched[map[string]trust.RevokedCert]
	// recheck is how often an open stream's caller is checked again
	// (default revocationCheck).
	recheck time.Duration
}

// revocationCheck bounds how long a revoked caller's open stream lives on.
const revocationCheck = 2 * time.Second

// errRevoked ends the streams of a caller whose credential was revoked.
var errRevoked = status.Error(codes.Unauthenticated, "credential revoked")

// live reports whether the credential behind id is still good: a
// certificate not on the revocation list, a token still in the file.
func (a *authenticator) live(id pki.Identity) bool {
	if a.tokens == nil {
		return true
	}
	if serial, ok := strings.CutPrefix(id.Credential, "cert:"); ok {
		_, revoked := a.revoked.Get()[serial]
		return !revoked
	}
	return a.tokens.Live(id.Credential)
}

// identify authenticates a call by its verified client certificate, else
// by its bearer token.
func (a *authenticator) identify(ctx context.Context) (pki.Identity, error) {
	if a.tokens == nil {
		return localIdentity, nil
	}
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			id := pki.IdentityOf(ti.State.VerifiedChains[0][0])
			if !a.live(id) {
				return pki.Identity{}, status.Errorf(codes.Unauthenticated, "the client certificate of %s was revoked", id.Name)
			}
			return id, nil
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, token, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			continue
		}
		if id, ok := a.tokens.Lookup(strings.TrimSpace(token)); ok {
			return id, nil
		}
		return pki.Identity{}, status.Error(codes.Unauthenticated, "unknown bearer token")
	}
	return pki.Identity{}, status.Error(codes.Unauthenticated, "present a client certificate issued by the Vigil CA or a bearer token")
}

// authorize admits a call to method by id.
func authorize(method string, id pki.Identity) error {
	need, ok := methodRoles[method]
	if !ok {
		need = pki.RoleAdmin
		if id.Role == pki.RoleAdmin && !id.AllTenants() {
			return status.Errorf(codes.PermissionDenied, "%s needs an admin of every tenant", method)
		}
	}
	switch {
	case id.Role == pki.RoleAdmin:
		return nil
	case id.Role == pki.RoleViewer && need == pki.RoleViewer:
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "%s (role %q) may not call %s", id.Name, id.Role, method)
}

func (a *authenticator) check(ctx context.Context, method string) (context.Context, error) {
	for _, p := range openMethods {
		if strings.HasPrefix(method, p) {
			return ctx, nil
		}
	}
	id, err := a.identify(ctx)
	if err != nil {
		return nil, err
	}
	if err := authorize(method, id); err != nil {
		return nil, err
	}
	return context.WithValue(ctx, callerKey{}, id), nil
}

func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.check(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.check(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	id := caller(ctx)
	if a.tokens == nil || id.Credential == "" {
		return handler(srv, &scopedStream{ServerStream: ss, ctx: ctx})
	}
	// A stream outlives the check at its start: its caller is checked
	// again while it runs and the stream ends when the credential is revoked.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		tick := time.NewTicker(cmp.Or(a.recheck, revocationCheck))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if !a.live(id) {
					cancel(errRevoked)
					return
				}
			}
		}
	}()
	err = handler(srv, &scopedStream{ServerStream: ss, ctx: ctx})
	if errors.Is(context.Cause(ctx), errRevoked) {
		return errRevoked
	}
	return err
}

type scopedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *scopedStream) Context() context.Context { return s.ctx }

// scopeTenants narrows a request's tenant selection to the caller's scope.
// It returns the tenants to restrict to (nil: no restriction) or
// PermissionDenied when the caller named a tenant outside its scope.
func scopeTenants(id pki.Identity, tenant string, tenants []string) ([]string, error) {
	if tenant != "" && !id.AllowsTenant(tenant) {
		return nil, status.Errorf(codes.PermissionDenied, "%s may not read tenant %q", id.Name, tenant)
	}
	for _, t := range tenants {
		if !id.AllowsTenant(t) {
			return nil, status.Errorf(codes.PermissionDenied, "%s may not read tenant %q", id.Name, t)
		}
	}
	if len(tenants) > 0 || id.AllTenants() {
		return tenants, nil
	}
	if len(id.Tenants) == 0 {
		return nil, status.Errorf(codes.PermissionDenied, "%s has no tenant", id.Name)
	}
	return slices.Clone(id.Tenants), nil
}
