package bus

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

const fp = "2bc5fefd21020e26eb773615be7b90cb7032231884f2e3a49f0c59d32157f100"

func batch(tenant, agent string) []byte {
	return batchOf(tenant, agent, func(*vigilv1.Finding) {})
}

// batchOf is a valid batch whose one finding edit changes.
func batchOf(tenant, agent string, edit func(*vigilv1.Finding)) []byte {
	f := &vigilv1.Finding{Fingerprint: fp, CheckId: "VGL-CLUSTER-001", Resource: &vigilv1.Resource{Tenant: tenant},
		Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH}
	edit(f)
	m := &vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: &vigilv1.FindingBatch{
		ScanId: "s1", Seq: 1, Scope: &vigilv1.Scope{Tenant: tenant, Agent: agent, Scanner: "kubernetes", Target: "/m"},
		Findings: []*vigilv1.Finding{f},
	}}}
	b, _ := proto.Marshal(m)
	return b
}

func TestDecodeScanMsg(t *testing.T) {
	if _, err := DecodeScanMsg(FindingsSubject("acme", "a1"), batch("acme", "a1")); err != nil {
		t.Fatalf("valid batch rejected: %v", err)
	}
	cases := map[string]struct {
		subject string
		data    []byte
		reason  string
	}{
		"other agent's subject": {FindingsSubject("acme", "a2"), batch("acme", "a1"), ReasonSubjectMismatch},
		"other tenant":          {FindingsSubject("globex", "a1"), batch("acme", "a1"), ReasonSubjectMismatch},
		"garbage":               {FindingsSubject("acme", "a1"), []byte("\xff\xff\xff not protobuf"), ReasonDecode},
		"empty":                 {FindingsSubject("acme", "a1"), nil, ReasonInvalid},
		"too large":             {FindingsSubject("acme", "a1"), make([]byte, MaxMessageSize+1), ReasonTooLarge},
		"bad subject":           {"vigil.findings.acme", batch("acme", "a1"), ReasonSubjectMismatch},
		"unknown severity":      {FindingsSubject("acme", "a1"), batchOf("acme", "a1", func(f *vigilv1.Finding) { f.Severity = 99 }), ReasonInvalid},
		"unknown pillar":        {FindingsSubject("acme", "a1"), batchOf("acme", "a1", func(f *vigilv1.Finding) { f.Pillar = -3 }), ReasonInvalid},
		"no severity":           {FindingsSubject("acme", "a1"), batchOf("acme", "a1", func(f *vigilv1.Finding) { f.Severity = 0 }), ReasonInvalid},
		"check id too long": {FindingsSubject("acme", "a1"), batchOf("acme", "a1", func(f *vigilv1.Finding) {
			f.CheckId = strings.Repeat("X", 200)
		}), ReasonInvalid},
	}
	for name, c := range cases {
		_, err := DecodeScanMsg(c.subject, c.data)
		r, ok := IsReject(err)
		if !ok || r.Reason != c.reason {
			t.Errorf("%s: err = %v, want reason %s", name, err, c.reason)
		}
	}
	bad := &vigilv1.ScanMessage{Payload: &vigilv1.ScanMessage_Batch{Batch: &vigilv1.FindingBatch{
		ScanId: "s1", Scope: &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "k", Target: "t"},
		GoneFingerprints: []string{strings.ToUpper(fp)},
	}}}
	b, _ := proto.Marshal(bad)
	if _, err := DecodeScanMsg(FindingsSubject("acme", "a1"), b); err == nil {
		t.Error("upper-case fingerprint accepted")
	}
}

func TestValidateID(t *testing.T) {
	for _, ok := range []string{"acme", "a-1", "A_b"} {
		if ValidateID("tenant", ok) != nil {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "a.b", "a*", "a>", "a b", strings.Repeat("x", 65)} {
		if ValidateID("tenant", bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzDecodeScanMsg(f *testing.F) {
	f.Add("vigil.findings.acme.a1", batch("acme", "a1"))
	f.Add("vigil.findings.acme.a1.nodes", batch("acme", "a1"))
	f.Add("vigil.findings.acme.a1", []byte{0x12, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		m, err := DecodeScanMsg(subject, data)
		if err == nil && m == nil {
			t.Fatal("nil message without error")
		}
		DecodeHeartbeat(subject, data)
	})
}

func FuzzDecodeHeartbeat(f *testing.F) {
	hb, _ := proto.Marshal(&vigilv1.Heartbeat{Tenant: "acme", Agent: "a1", Version: "1", Scopes: []*vigilv1.Scope{{Tenant: "acme", Agent: "a1", Scanner: "s", Target: "t"}}})
	f.Add("vigil.agents.acme.a1", hb)
	f.Add("vigil.agents.acme.a1.nodes", hb)
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		h, err := DecodeHeartbeat(subject, data)
		sender, perr := ParseSender("agents", subject)
		if err == nil && (h == nil || perr != nil || sender.Tenant != h.Tenant || sender.ID() != h.Agent) {
			t.Fatalf("heartbeat %v accepted on %s", h, subject)
		}
	})
}

func FuzzDecodeResendRequest(f *testing.F) {
	req, _ := proto.Marshal(&vigilv1.ResendRequest{Scope: &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "s", Target: "t"}, Reason: "x"})
	f.Add("vigil.control.acme.a1", req)
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		r, err := DecodeResendRequest(subject, data)
		if err == nil && ControlSubject(r.Scope.Tenant, r.Scope.Agent) != subject {
			t.Fatalf("request %v accepted on %s", r, subject)
		}
	})
}
