package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
)

// scanOfN is one full scan of n findings of scope in batches of per.
func scanOfN(scope *vigilv1.Scope, scanID string, n, per int) [][]byte {
	var out [][]byte
	var fps []string
	seq := uint32(0)
	for i := 0; i < n; i += per {
		var fs []*vigilv1.Finding
		for j := i; j < min(n, i+per); j++ {
			res := &vigilv1.Resource{Tenant: scope.Tenant, Kind: "Pod", Name: fmt.Sprintf("%s-p%d", scope.Target, j)}
			f := &vigilv1.Finding{Fingerprint: finding.Fingerprint("VGL-CLUSTER-001", res, "p.yaml", "x"), CheckId: "VGL-CLUSTER-001",
				Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH, Resource: res}
			fs = append(fs, f)
			fps = append(fps, f.Fingerprint)
		}
		seq++
		b, _ := proto.Marshal(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: &vigilv1.FindingBatch{ScanId: scanID, Seq: seq, Scope: scope, Full: true, Findings: fs}}})
		out = append(out, b)
	}
	d := finding.DigestOf(fps)
	c, _ := proto.Marshal(&vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Completed{Completed: &vigilv1.ScanCompleted{ScanId: scanID, Scope: scope, Batches: seq, Full: true,
		FindingCount: uint64(n), SetDigest: d[:]}}})
	return append(out, c)
}

func TestQuotaRefusesTheScanNotTheAgent(t *testing.T) {
	q := newQuota(Quotas{FindingsPerScan: 10, BytesPerMinute: 60_000})
	now := time.Now()
	big := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "big"}
	small := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "small"}
	decode := func(b []byte) *vigilv1.ScanMessage {
		m := &vigilv1.ScanMessage{}
		proto.Unmarshal(b, m)
		return m
	}
	msgs := scanOfN(big, "s1", 25, 10)
	if r, _ := q.admit(decode(msgs[0]), 100, true, now); r != nil {
		t.Fatalf("first batch of 10 refused: %s", r.what)
	}
	// The second batch goes over: it and the rest of the scan are refused,
	// announced once.
	r, first := q.admit(decode(msgs[1]), 100, true, now)
	if r == nil || !first || !strings.Contains(r.what, "more than 10 findings") {
		t.Fatalf("second batch: %+v, first %v", r, first)
	}
	for _, m := range msgs[2:] {
		if r, first := q.admit(decode(m), 100, true, now); r == nil || first {
			t.Fatalf("rest of the refused scan: %+v, first %v", r, first)
		}
	}
	// Another scope of the same agent goes on; a redelivery counts nothing.
	for _, m := range scanOfN(small, "s2", 10, 10) {
		if r, _ := q.admit(decode(m), 100, true, now); r != nil {
			t.Fatalf("other scope refused: %s", r.what)
		}
	}
	again := scanOfN(small, "s3", 10, 10)
	if r, _ := q.admit(decode(again[0]), 100, false, now); r != nil {
		t.Fatal("a redelivery was refused")
	}
	// Bytes: a minute's worth, then refused, refilled as time passes; a
	// refused message takes nothing from the budget.
	scan := func(id string) *vigilv1.ScanMessage { return decode(scanOfN(small, id, 1, 1)[0]) }
	if r, _ := q.admit(scan("b1"), 59_000, true, now); r != nil {
		t.Fatal(r.what)
	}
	if r, first := q.admit(scan("b2"), 2_000, true, now); r == nil || !first || !strings.Contains(r.what, "bytes in a minute") {
		t.Fatalf("over the byte budget: %+v", r)
	}
	if r, _ := q.admit(scan("b3"), 2_000, true, now.Add(3*time.Second)); r != nil {
		t.Fatalf("after refill: %s", r.what)
	}
	if len(q.scans) > 10 {
		t.Fatalf("%d scans tracked", len(q.scans))
	}
	q.sweep(now.Add(2 * scanMemory))
	if len(q.scans) != 0 || len(q.buckets) != 0 {
		t.Fatalf("after a sweep %d scans, %d buckets", len(q.scans), len(q.buckets))
	}
}

// TestQuotaDeadLettersAndAnnounces runs an agent over its findings quota
// on one scope through a real server: that scan is dead-lettered with the
// reason and announced on the events stream; the agent's other scope is
// applied.
func TestQuotaDeadLettersAndAnnounces(t *testing.T) {
	s, _, js, _ := startServer(t, Config{Quotas: Quotas{FindingsPerScan: 20}})
	big := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "big"}
	small := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "small"}
	subj := bus.FindingsSubject("acme", "a1")
	for i, m := range scanOfN(big, "s1", 50, 10) {
		publish(t, js, subj, fmt.Sprintf("s1/%d", i), m)
	}
	for i, m := range scanOfN(small, "s2", 15, 10) {
		publish(t, js, subj, fmt.Sprintf("s2/%d", i), m)
	}
	eventually(t, "the small scope's scan", func() bool { return s.Stats().Scans == 1 })
	ctx := context.Background()
	dl, _ := js.Stream(ctx, bus.DeadLetterStream)
	eventually(t, "the rest of the big scan dead-lettered", func() bool {
		info, err := dl.Info(ctx, jetstream.WithSubjectFilter(bus.DeadLetterSubject(bus.ReasonQuota)))
		return err == nil && info.State.Subjects[bus.DeadLetterSubject(bus.ReasonQuota)] == 4 // batches 3 to 5 and the completion
	})
	m, err := dl.GetLastMsgForSubject(ctx, bus.DeadLetterSubject(bus.ReasonQuota))
	if err != nil || !strings.Contains(m.Header.Get(bus.HeaderReason), "quota") || m.Header.Get(bus.HeaderSubject) != subj {
		t.Fatalf("dead letter %v: %v", m, err)
	}
	ev, _ := js.Stream(ctx, bus.EventsStream)
	var raw *jetstream.RawStreamMsg
	eventually(t, "the ingest.quota event", func() bool {
		raw, err = ev.GetLastMsgForSubject(ctx, bus.EventsSubject("acme", "ingest", "quota"))
		return err == nil
	})
	var e struct {
		Message  string `json:"message"`
		Metadata struct {
			UID       string `json:"uid"`
			EventCode string `json:"event_code"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw.Data, &e); err != nil || e.Metadata.EventCode != "INGEST_QUOTA" || !strings.Contains(e.Message, "big") {
		t.Fatalf("quota event %s: %v", raw.Data, err)
	}
	info, _ := ev.Info(ctx, jetstream.WithSubjectFilter(bus.EventsSubject("acme", "ingest", "quota")))
	if n := info.State.Subjects[bus.EventsSubject("acme", "ingest", "quota")]; n != 1 {
		t.Fatalf("%d quota events for one refused scan", n)
	}
}
