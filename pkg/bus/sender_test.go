package bus

import "testing"

func TestSenderSubjects(t *testing.T) {
	own := Sender{Tenant: "acme", Agent: "a1"}
	wide := Sender{Tenant: "acme", Agent: "a1", Via: "nodes"}
	if own.FindingsSubject() != FindingsSubject("acme", "a1") || own.ID() != "a1" || own.InboxPrefix() != AgentInboxPrefix("acme", "a1") {
		t.Fatalf("own sender: %s %s %s", own.FindingsSubject(), own.ID(), own.InboxPrefix())
	}
	if wide.FindingsSubject() != "vigil.findings.acme.a1.nodes" || wide.ID() != "a1@nodes" || wide.InboxPrefix() != "_INBOX.agent.acme.~nodes.a1" {
		t.Fatalf("wide sender: %s %s %s", wide.FindingsSubject(), wide.ID(), wide.InboxPrefix())
	}
	for _, s := range []Sender{own, wide} {
		for kind, subj := range map[string]string{"findings": s.FindingsSubject(), "agents": s.HeartbeatSubject(), "controlread": s.ControlReadSubject()} {
			got, err := ParseSender(kind, subj)
			if err != nil || got != s {
				t.Errorf("ParseSender(%s, %s) = %+v, %v", kind, subj, got, err)
			}
		}
	}
	sharded := "vigil.shard.1.findings.acme.a1.nodes"
	if got, err := ParseFindingsSubject(sharded); err != nil || got != wide {
		t.Errorf("ParseFindingsSubject(%s) = %+v, %v", sharded, got, err)
	}
	for _, bad := range []string{"vigil.findings.acme", "vigil.findings.acme.a1.nodes.x", "vigil.findings.acme.a@b", "vigil.agents.acme.a1", "vigil.findings.acme.a1.n@x"} {
		if _, err := ParseSender("findings", bad); err == nil {
			t.Errorf("ParseSender accepted %q", bad)
		}
	}
	if via, ok := ParseWideName("a1"); ok || via != "" {
		t.Errorf("ParseWideName(a1) = %q, %v", via, ok)
	}
	if via, ok := ParseWideName(WideName("nodes")); !ok || via != "nodes" {
		t.Errorf("ParseWideName(WideName(nodes)) = %q, %v", via, ok)
	}
	// A tenant-wide credential's permissions end in its name: it cannot
	// publish as an agent with its own credential.
	p := WidePermissions("acme", "nodes")
	for _, subj := range p.Publish {
		if subj == FindingsSubject("acme", "*") {
			t.Errorf("tenant-wide permissions include %s", subj)
		}
	}
}
