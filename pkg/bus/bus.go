// Package bus defines how Vigil talks over NATS JetStream: subjects, streams,
// message encoding and validation. Agents and the server both use it, so the
// wire contract lives in one place.
package bus

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// Stream names.
const (
	FindingsStream   = "VIGIL_FINDINGS"
	EventsStream     = "VIGIL_EVENTS"
	DeadLetterStream = "VIGIL_DEADLETTER"
	ControlStream    = "VIGIL_CONTROL"
)

// Header names.
const (
	HeaderContentType = "Content-Type"
	HeaderReason      = "Vigil-Reason"
	HeaderSubject     = "Vigil-Original-Subject"
	ContentProtobuf   = "application/protobuf"
	ContentJSON       = "application/json"
)

// MaxMessageSize bounds every message Vigil publishes or accepts; it stays
// under the NATS default max payload of 1 MiB.
const MaxMessageSize = 1000 * 1024

// DuplicateWindow is how long JetStream drops re-sends by Nats-Msg-Id.
const DuplicateWindow = 10 * time.Minute

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidateID checks that a tenant or agent id is one NATS subject token.
func ValidateID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%s %q: use 1 to 64 letters, digits, '-' or '_'", kind, id)
	}
	return nil
}

// FindingsSubject carries an agent's FindingBatch and ScanCompleted messages.
func FindingsSubject(tenant, agent string) string { return "vigil.findings." + tenant + "." + agent }

// ControlReadSubject carries an agent's requests for the control requests
// the server stored for it (ControlRead → ControlReadReply).
func ControlReadSubject(tenant, agent string) string {
	return "vigil.controlread." + tenant + "." + agent
}

// AgentsSubject carries an agent's heartbeats.
func AgentsSubject(tenant, agent string) string { return "vigil.agents." + tenant + "." + agent }

// ControlSubject carries requests from the server to one agent; the
// VIGIL_CONTROL stream keeps them until the agent reads them.
func ControlSubject(tenant, agent string) string { return "vigil.control." + tenant + "." + agent }

// EventsSubject carries lifecycle events for SIEMs.
func EventsSubject(tenant, pillar, severity string) string {
	return "vigil.events." + tenant + "." + pillar + "." + severity
}

// DeadLetterSubject carries messages the server could not use.
func DeadLetterSubject(reason string) string { return "vigil.deadletter." + reason }

// ParseFindingsSubject returns the sender of a findings subject, as
// published (vigil.findings.<tenant>.<agent>[.<credential>]) or as stored
// by a sharded stream (vigil.shard.<n>.findings.…).
func ParseFindingsSubject(subject string) (Sender, error) {
	if rest, ok := strings.CutPrefix(subject, "vigil.shard."); ok {
		if _, tail, ok := strings.Cut(rest, "."); ok {
			subject = "vigil." + tail
		}
	}
	return ParseSender("findings", subject)
}

// Write scale-out: with shards > 1 the NATS account maps each agent's
// findings subject onto one of the shards, by a hash of tenant and agent,
// and the findings stream stores the mapped subjects; server shard n
// consumes vigil.shard.<n>.findings.>. Every message of one agent lands in
// the same shard, so a scope lives in exactly one shard's store.

// ShardMappings returns the NATS subject mappings (source → destination)
// that partition findings subjects into shards, those of agents with
// their own credential and of tenant-wide ones; put them in the account's
// configuration (mappings = { source: destination, … }).
func ShardMappings(shards int) map[string]string {
	return map[string]string{
		"vigil.findings.*.*":   fmt.Sprintf("vigil.shard.{{partition(%d,1,2)}}.findings.{{wildcard(1)}}.{{wildcard(2)}}", shards),
		"vigil.findings.*.*.*": fmt.Sprintf("vigil.shard.{{partition(%d,1,2)}}.findings.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}", shards),
	}
}

// FindingsFilter is the filter subject of a server's consumer: every
// findings subject unsharded, one shard's otherwise (shard < 0: all shards).
func FindingsFilter(shards, shard int) string {
	switch {
	case shards <= 1:
		return "vigil.findings.>"
	case shard < 0:
		return "vigil.shard.*.findings.>"
	}
	return fmt.Sprintf("vigil.shard.%d.findings.>", shard)
}

// EnsureStreams creates or updates the streams Vigil uses. replicas is the
// stream replica count (1 for a single server, 3 for a cluster); shards is
// the number of write shards (1: none), the same on every server.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, replicas, shards int) error {
	if replicas < 1 {
		replicas = 1
	}
	cfgs := []jetstream.StreamConfig{
		{Name: FindingsStream, Subjects: []string{FindingsFilter(shards, -1)}, Storage: jetstream.FileStorage, Replicas: replicas,
			Duplicates: DuplicateWindow, MaxMsgSize: MaxMessageSize, MaxAge: 7 * 24 * time.Hour, Discard: jetstream.DiscardOld},
		{Name: EventsStream, Subjects: []string{"vigil.events.>"}, Storage: jetstream.FileStorage, Replicas: replicas,
			MaxAge: 7 * 24 * time.Hour, MaxBytes: 8 << 30, Duplicates: DuplicateWindow},
		{Name: DeadLetterStream, Subjects: []string{"vigil.deadletter.>"}, Storage: jetstream.FileStorage, Replicas: replicas,
			MaxAge: 30 * 24 * time.Hour, MaxBytes: 1 << 30},
		// Control requests are kept so that an agent that was not running
		// (a --once agent between runs) reads them at its next start.
		{Name: ControlStream, Subjects: []string{"vigil.control.>"}, Storage: jetstream.FileStorage, Replicas: replicas,
			MaxAge: 30 * 24 * time.Hour, MaxMsgsPerSubject: 1000, Discard: jetstream.DiscardOld},
	}
	for _, c := range cfgs {
		if _, err := js.CreateOrUpdateStream(ctx, c); err != nil {
			return fmt.Errorf("stream %s: %w", c.Name, err)
		}
	}
	return nil
}

// NewScanMsg encodes a scan message for publishing with its dedup id.
func NewScanMsg(subject, msgID string, m *vigilv1.ScanMessage) (*nats.Msg, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode scan message: %w", err)
	}
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("scan message is %d bytes, over the %d byte limit", len(data), MaxMessageSize)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(HeaderContentType, ContentProtobuf)
	msg.Header.Set(nats.MsgIdHdr, msgID)
	return msg, nil
}

// Reasons a message goes to the dead-letter subject.
const (
	ReasonTooLarge        = "too_large"
	ReasonDecode          = "decode"
	ReasonInvalid         = "invalid"
	ReasonSubjectMismatch = "subject_mismatch"
	ReasonApply           = "apply"
	// ReasonQuota: the sending agent went over an ingest quota.
	ReasonQuota = "quota"
)

// RejectError says why a message is unusable; Reason names the dead-letter
// subject it goes to.
type RejectError struct {
	Reason string
	Err    error
}

func (e *RejectError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *RejectError) Unwrap() error { return e.Err }

func reject(reason string, format string, args ...any) error {
	return &RejectError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// DecodeScanMsg decodes and validates a message from a findings subject:
// size, encoding, required fields, fingerprint shape, and that the scope's
// tenant and agent are those of the subject.
func DecodeScanMsg(subject string, data []byte) (*vigilv1.ScanMessage, error) {
	if len(data) > MaxMessageSize {
		return nil, reject(ReasonTooLarge, "message of %d bytes exceeds %d", len(data), MaxMessageSize)
	}
	sender, err := ParseFindingsSubject(subject)
	if err != nil {
		return nil, reject(ReasonSubjectMismatch, "%w", err)
	}
	tenant := sender.Tenant
	m := &vigilv1.ScanMessage{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, reject(ReasonDecode, "%w", err)
	}
	if err := validEnums(m.ProtoReflect()); err != nil {
		return nil, reject(ReasonInvalid, "%w", err)
	}
	var scope *vigilv1.Scope
	var scanID string
	switch p := m.Payload.(type) {
	case *vigilv1.ScanMessage_Batch:
		scope, scanID = p.Batch.GetScope(), p.Batch.GetScanId()
		if err := validBatch(p.Batch, tenant); err != nil {
			return nil, err
		}
	case *vigilv1.ScanMessage_Completed:
		scope, scanID = p.Completed.GetScope(), p.Completed.GetScanId()
		if n := len(p.Completed.SetDigest); n != 32 && n != 0 {
			return nil, reject(ReasonInvalid, "set digest of %d bytes", n)
		}
	default:
		return nil, reject(ReasonInvalid, "empty scan message")
	}
	if scanID == "" {
		return nil, reject(ReasonInvalid, "scan id missing")
	}
	if scope == nil || scope.Scanner == "" || scope.Target == "" {
		return nil, reject(ReasonInvalid, "scope missing or incomplete")
	}
	if len(scope.Scanner) > 64 || len(scope.Target) > 4096 || len(scanID) > 256 {
		return nil, reject(ReasonInvalid, "scanner, target or scan id too long")
	}
	if scope.Tenant != tenant || scope.Agent != sender.Agent {
		return nil, reject(ReasonSubjectMismatch, "scope %s/%s on subject of %s/%s", scope.Tenant, scope.Agent, tenant, sender.Agent)
	}
	// The scope is the sender's, as its credential proves it.
	scope.Agent = sender.ID()
	return m, nil
}

// validBatch checks the findings of a batch: fingerprints, check ids,
// severity and pillar, and that each belongs to the subject's tenant.
func validBatch(b *vigilv1.FindingBatch, tenant string) error {
	for _, f := range b.Findings {
		if err := validFingerprint(f.GetFingerprint()); err != nil {
			return reject(ReasonInvalid, "%w", err)
		}
		if f.GetCheckId() == "" || len(f.GetCheckId()) > 128 {
			return reject(ReasonInvalid, "finding %s has no check id, or one over 128 bytes", f.GetFingerprint())
		}
		if f.GetSeverity() == vigilv1.Severity_SEVERITY_UNSPECIFIED || f.GetPillar() == vigilv1.Pillar_PILLAR_UNSPECIFIED {
			return reject(ReasonInvalid, "finding %s has no severity or no pillar", f.GetFingerprint())
		}
		if f.GetResource().GetTenant() != tenant {
			return reject(ReasonSubjectMismatch, "finding of tenant %q on a subject of tenant %q", f.GetResource().GetTenant(), tenant)
		}
	}
	for _, fp := range b.GoneFingerprints {
		if err := validFingerprint(fp); err != nil {
			return reject(ReasonInvalid, "%w", err)
		}
	}
	return nil
}

// validEnums checks that every enum value of m, nested messages and lists
// included, is one the schema declares: an unknown number would be stored
// and shown as a bare integer.
func validEnums(m protoreflect.Message) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					err = validEnums(mv.Message())
					return err == nil
				})
			}
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				switch fd.Kind() {
				case protoreflect.EnumKind:
					err = knownEnum(fd, l.Get(i).Enum())
				case protoreflect.MessageKind:
					err = validEnums(l.Get(i).Message())
				}
			}
		case fd.Kind() == protoreflect.EnumKind:
			err = knownEnum(fd, v.Enum())
		case fd.Kind() == protoreflect.MessageKind:
			err = validEnums(v.Message())
		}
		return err == nil
	})
	return err
}

func knownEnum(fd protoreflect.FieldDescriptor, n protoreflect.EnumNumber) error {
	if fd.Enum().Values().ByNumber(n) == nil {
		return fmt.Errorf("%s = %d is not a value of %s", fd.Name(), n, fd.Enum().Name())
	}
	return nil
}

func validFingerprint(fp string) error {
	if len(fp) != 64 {
		return fmt.Errorf("fingerprint %q is not 64 hex digits", fp)
	}
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("fingerprint %q is not lower-case hex", fp)
		}
	}
	return nil
}

// DecodeHeartbeat decodes and validates a heartbeat against its subject.
func DecodeHeartbeat(subject string, data []byte) (*vigilv1.Heartbeat, error) {
	if len(data) > MaxMessageSize {
		return nil, reject(ReasonTooLarge, "heartbeat of %d bytes", len(data))
	}
	sender, err := ParseSender("agents", subject)
	if err != nil {
		return nil, reject(ReasonSubjectMismatch, "%w", err)
	}
	h := &vigilv1.Heartbeat{}
	if err := proto.Unmarshal(data, h); err != nil {
		return nil, reject(ReasonDecode, "%w", err)
	}
	if h.Tenant != sender.Tenant || h.Agent != sender.Agent {
		return nil, reject(ReasonSubjectMismatch, "heartbeat of %s/%s on subject of %s/%s", h.Tenant, h.Agent, sender.Tenant, sender.Agent)
	}
	// An agent names only its own scopes: the server retires those a
	// complete heartbeat leaves out.
	for _, sc := range h.Scopes {
		if sc.GetTenant() != sender.Tenant || sc.GetAgent() != sender.Agent {
			return nil, reject(ReasonSubjectMismatch, "heartbeat of %s/%s names a scope of %s/%s", h.Tenant, h.Agent, sc.GetTenant(), sc.GetAgent())
		}
		sc.Agent = sender.ID()
	}
	h.Agent = sender.ID()
	return h, nil
}

// IsReject reports whether err is a RejectError, and returns it.
func IsReject(err error) (*RejectError, bool) {
	var r *RejectError
	ok := errors.As(err, &r)
	return r, ok
}

// DecodeResendRequest decodes and validates a control request read from
// subject: it must name a complete scope of the subject's tenant and agent.
func DecodeResendRequest(subject string, data []byte) (*vigilv1.ResendRequest, error) {
	if len(data) > MaxMessageSize {
		return nil, reject(ReasonTooLarge, "control request of %d bytes", len(data))
	}
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[0] != "vigil" || parts[1] != "control" {
		return nil, reject(ReasonSubjectMismatch, "subject %q is not vigil.control.<tenant>.<agent>", subject)
	}
	req := &vigilv1.ResendRequest{}
	if err := proto.Unmarshal(data, req); err != nil {
		return nil, reject(ReasonDecode, "%w", err)
	}
	sc := req.GetScope()
	if sc == nil || sc.Scanner == "" || sc.Target == "" {
		return nil, reject(ReasonInvalid, "scope missing or incomplete")
	}
	if sc.Tenant != parts[2] || sc.Agent != parts[3] {
		return nil, reject(ReasonSubjectMismatch, "request for %s/%s on subject of %s/%s", sc.Tenant, sc.Agent, parts[2], parts[3])
	}
	return req, nil
}
