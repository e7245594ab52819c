package bus

// Permissions are the subjects a NATS identity may publish and subscribe
// to. They are the authorization half of the wire contract: an agent can
// speak only for itself, a SIEM can read only the events of its tenants.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// InboxPrefix is the reply-subject prefix a client must use
// (nats.CustomInboxPrefix), so that no identity can read another's replies.
func InboxPrefix(role, name string) string { return "_INBOX." + role + "." + name }

// AgentInboxPrefix is the inbox prefix of an agent.
func AgentInboxPrefix(tenant, agent string) string { return InboxPrefix("agent", tenant+"."+agent) }

// AgentPermissions allow an agent to publish its findings and heartbeats
// and to ask the server for its stored control requests; replies reach it
// under its own inbox prefix. It has no JetStream API at all: nothing it
// may send names a consumer or a stream.
func AgentPermissions(tenant, agent string) Permissions {
	return Permissions{
		Publish: []string{
			FindingsSubject(tenant, agent),
			AgentsSubject(tenant, agent),
			ControlReadSubject(tenant, agent),
		},
		Subscribe: []string{AgentInboxPrefix(tenant, agent) + ".>"},
	}
}

// AllTenants is the tenant of a credential over every tenant.
const AllTenants = "*"

// SIEMConsumer is the name of the one durable consumer of VIGIL_EVENTS a
// SIEM credential keeps per tenant: "<siem>~<tenant>", or "<siem>~~all"
// for a credential over every tenant. Ids cannot hold '~', so no name of
// one tenant is a name of another.
func SIEMConsumer(siem, tenant string) string {
	if tenant == AllTenants {
		return siem + "~~all"
	}
	return siem + "~" + tenant
}

// SIEMTailConsumer is the short-lived consumer `vigil events tail --replay`
// reads through, beside the SIEM's durable one.
func SIEMTailConsumer(siem, tenant string) string { return SIEMConsumer(siem, tenant) + "~tail" }

// EventsFilter is the subject filter of a tenant's events.
func EventsFilter(tenant string) string {
	if tenant == AllTenants {
		return "vigil.events.>"
	}
	return "vigil.events." + tenant + ".>"
}

// SIEMPermissions allow a SIEM to subscribe to the events of its tenants
// live, and to create, read, acknowledge and delete only its own named
// consumers of VIGIL_EVENTS, each filtered inside one tenant's events.
// The filter is part of the create subject, so a consumer cannot be made
// (or updated) to read beyond it; every other JetStream call is refused.
func SIEMPermissions(name string, tenants []string) Permissions {
	p := Permissions{Subscribe: []string{InboxPrefix("siem", name) + ".>"}}
	for _, t := range tenants {
		events := EventsFilter(t)
		p.Subscribe = append(p.Subscribe, events)
		for _, c := range []string{SIEMConsumer(name, t), SIEMTailConsumer(name, t)} {
			p.Publish = append(p.Publish,
				"$JS.API.CONSUMER.CREATE."+EventsStream+"."+c+"."+events,
				"$JS.API.CONSUMER.MSG.NEXT."+EventsStream+"."+c,
				"$JS.API.CONSUMER.INFO."+EventsStream+"."+c,
				"$JS.API.CONSUMER.DELETE."+EventsStream+"."+c,
				"$JS.ACK."+EventsStream+"."+c+".>",
			)
		}
	}
	return p
}
