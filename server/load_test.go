//go:build load

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
)

// TestLoad (make load) runs a fleet against one server on loopback: 1,000
// agents (VIGIL_LOAD_AGENTS), each with its own NATS connection,
// publishing 1,000 findings (VIGIL_LOAD_FINDINGS) through JetStream into
// a real, fsync'ed bbolt store, while gRPC clients list and summarize.
// The agents together offer VIGIL_LOAD_RATE findings a second (50,000 by
// default; 0 publishes everything at once, and the lag then measures the
// backlog draining). It reports the sustained ingest rate, JetStream ack
// latency, the lag from ack to query-visible per message, broken into its
// legs (waiting in the stream, waiting for the writer, the transaction),
// and query latencies under ingest.
func TestLoad(t *testing.T) {
	agents, per := envInt("VIGIL_LOAD_AGENTS", 1000), envInt("VIGIL_LOAD_FINDINGS", 1000)
	rate := envInt("VIGIL_LOAD_RATE", 50000)
	s, _, _, client := startServer(t, Config{})
	var lmu sync.Mutex
	var inStream, toWriter, inTx, visible []time.Duration
	trace := func(l commitLegs) {
		if l.Fetched.IsZero() {
			return // a message applied alone after a failed transaction
		}
		lmu.Lock()
		defer lmu.Unlock()
		for _, at := range l.Stored {
			inStream = append(inStream, l.Fetched.Sub(at))
			toWriter = append(toWriter, l.Began.Sub(l.Fetched))
			inTx = append(inTx, l.Committed.Sub(l.Began))
			visible = append(visible, l.Committed.Sub(at))
		}
	}
	s.traceCommit.Store(&trace)
	first, _ := buildFleet(t, agents, per)
	bySubject := map[string][]fleetMsg{}
	var order []string
	for _, m := range first {
		if _, ok := bySubject[m.subject]; !ok {
			order = append(order, m.subject)
		}
		bySubject[m.subject] = append(bySubject[m.subject], m)
	}
	conns := make([]jetstream.JetStream, len(order))
	for i := range order {
		nc, err := nats.Connect(s.NATSURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		conns[i], _ = jetstream.New(nc)
	}
	total := agents * per

	// Queries run from four clients for the whole ingest, each at
	// VIGIL_LOAD_QPS list+summarize pairs per second (default 25).
	qps := envInt("VIGIL_LOAD_QPS", 25)
	ctx, stopQueries := context.WithCancel(context.Background())
	var qmu sync.Mutex
	listLat, sumLat := []time.Duration{}, []time.Duration{}
	var qwg sync.WaitGroup
	for q := range 4 {
		qwg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(q), 7))
			tick := time.NewTicker(time.Second / time.Duration(qps))
			defer tick.Stop()
			for ctx.Err() == nil {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				start := time.Now()
				_, err := client.ListFindings(ctx, &vigilv1.ListFindingsRequest{Filter: &vigilv1.FindingFilter{Tenant: fmt.Sprintf("t%d", r.IntN(10))}, PageSize: 100})
				d := time.Since(start)
				if err == nil {
					qmu.Lock()
					listLat = append(listLat, d)
					qmu.Unlock()
				}
				start = time.Now()
				_, err = client.SummarizeFindings(ctx, &vigilv1.SummarizeFindingsRequest{ByTenant: true})
				d = time.Since(start)
				if err == nil {
					qmu.Lock()
					sumLat = append(sumLat, d)
					qmu.Unlock()
				}
			}
		})
	}

	// Published (acked) and visible counts, sampled for the lag.
	var acked atomic.Int64
	type sample struct {
		at             time.Time
		acked, visible int64
	}
	var samples []sample
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			sum, err := s.store.Summarize(&vigilv1.SummarizeFindingsRequest{})
			if err == nil {
				samples = append(samples, sample{time.Now(), acked.Load(), int64(sum.Total)})
			}
			select {
			case <-sampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	// With a rate, message j of every agent goes out in turn, each when
	// the findings before it in that order are due.
	sendAt := map[string][]time.Duration{}
	if rate > 0 {
		var due float64
		for j := 0; ; j++ {
			more := false
			for _, subj := range order {
				if j >= len(bySubject[subj]) {
					continue
				}
				more = true
				sendAt[subj] = append(sendAt[subj], time.Duration(due/float64(rate)*float64(time.Second)))
				if sm, err := bus.DecodeScanMsg(subj, bySubject[subj][j].data); err == nil {
					due += float64(len(sm.GetBatch().GetFindings()))
				}
			}
			if !more {
				break
			}
		}
	}
	var amu sync.Mutex
	ackLat := make([]time.Duration, 0, len(first))
	start := time.Now()
	var wg sync.WaitGroup
	for i, subj := range order {
		wg.Go(func() {
			for j, m := range bySubject[subj] {
				if at := sendAt[subj]; j < len(at) {
					time.Sleep(time.Until(start.Add(at[j])))
				}
				msg := nats.NewMsg(m.subject)
				msg.Data = m.data
				msg.Header.Set(nats.MsgIdHdr, m.id)
				msg.Header.Set(bus.HeaderContentType, bus.ContentProtobuf)
				t0 := time.Now()
				if _, err := conns[i].PublishMsg(context.Background(), msg); err != nil {
					t.Error(err)
					return
				}
				d := time.Since(t0)
				amu.Lock()
				ackLat = append(ackLat, d)
				amu.Unlock()
				if sm, err := bus.DecodeScanMsg(m.subject, m.data); err == nil {
					acked.Add(int64(len(sm.GetBatch().GetFindings())))
				}
			}
		})
	}
	wg.Wait()
	published := time.Since(start)
	waitScans(t, s, uint64(agents), 30*time.Minute)
	ingest := time.Since(start)
	close(sampling)
	<-sampled
	stopQueries()
	qwg.Wait()

	sum, _ := s.store.Summarize(&vigilv1.SummarizeFindingsRequest{})
	if sum.Total != uint64(total) {
		t.Fatalf("%d findings visible, want %d", sum.Total, total)
	}
	// Lag: for each visible count, how long after the same count was acked.
	var lags []time.Duration
	for _, v := range samples {
		for _, a := range samples {
			if a.acked >= v.visible {
				if d := v.at.Sub(a.at); d >= 0 && v.visible > 0 {
					lags = append(lags, d)
				}
				break
			}
		}
	}
	fi, _ := os.Stat(s.store.Path())
	res := map[string]any{
		"agents": agents, "findings": total, "messages": len(first),
		"publish_seconds": published.Seconds(), "ingest_seconds": ingest.Seconds(),
		"ingest_findings_per_second": float64(total) / ingest.Seconds(),
		"ack_p50_ms":                 ms(pct(ackLat, .5)), "ack_p99_ms": ms(pct(ackLat, .99)),
		"offered_findings_per_second": rate,
		"visible_lag_p50_ms":          ms(pct(visible, .5)), "visible_lag_p99_ms": ms(pct(visible, .99)),
		"visible_by_count_p99_ms": ms(pct(lags, .99)),
		"leg_in_stream_p50_ms":    ms(pct(inStream, .5)), "leg_in_stream_p99_ms": ms(pct(inStream, .99)),
		"leg_to_writer_p50_ms": ms(pct(toWriter, .5)), "leg_to_writer_p99_ms": ms(pct(toWriter, .99)),
		"leg_in_tx_p50_ms": ms(pct(inTx, .5)), "leg_in_tx_p99_ms": ms(pct(inTx, .99)),
		"list_p50_ms": ms(pct(listLat, .5)), "list_p99_ms": ms(pct(listLat, .99)), "list_calls": len(listLat),
		"summarize_p50_ms": ms(pct(sumLat, .5)), "summarize_p99_ms": ms(pct(sumLat, .99)), "summarize_calls": len(sumLat),
		"store_bytes": fi.Size(),
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("load result:\n%s", out)
	if p := os.Getenv("VIGIL_LOAD_OUT"); p != "" {
		os.WriteFile(p, out, 0o644)
	}
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	c := append([]time.Duration(nil), d...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c[int(float64(len(c)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
