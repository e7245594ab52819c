package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// benchBatches builds scopes×perScope findings as full-scan batches of 500.
func benchBatches(scopes, perScope int) []*vigilv1.FindingBatch {
	var out []*vigilv1.FindingBatch
	for s := 0; s < scopes; s++ {
		scope := &vigilv1.Scope{Tenant: fmt.Sprintf("t%d", s%10), Agent: fmt.Sprintf("a%d", s), Scanner: "kubernetes", Target: "/fleet"}
		b := &vigilv1.FindingBatch{ScanId: "s1", Scope: scope, Full: true, Seq: 1}
		for i := 0; i < perScope; i++ {
			check := fmt.Sprintf("VGL-CLUSTER-%03d", 1+i%40)
			res := &vigilv1.Resource{Tenant: scope.Tenant, Provider: "kubernetes", Namespace: "ns", Kind: "Deployment", Name: fmt.Sprintf("app-%d", i/40)}
			b.Findings = append(b.Findings, &vigilv1.Finding{
				Fingerprint: finding.Fingerprint(check, res, "m.yaml", fmt.Sprint(i)), CheckId: check, Pillar: vigilv1.Pillar_PILLAR_CLUSTER,
				Severity: vigilv1.Severity(1 + i%5), Title: "Benchmark finding", Message: "container app violates " + check, Resource: res,
				Location:   &vigilv1.Location{Path: "m.yaml", StartLine: int32(i), EndLine: int32(i), Snippet: "privileged: true"},
				References: []string{"CIS-K8S-5.2.2"}, Tags: []string{"privileged-container"}, Scanner: "kubernetes",
			})
			if len(b.Findings) == 500 {
				out = append(out, b)
				b = &vigilv1.FindingBatch{ScanId: "s1", Scope: scope, Full: true, Seq: b.Seq + 1}
			}
		}
		if len(b.Findings) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// BenchmarkUpsert measures new findings written into the store, in
// transactions of the given size, reported as findings per second.
func BenchmarkUpsert(b *testing.B) {
	for _, perTx := range []int{2000} {
		b.Run(fmt.Sprintf("tx=%d", perTx), func(b *testing.B) {
			batches := benchBatches(200, 1000)
			total := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, err := Open(filepath.Join(b.TempDir(), "vigil.db"), Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for j := 0; j < len(batches); {
					n := 0
					err := s.Update(func(w *Writer) error {
						for ; j < len(batches) && n < perTx; j++ {
							n += len(batches[j].Findings)
							if err := w.ApplyBatch(batches[j], time.Now()); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
					total += n
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "findings/s")
		})
	}
}
