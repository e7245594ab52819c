package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/scan"
	"github.com/vigilsec/vigil/server/store"
)

// BenchmarkStoredBytes measures the bytes a stored finding costs: the
// findings of a real scan of examples/ (every pillar, with titles,
// remediations, snippets and references as the scanners write them), spread
// over 2,000 scopes of 10 tenants as if each agent had found them in its own
// tree, written through the store's ingest path. It reports the file's bytes
// in use (less bbolt's free pages) per finding, and logs the share of each
// bucket.
func BenchmarkStoredBytes(b *testing.B) {
	cat, err := checks.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	rep, err := scan.New(cat).Run(context.Background(), []string{examplesDir()}, "")
	if err != nil {
		b.Fatal(err)
	}
	if len(rep.Findings) < 50 {
		b.Fatalf("examples/ gave %d findings; the sample is too small to measure", len(rep.Findings))
	}
	const scopes = 2000
	for i := 0; i < b.N; i++ {
		s, err := store.Open(filepath.Join(b.TempDir(), "vigil.db"), store.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		for sc := 0; sc < scopes; sc++ {
			tenant := fmt.Sprintf("tenant-%d", sc%10)
			scope := &vigilv1.Scope{Tenant: tenant, Agent: fmt.Sprintf("agent-%04d", sc), Scanner: "all", Target: fmt.Sprintf("repo://git.example.org/team-%d/service-%d", sc%50, sc)}
			batch := &vigilv1.FindingBatch{ScanId: "scan-1", Scope: scope, Full: true, Seq: 1}
			for _, f := range rep.Findings {
				c := proto.Clone(f).(*vigilv1.Finding)
				sum := sha256.Sum256([]byte(f.Fingerprint + scope.Agent))
				c.Fingerprint = hex.EncodeToString(sum[:])
				if c.Resource == nil {
					c.Resource = &vigilv1.Resource{}
				}
				c.Resource.Tenant = tenant
				batch.Findings = append(batch.Findings, c)
			}
			at := now.Add(time.Duration(sc) * time.Millisecond) // scans land one after another
			if err := s.Update(func(w *store.Writer) error { return w.ApplyBatch(batch, at) }); err != nil {
				b.Fatal(err)
			}
		}
		fp, err := s.Footprint()
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		// The events outbox is left out: the server empties it as the events
		// stream acknowledges, and no server runs here.
		n := float64(fp.Findings)
		var used int64
		for name, bytes := range fp.Buckets {
			if name != "event_outbox" {
				used += bytes
			}
		}
		b.ReportMetric(float64(used)/n, "bytes/finding")
		names := make([]string, 0, len(fp.Buckets))
		for name := range fp.Buckets {
			names = append(names, name)
		}
		sort.Slice(names, func(i, j int) bool { return fp.Buckets[names[i]] > fp.Buckets[names[j]] })
		for _, name := range names {
			if fp.Buckets[name] > 0 {
				b.Logf("%-14s %6.0f bytes/finding in pages, %6.0f filled", name, float64(fp.Buckets[name])/n, float64(fp.InUse[name])/n)
			}
		}
	}
}
