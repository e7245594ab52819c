package agent_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/vigilsec/vigil/server"
)

// quiet discards the logs of the servers and agents a test runs.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// serve runs a server with an embedded NATS server on random ports until
// the test ends.
func serve(t *testing.T) *server.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:-1", Logger: quiet})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-served })
	return srv
}
