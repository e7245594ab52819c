package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// peakRSS is the peak resident set of a process, in bytes (VmHWM).
func peakRSS(pid int) (int64, error) { return procStatus(pid, "VmHWM") }

// procStatus reads one size field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// BenchmarkServerUnderClients (make bench) holds 500 gRPC clients, each on
// its own connection, listing 1,000-finding pages and summarizing in a
// loop, and 20 watchers that never read, against a vigil-server holding
// 20,000 findings while 20,000 more arrive (their events flow to the
// stalled watchers). It reports the server's peak RSS, which the bounds
// keep under 512 MB, and the calls the clients completed.
func BenchmarkServerUnderClients(b *testing.B) {
	const clients, stalled, agents, per = 500, 20, 10, 2000
	n := startNATS(b)
	s := startServer(b, n.url())
	js := jsOf(b, n.url())
	for a := range agents {
		publishScan(b, js, "acme", fmt.Sprintf("pre-%02d", a), "s1", per)
	}
	waitFor(b, 2*time.Minute, "preload stored", func() bool {
		return s.summary(&vigilv1.SummarizeFindingsRequest{}).GetTotal() == agents*per
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dial := func(opts ...grpc.DialOption) *grpc.ClientConn {
		conn, err := grpc.NewClient(s.addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		return conn
	}
	for range stalled {
		conn := dial(grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
		if _, err := vigilv1.NewFindingServiceClient(conn).WatchFindings(ctx, &vigilv1.WatchFindingsRequest{}); err != nil {
			b.Fatal(err)
		}
	}
	conns := make([]*grpc.ClientConn, clients)
	for i := range conns {
		conns[i] = dial()
	}
	b.ResetTimer()
	var calls, failed atomic.Int64
	for range b.N {
		rctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, conn := range conns {
			c := vigilv1.NewFindingServiceClient(conn)
			wg.Go(func() {
				for rctx.Err() == nil {
					cctx, done := context.WithTimeout(rctx, time.Minute)
					_, err := c.ListFindings(cctx, &vigilv1.ListFindingsRequest{PageSize: 1000})
					if err == nil {
						_, err = c.SummarizeFindings(cctx, &vigilv1.SummarizeFindingsRequest{})
					}
					done()
					if err != nil && rctx.Err() == nil {
						failed.Add(1)
					}
					calls.Add(2)
				}
			})
		}
		for a := range agents {
			publishScan(b, js, "acme", fmt.Sprintf("live-%02d", a), "s1", per)
		}
		waitFor(b, 5*time.Minute, "the live scans stored", func() bool {
			return s.summary(&vigilv1.SummarizeFindingsRequest{}).GetTotal() >= 2*agents*per
		})
		stop()
		wg.Wait()
	}
	b.StopTimer()
	rss, err := peakRSS(s.p.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(calls.Load())/float64(b.N), "calls/op")
	b.ReportMetric(float64(failed.Load())/float64(b.N), "failed/op")
	if rss > 512<<20 {
		b.Errorf("server peak RSS %d MB, over the 512 MB bound", rss>>20)
	}
}
