package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// workerPeak is the largest peak resident set of a scan run (not a check)
// of vigil-agent-scan in an agent's JSON log.
func workerPeak(log string) int64 {
	var peak int64
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Msg  string   `json:"msg"`
			Args []string `json:"args"`
			Peak int64    `json:"peak_rss_bytes"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "scan worker exited" || len(rec.Args) > 0 {
			continue
		}
		peak = max(peak, rec.Peak)
	}
	return peak
}

// BenchmarkAgentFootprint runs a long-lived vigil-agent against a server,
// scanning VIGIL_BENCH_AGENT_TREE (examples/ by default; point it at a Go
// module cache for the large-tree figure). Once the server has the scan
// and the agent's outbox is empty it lets the agent idle, then reports the
// agent's resident set while idle, its peak over the scan, and the size of
// its binaries (the agent's; the scan worker's is reported apart).
func BenchmarkAgentFootprint(b *testing.B) {
	tree := os.Getenv("VIGIL_BENCH_AGENT_TREE")
	if tree == "" {
		tree = examplesDir()
	}
	bin, err := os.Stat(bins.agent)
	if err != nil {
		b.Fatal(err)
	}
	wbin, err := os.Stat(filepath.Join(filepath.Dir(bins.agent), "vigil-agent-scan"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		nats := startNATS(b)
		srv := startServer(b, nats.url())
		began := time.Now()
		p := start(b, "vigil-agent", bins.agent, "--nats-url", nats.url(), "--tenant", "bench", "--id", "footprint",
			"--data-dir", b.TempDir(), "--interval", "24h", "--heartbeat-interval", "1s", tree)
		agents := vigilv1.NewAgentServiceClient(srv.conn)
		waitFor(b, 2*time.Hour, "the agent's first scan delivered", func() bool {
			resp, err := agents.ListAgents(context.Background(), &vigilv1.ListAgentsRequest{Tenant: "bench"})
			if err != nil || len(resp.Agents) != 1 {
				return false
			}
			a := resp.Agents[0]
			return a.LastScan != nil && a.OutboxDepth == 0 && a.LastHeartbeatSent.AsTime().After(a.LastScan.AsTime())
		})
		scanned := time.Since(began)
		time.Sleep(10 * time.Second) // idle: heartbeats only
		idle, err := procStatus(p.cmd.Process.Pid, "VmRSS")
		if err != nil {
			b.Fatal(err)
		}
		peak, err := peakRSS(p.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		// The scan ran in vigil-agent-scan, which the agent logs with its
		// peak: the agent's peak counts both, as if they peaked together.
		worker := workerPeak(p.out.String())
		if worker == 0 {
			b.Fatalf("no scan worker peak in the agent's log:\n%s", tail(p.out.String(), 20))
		}
		peak += worker
		anon, _ := procStatus(p.cmd.Process.Pid, "RssAnon")
		file, _ := procStatus(p.cmd.Process.Pid, "RssFile")
		b.Logf("idle resident set: %d MB anonymous (heap, stacks), %d MB mapped from files (binary, outbox)", anon>>20, file>>20)
		b.ReportMetric(float64(idle)/(1<<20), "idle-MB")
		b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
		b.ReportMetric(float64(worker)/(1<<20), "worker-peak-MB")
		b.ReportMetric(float64(bin.Size())/(1<<20), "binary-MB")
		b.ReportMetric(float64(wbin.Size())/(1<<20), "worker-binary-MB")
		b.ReportMetric(scanned.Seconds(), "first-scan-s")
	}
}
