package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The ingest histograms carry the boundaries chosen for their measured
// ranges (in seconds), and an fsync'ed ingest's transactions land inside
// them: not all in the first bucket, none past the last boundary.
func TestIngestHistogramBuckets(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(prev) })

	srv, _, js, _ := startServer(t, Config{})
	first, _ := buildFleet(t, 4, 3000)
	for _, m := range first {
		if _, err := js.Publish(context.Background(), m.subject, m.data); err != nil {
			t.Fatal(err)
		}
	}
	waitScans(t, srv, 4, time.Minute)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{"vigil.ingest.commit.duration": commitBuckets, "vigil.ingest.lag": lagBuckets}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			bounds, ok := want[m.Name]
			if !ok {
				continue
			}
			delete(want, m.Name)
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok || len(h.DataPoints) == 0 {
				t.Fatalf("%s: no histogram data", m.Name)
			}
			var count, first, over uint64
			for _, dp := range h.DataPoints {
				if !slices.Equal(dp.Bounds, bounds) {
					t.Fatalf("%s: boundaries %v, want %v", m.Name, dp.Bounds, bounds)
				}
				count += dp.Count
				first += dp.BucketCounts[0]
				over += dp.BucketCounts[len(dp.BucketCounts)-1]
			}
			// Transactions of 3,000 findings with fsync take longer than
			// the first boundary; nothing here takes past the last.
			if count == 0 || first == count || over > 0 {
				t.Errorf("%s: %d observations, %d in the first bucket, %d past the last boundary", m.Name, count, first, over)
			}
		}
	}
	for name := range want {
		t.Errorf("%s was not recorded", name)
	}
}
