package server

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// The stored finding under unmapped.vigil must read back as the same
// StoredFinding through the standard protobuf JSON decoder.
func TestEventJSONIsProtoJSON(t *testing.T) {
	now := timestamppb.New(time.Date(2026, 11, 25, 20, 0, 0, 123456789, time.UTC))
	evs := []*vigilv1.FindingEvent{
		{Type: vigilv1.EventType_EVENT_TYPE_RESOLVED, Time: now, Finding: &vigilv1.StoredFinding{
			Id: "ab", Status: vigilv1.Status_STATUS_RESOLVED, FirstSeen: now, LastSeen: now, TimesSeen: 7, LastChange: now, ResolvedAt: now,
			Scope: &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "/m"},
			Finding: &vigilv1.Finding{Fingerprint: "ff", CheckId: "VGL-CLUSTER-001", Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH,
				Title: "Privileged \"container\" <b>", Message: "m\nline", References: []string{"CIS"}, Tags: []string{"privileged-container"},
				Remediation: "r", Scanner: "kubernetes",
				Resource: &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Account: "1", Region: "eu", Namespace: "n", Kind: "Pod", Name: "p", Uri: "u"},
				Location: &vigilv1.Location{Path: "m.yaml", StartLine: 3, EndLine: 4, Snippet: "privileged: true"}},
		}},
		{Type: vigilv1.EventType_EVENT_TYPE_OPENED, Finding: &vigilv1.StoredFinding{Finding: &vigilv1.Finding{CheckId: "X"}}},
		{Type: vigilv1.EventType_EVENT_TYPE_SUPPRESSED, Time: now, Finding: &vigilv1.StoredFinding{Status: vigilv1.Status_STATUS_SUPPRESSED,
			Suppression: &vigilv1.Suppression{Id: "01", Fingerprint: "ff", CheckId: "VGL-1", Tenant: "acme", Account: "1", Namespace: "n", NamePattern: "p-*",
				Reason: "accepted", Author: "ann", Created: now, Expires: now, Ended: now, EndedBy: "expiry"},
			Finding: &vigilv1.Finding{CheckId: "VGL-1", SecretHash: "abc", Exemption: &vigilv1.Exemption{Reason: "r", Expires: now, Source: "annotation"}}}},
	}
	for _, ev := range evs {
		b, err := encodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		var oe struct {
			Unmapped struct {
				Vigil json.RawMessage `json:"vigil"`
			} `json:"unmapped"`
		}
		if err := json.Unmarshal(b, &oe); err != nil {
			t.Fatal(err)
		}
		back := &vigilv1.StoredFinding{}
		if err := protojson.Unmarshal(oe.Unmapped.Vigil, back); err != nil {
			t.Fatalf("protojson cannot read %s: %v", oe.Unmapped.Vigil, err)
		}
		if !proto.Equal(ev.Finding, back) {
			t.Fatalf("round trip changed the finding:\n%v\n%v", ev.Finding, back)
		}
	}
}
