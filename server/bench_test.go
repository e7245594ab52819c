package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type fleetMsg struct {
	subject, id string
	data        []byte
}

// buildFleet encodes a first full scan of every scope and, separately, an
// unchanged delta scan (a ScanCompleted only) of every scope.
func buildFleet(b testing.TB, scopes, perScope int) (first, again []fleetMsg) {
	b.Helper()
	sev := []vigilv1.Severity{vigilv1.Severity_SEVERITY_LOW, vigilv1.Severity_SEVERITY_MEDIUM, vigilv1.Severity_SEVERITY_HIGH, vigilv1.Severity_SEVERITY_CRITICAL, vigilv1.Severity_SEVERITY_INFO}
	for s := 0; s < scopes; s++ {
		tenant, agent := fmt.Sprintf("t%d", s%10), fmt.Sprintf("a%04d", s)
		scope := &vigilv1.Scope{Tenant: tenant, Agent: agent, Scanner: "kubernetes", Target: "/fleet"}
		subject := bus.FindingsSubject(tenant, agent)
		scanID := fmt.Sprintf("20260101T000000.%09d-1", s)
		var fps []string
		seq := uint32(0)
		var batch *vigilv1.FindingBatch
		flush := func() {
			if batch == nil {
				return
			}
			seq++
			batch.Seq = seq
			m, err := bus.NewScanMsg(subject, fmt.Sprintf("%s/%d", scanID, seq), &vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: batch}})
			if err != nil {
				b.Fatal(err)
			}
			first = append(first, fleetMsg{subject, m.Header.Get(nats.MsgIdHdr), m.Data})
			batch = nil
		}
		for i := 0; i < perScope; i++ {
			if batch == nil {
				batch = &vigilv1.FindingBatch{ScanId: scanID, Scope: scope, Full: true}
			}
			check := fmt.Sprintf("VGL-CLUSTER-%03d", 1+i%40)
			res := &vigilv1.Resource{Tenant: tenant, Provider: "kubernetes", Namespace: fmt.Sprintf("ns%d", i%20), Kind: "Deployment", Name: fmt.Sprintf("app-%d", i/40)}
			// Each agent scans a tree of its own: one fingerprint per
			// finding, which the summary counts once.
			path := fmt.Sprintf("/fleet/%s/ns%d/app-%d.yaml", agent, i%20, i/40)
			f := &vigilv1.Finding{
				Fingerprint: finding.Fingerprint(check, res, path, "spec.template.spec.containers[\"app\"]"),
				CheckId:     check, Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: sev[i%len(sev)],
				Title: "Benchmark finding", Message: "container app of Deployment violates " + check,
				Resource: res, Location: &vigilv1.Location{Path: path, StartLine: int32(10 + i%30), EndLine: int32(10 + i%30), Snippet: "privileged: true"},
				References: []string{"CIS-K8S-5.2.2"}, Tags: []string{"privileged-container"}, Scanner: "kubernetes",
			}
			fps = append(fps, f.Fingerprint)
			batch.Findings = append(batch.Findings, f)
			if len(batch.Findings) == 500 {
				flush()
			}
		}
		flush()
		d := finding.DigestOf(fps)
		done := func(id string, full bool, batches uint32) fleetMsg {
			m, err := bus.NewScanMsg(subject, id+"/done", &vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Completed{Completed: &vigilv1.ScanCompleted{
				ScanId: id, Scope: scope, Batches: batches, Full: full, FindingCount: uint64(len(fps)), SetDigest: d[:], FinishedAt: timestamppb.Now(),
			}}})
			if err != nil {
				b.Fatal(err)
			}
			return fleetMsg{subject, m.Header.Get(nats.MsgIdHdr), m.Data}
		}
		first = append(first, done(scanID, true, seq))
		again = append(again, done(fmt.Sprintf("20260102T000000.%09d-2", s), false, 0))
	}
	return first, again
}

func publishAll(b *testing.B, js jetstream.JetStream, msgs []fleetMsg) {
	b.Helper()
	for _, m := range msgs {
		msg := nats.NewMsg(m.subject)
		msg.Data = m.data
		msg.Header.Set(nats.MsgIdHdr, m.id)
		msg.Header.Set(bus.HeaderContentType, bus.ContentProtobuf)
		for {
			_, err := js.PublishMsgAsync(msg)
			if err == nil {
				break
			}
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				b.Fatal(err)
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		b.Fatal("publish did not complete")
	}
}

func waitScans(b testing.TB, s *Server, n uint64, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for s.Stats().Scans < n {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d scans applied", s.Stats().Scans, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

// BenchmarkIngestFleet runs the whole ingest path through embedded
// JetStream into bbolt: a first full scan of every scope (1,000 scopes of
// 1,000 findings by default), the same scans again with nothing changed,
// then ListFindings and SummarizeFindings over gRPC at that size. Run it
// with -benchtime=1x; VIGIL_BENCH_SCOPES and VIGIL_BENCH_PER_SCOPE resize it.
func BenchmarkIngestFleet(b *testing.B) {
	scopes, per := envInt("VIGIL_BENCH_SCOPES", 1000), envInt("VIGIL_BENCH_PER_SCOPE", 1000)
	first, again := buildFleet(b, scopes, per)
	total := float64(scopes * per)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv, nc, _, client := startServer(b, Config{})
		js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(512))
		b.StartTimer()

		start := time.Now()
		publishAll(b, js, first)
		waitScans(b, srv, uint64(scopes), 10*time.Minute)
		ingest := time.Since(start)
		written := srv.store.PagesWritten()

		start = time.Now()
		publishAll(b, js, again)
		waitScans(b, srv, uint64(2*scopes), 5*time.Minute)
		rescan := time.Since(start)

		b.StopTimer()
		// Queries are timed at rest: once the events of the ingest are
		// published (the load test times them during ingest).
		for deadline := time.Now().Add(30 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if p, err := srv.store.PendingEvents(1); err == nil && len(p) == 0 {
				break
			}
		}
		var list, deep, sum []time.Duration
		// Queries come in chains that follow the page token 1 to 10 pages
		// deep; every fourth chain filters by check and status instead of
		// tenant and severity. Pages 5 and beyond are also timed apart.
		for q, chain := 0, 0; q < 1000; chain++ {
			filter := &vigilv1.FindingFilter{Tenant: fmt.Sprintf("t%d", chain%10), MinSeverity: vigilv1.Severity_SEVERITY_HIGH}
			if chain%4 == 3 {
				filter = &vigilv1.FindingFilter{CheckId: fmt.Sprintf("VGL-CLUSTER-%03d", 1+chain%40), Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN}}
			}
			token := ""
			for page := 1; page <= 1+chain%10 && q < 1000; page++ {
				q++
				t0 := time.Now()
				resp, err := client.ListFindings(context.Background(), &vigilv1.ListFindingsRequest{Filter: filter, PageSize: 100, PageToken: token})
				took := time.Since(t0)
				if err != nil || (len(resp.Findings) != 100 && resp.NextPageToken != "") {
					b.Fatalf("ListFindings page %d: %d findings, %v", page, len(resp.GetFindings()), err)
				}
				list = append(list, took)
				if page >= 5 {
					deep = append(deep, took)
				}
				t0 = time.Now()
				if _, err := client.SummarizeFindings(context.Background(), &vigilv1.SummarizeFindingsRequest{ByTenant: true}); err != nil {
					b.Fatal(err)
				}
				sum = append(sum, time.Since(t0))
				if token = resp.NextPageToken; token == "" {
					break
				}
			}
		}
		if resp, _ := client.SummarizeFindings(context.Background(), &vigilv1.SummarizeFindingsRequest{}); resp.GetTotal() != uint64(total) {
			b.Fatalf("store holds %d open findings, want %d", resp.GetTotal(), int(total))
		}
		b.ReportMetric(total/ingest.Seconds(), "findings/s")
		b.ReportMetric(ingest.Seconds(), "ingest-s")
		b.ReportMetric(float64(written)/total, "store-written-B/finding")
		b.ReportMetric(rescan.Seconds(), "rescan-s")
		b.ReportMetric(float64(percentile(list, 0.5).Microseconds())/1000, "list-p50-ms")
		b.ReportMetric(float64(percentile(list, 0.99).Microseconds())/1000, "list-p99-ms")
		if len(deep) > 0 {
			b.ReportMetric(float64(percentile(deep, 0.99).Microseconds())/1000, "list-page5+-p99-ms")
		}
		b.ReportMetric(float64(percentile(sum, 0.99).Microseconds())/1000, "summary-p99-ms")
		b.StartTimer()
	}
}
