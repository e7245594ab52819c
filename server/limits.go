package server

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Bounds of the gRPC server: what one caller, or many, can take. Memory
// per connection is its HTTP/2 buffers and windows, per stream the
// message in flight; so connections, streams per connection and message
// sizes bound the whole, with the page budget of lists (store.MaxPageBytes)
// and the watch buffers (watchBufferBytes) inside them.
const (
	// DefaultMaxConnections bounds concurrent gRPC connections; past it a
	// new connection is closed at once rather than queued.
	DefaultMaxConnections = 2048
	// maxStreamsPerConn bounds concurrent calls on one connection.
	maxStreamsPerConn = 64
	// maxRecvMsg bounds a request; maxSendMsg a response (a list page
	// ends at store.MaxPageBytes, well inside it).
	maxRecvMsg = 4 << 20
	maxSendMsg = 16 << 20
	// maxHeaderList bounds a call's metadata.
	maxHeaderList = 64 << 10
	// maxConcurrentReads bounds the store reads (lists, summaries,
	// coverage) that run at once: each holds up to a page's budget, so
	// together they hold at most this many budgets however many callers
	// wait. Reads are CPU-bound on the store, so more at once would not
	// finish sooner.
	maxConcurrentReads = 8
)

// reads admits store reads, at most maxConcurrentReads at once.
type reads chan struct{}

// enter waits for a slot; the caller runs release when done.
func (r reads) enter(ctx context.Context) (release func(), err error) {
	select {
	case r <- struct{}{}:
		return func() { <-r }, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// grpcLimits are the server options that enforce the bounds: stream and
// message limits, a handshake deadline, and keepalive that finds dead
// peers and closes idle connections.
func grpcLimits() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		grpc.MaxRecvMsgSize(maxRecvMsg),
		grpc.MaxSendMsgSize(maxSendMsg),
		grpc.MaxHeaderListSize(maxHeaderList),
		grpc.ConnectionTimeout(10 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 15 * time.Minute, Time: 2 * time.Minute, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
}

// limitListener accepts at most max connections at once; one more is
// closed as soon as it is accepted, so the client fails fast (UNAVAILABLE)
// instead of waiting in the backlog.
type limitListener struct {
	net.Listener
	slots   chan struct{}
	refused atomic.Int64
}

func newLimitListener(l net.Listener, max int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, max)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
		default:
			l.refused.Add(1)
			c.Close()
		}
	}
}

type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
