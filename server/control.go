package server

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
)

// controlReadBatch bounds the entries of one ControlReadReply.
const controlReadBatch = 100

// onControlRead answers an agent's ControlRead with the control requests
// stored for it after the sequence it gave. The agent is the one of the
// subject, which NATS confines to its credentials: an agent never names a
// consumer or a stream, so it cannot read another's requests.
func (s *Server) onControlRead(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	reply := &vigilv1.ControlReadReply{}
	if err := s.readControl(m.Subject, m.Data, reply); err != nil {
		reply.Entries, reply.More, reply.Error = nil, false, err.Error()
		s.log.Warn("control read refused", "subject", m.Subject, "err", err)
	}
	data, err := proto.Marshal(reply)
	if err != nil {
		return
	}
	if err := m.Respond(data); err != nil {
		s.log.Debug("control read not answered", "subject", m.Subject, "err", err)
	}
}

func (s *Server) readControl(subject string, data []byte, reply *vigilv1.ControlReadReply) error {
	sender, err := bus.ParseSender("controlread", subject)
	if err != nil {
		return err
	}
	req := &vigilv1.ControlRead{}
	if len(data) > bus.MaxMessageSize {
		return errors.New("control read too large")
	}
	if err := proto.Unmarshal(data, req); err != nil {
		return err
	}
	if req.VulnDb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return s.readVulnDB(ctx, req.VulnDb, reply)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream := s.ctlStream
	subject = bus.ControlSubject(sender.Tenant, sender.ID())
	seq := req.AfterSeq + 1
	for len(reply.Entries) < controlReadBatch {
		raw, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		seq = raw.Sequence + 1
		rr, err := bus.DecodeResendRequest(raw.Subject, raw.Data)
		if err != nil {
			s.log.Warn("stored control request does not decode", "seq", raw.Sequence, "err", err)
			continue
		}
		// The agent knows itself by its id, not by the server's name for it.
		rr.Scope.Agent = sender.Agent
		reply.Entries = append(reply.Entries, &vigilv1.ControlEntry{Seq: raw.Sequence, Request: rr})
	}
	reply.More = true
	return nil
}
