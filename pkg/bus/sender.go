package bus

import (
	"fmt"
	"strings"
)

// Sender is who publishes an agent's messages, as its credential proves:
// the tenant and agent id and, for a tenant-wide credential, the name of
// that credential (Via). Every subject a tenant-wide credential may publish
// on ends with its name, which its NATS permissions fix, so the server
// knows which credential spoke whatever the message claims: the agent
// "node-1" of the tenant-wide credential "nodes" is "node-1@nodes" to the
// server, its scopes apart from those of an agent "node-1" holding a
// credential of its own, which it can therefore never overwrite or resolve.
type Sender struct {
	Tenant, Agent, Via string
}

// widePrefix starts the certificate name of a tenant-wide agent credential.
const widePrefix = "*@"

// WideName is the certificate name of the tenant-wide agent credential via.
func WideName(via string) string { return widePrefix + via }

// ParseWideName returns the credential name of a tenant-wide certificate name.
func ParseWideName(name string) (via string, ok bool) {
	if via, ok = strings.CutPrefix(name, widePrefix); !ok {
		return "", false
	}
	return via, true
}

// ID is the agent's identity on the server: its id, qualified with the
// credential's name for a tenant-wide credential ("node-1@nodes").
func (s Sender) ID() string {
	if s.Via == "" {
		return s.Agent
	}
	return s.Agent + "@" + s.Via
}

func (s Sender) subject(kind string) string {
	sub := "vigil." + kind + "." + s.Tenant + "." + s.Agent
	if s.Via != "" {
		sub += "." + s.Via
	}
	return sub
}

// FindingsSubject carries the sender's scan messages.
func (s Sender) FindingsSubject() string { return s.subject("findings") }

// HeartbeatSubject carries the sender's heartbeats.
func (s Sender) HeartbeatSubject() string { return s.subject("agents") }

// ControlReadSubject carries the sender's reads of its control requests.
func (s Sender) ControlReadSubject() string { return s.subject("controlread") }

// InboxPrefix is where replies to the sender arrive. Agents of one
// tenant-wide credential share "_INBOX.agent.<tenant>.~<via>": they hold
// one key, and '~' keeps the space apart from every agent id's.
func (s Sender) InboxPrefix() string {
	if s.Via == "" {
		return AgentInboxPrefix(s.Tenant, s.Agent)
	}
	return wideInbox(s.Tenant, s.Via) + "." + s.Agent
}

func wideInbox(tenant, via string) string { return InboxPrefix("agent", tenant+".~"+via) }

// WidePermissions allow the agents of the tenant-wide credential via what
// AgentPermissions allow one agent, for any agent id of the tenant, on
// subjects that name the credential.
func WidePermissions(tenant, via string) Permissions {
	any := Sender{Tenant: tenant, Agent: "*", Via: via}
	return Permissions{
		Publish:   []string{any.FindingsSubject(), any.HeartbeatSubject(), any.ControlReadSubject()},
		Subscribe: []string{wideInbox(tenant, via) + ".>"},
	}
}

// ParseSender reads the sender of an agent subject of kind (findings,
// agents, controlread): vigil.<kind>.<tenant>.<agent>[.<via>].
func ParseSender(kind, subject string) (Sender, error) {
	parts := strings.Split(subject, ".")
	if (len(parts) != 4 && len(parts) != 5) || parts[0] != "vigil" || parts[1] != kind {
		return Sender{}, fmt.Errorf("subject %q is not vigil.%s.<tenant>.<agent>[.<credential>]", subject, kind)
	}
	s := Sender{Tenant: parts[2], Agent: parts[3]}
	if len(parts) == 5 {
		s.Via = parts[4]
		if err := ValidateID("credential", s.Via); err != nil {
			return Sender{}, err
		}
	}
	if err := ValidateID("tenant", s.Tenant); err != nil {
		return Sender{}, err
	}
	if err := ValidateID("agent", s.Agent); err != nil {
		return Sender{}, err
	}
	return s, nil
}
