package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigilsec/vigil/pkg/pki"
)

// dialOptions are the transport and call credentials the flags ask for:
// plaintext without --ca, TLS with it, plus a client certificate and/or a
// bearer token. A token is never sent without TLS.
func (g *globals) dialOptions() ([]grpc.DialOption, error) {
	token, err := g.token()
	if err != nil {
		return nil, err
	}
	if g.ca == "" {
		if token != "" || g.cert != "" {
			return nil, errors.New("a token or client certificate needs TLS: give the server's CA with --ca")
		}
		return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithStatsHandler(otelgrpc.NewClientHandler())}, nil
	}
	r, err := pki.NewReloader(pki.Files{CA: g.ca, Cert: g.cert, Key: g.key})
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(g.server)
	if err != nil {
		host = g.server
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(r.ClientConfig(host))), grpc.WithStatsHandler(otelgrpc.NewClientHandler())}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	return opts, nil
}

func (g *globals) token() (string, error) {
	if g.tokenFile != "" {
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(os.Getenv("VIGIL_TOKEN")), nil
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return true }
