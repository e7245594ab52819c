package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
)

// An agent reads the control requests stored for it, and only those, in
// pages, from the sequence after the last it applied.
func TestControlReadPagesAnAgentsRequests(t *testing.T) {
	s, nc, _, _ := startServer(t, Config{})
	for i := range 130 {
		s.requestResend(&vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/m" + string(rune('a'+i%26))})
		if i%10 == 0 {
			s.requestResend(&vigilv1.Scope{Tenant: "acme", Agent: "a2", Scanner: "kubernetes", Target: "/other"})
		}
	}
	read := func(subject string, after uint64) *vigilv1.ControlReadReply {
		t.Helper()
		data, _ := proto.Marshal(&vigilv1.ControlRead{AfterSeq: after})
		m, err := nc.RequestWithContext(context.Background(), subject, data)
		if err != nil {
			t.Fatal(err)
		}
		r := &vigilv1.ControlReadReply{}
		if err := proto.Unmarshal(m.Data, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	var got []*vigilv1.ControlEntry
	after, pages := uint64(0), 0
	for {
		r := read(bus.ControlReadSubject("acme", "a1"), after)
		if r.Error != "" {
			t.Fatal(r.Error)
		}
		pages++
		got = append(got, r.Entries...)
		if !r.More {
			break
		}
		after = r.Entries[len(r.Entries)-1].Seq
	}
	if len(got) != 130 || pages != 2 {
		t.Fatalf("read %d requests in %d pages, want 130 in 2", len(got), pages)
	}
	for i, e := range got {
		if e.Request.Scope.Agent != "a1" || (i > 0 && e.Seq <= got[i-1].Seq) {
			t.Fatalf("entry %d: seq %d for %v", i, e.Seq, e.Request.Scope)
		}
	}
	if r := read(bus.ControlReadSubject("acme", "a1"), got[len(got)-1].Seq); len(r.Entries) != 0 || r.More {
		t.Fatalf("after the last: %v", r)
	}
	if r := read(bus.ControlReadSubject("acme", "a2"), 0); len(r.Entries) != 13 {
		t.Fatalf("a2 has %d requests, want 13", len(r.Entries))
	}
	m, err := nc.Request(bus.ControlReadSubject("acme", "a1"), []byte{0xff, 0xff}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := &vigilv1.ControlReadReply{}
	if proto.Unmarshal(m.Data, r) != nil || r.Error == "" {
		t.Fatalf("a request that does not decode was answered %v", r)
	}
}
