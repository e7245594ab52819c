package server

import (
	"encoding/json"
	"strings"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
)

// An event larger than one message is trimmed with a marker, not dropped,
// and keeps its id.
func TestOversizedEventIsTrimmedNotDropped(t *testing.T) {
	big := strings.Repeat("x", 2*bus.MaxMessageSize)
	ev := &vigilv1.FindingEvent{Id: "ab12-7", Type: vigilv1.EventType_EVENT_TYPE_OPENED, Finding: &vigilv1.StoredFinding{Id: "f1",
		Finding: &vigilv1.Finding{Fingerprint: strings.Repeat("a", 64), CheckId: "VGL-CODE-001", Message: big, Pillar: vigilv1.Pillar_PILLAR_CODE,
			Severity: vigilv1.Severity_SEVERITY_HIGH, Resource: &vigilv1.Resource{Tenant: "acme", Name: "app"},
			Location: &vigilv1.Location{Path: "a.go", Snippet: big}}}}
	msg, err := eventMsg(ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Data) > bus.MaxMessageSize {
		t.Fatalf("message of %d bytes", len(msg.Data))
	}
	var out struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Metadata.UID != "ab12-7" || !strings.Contains(string(msg.Data), "[trimmed: the event was") {
		t.Fatalf("uid %q, marker present: %v", out.Metadata.UID, strings.Contains(string(msg.Data), "[trimmed"))
	}
	if len(ev.Finding.Finding.Message) != len(big) {
		t.Fatal("the stored event was changed")
	}
}
