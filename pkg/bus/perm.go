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

// AgentPermissions allow an agent to publish its findings and heartbeats,
// and to read its own control requests through an ephemeral consumer.
func AgentPermissions(tenant, agent string) Permissions {
	control := ControlSubject(tenant, agent)
	return Permissions{
		Publish: []string{
			FindingsSubject(tenant, agent),
			AgentsSubject(tenant, agent),
			"$JS.API.STREAM.INFO." + ControlStream,
			// The filter subject is part of the create subject, so the
			// agent can only create consumers over its own control subject.
			"$JS.API.CONSUMER.CREATE." + ControlStream + ".*." + control,
			"$JS.API.CONSUMER.MSG.NEXT." + ControlStream + ".*",
			"$JS.API.CONSUMER.INFO." + ControlStream + ".*",
			"$JS.API.CONSUMER.DELETE." + ControlStream + ".*",
		},
		Subscribe: []string{AgentInboxPrefix(tenant, agent) + ".>"},
	}
}

// SIEMPermissions allow a SIEM to subscribe to the events of its tenants,
// live or through consumers of the events stream filtered to them.
func SIEMPermissions(name string, tenants []string) Permissions {
	p := Permissions{
		Publish: []string{
			"$JS.API.STREAM.INFO." + EventsStream,
			"$JS.API.CONSUMER.MSG.NEXT." + EventsStream + ".*",
			"$JS.API.CONSUMER.INFO." + EventsStream + ".*",
			"$JS.API.CONSUMER.DELETE." + EventsStream + ".*",
		},
		Subscribe: []string{InboxPrefix("siem", name) + ".>"},
	}
	for _, t := range tenants {
		events := "vigil.events." + t + ".>"
		if t == "*" {
			events = "vigil.events.>"
		}
		p.Subscribe = append(p.Subscribe, events)
		p.Publish = append(p.Publish, "$JS.API.CONSUMER.CREATE."+EventsStream+".*."+events)
	}
	return p
}
