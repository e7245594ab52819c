package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigilsec/vigil/server/trust"
)

// followAccount pushes each new version of the trust directory's account
// JWT (vigil-server revoke re-signs it) to NATS, where it takes effect at
// once: the connections of revoked users close and they cannot connect
// again. The version in force at start is pushed too, so an external NATS
// started from an older nats-auth.conf catches up.
func (s *Server) followAccount(ctx context.Context) {
	w, err := trust.Watch(s.trust.Path(trust.AccountJWT), func(path string, data []byte) (string, error) {
		if _, err := s.trust.VerifyAccount(string(data)); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return string(data), nil
	})
	if err != nil {
		s.log.Error("account JWT: revocations will not reach NATS", "err", err)
		return
	}
	var nc *nats.Conn
	defer func() {
		if nc != nil {
			nc.Close()
		}
	}()
	// Each distinct failure is logged once, not at every retry.
	pushed, badFile, badPush := "", "", ""
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := w.Err(); err != nil && err.Error() != badFile {
			badFile = err.Error()
			s.log.Error("account JWT changed but cannot be used; NATS keeps the previous one", "err", err)
		}
		if token := w.Get(); token != pushed {
			if nc == nil {
				nc, err = s.systemConn()
			}
			if err == nil {
				err = pushAccount(ctx, nc, s.trust.AccountKey, token)
			}
			switch {
			case err == nil:
				pushed, badPush = token, ""
				s.log.Info("account JWT pushed to NATS", "revoked_users", s.revokedUsers(token))
			case err.Error() != badPush:
				badPush = err.Error()
				s.log.Warn("account JWT not pushed to NATS: revocations wait (retried every second)", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// systemConn connects as the server's system-account user, which may only
// push account claims.
func (s *Server) systemConn() (*nats.Conn, error) {
	creds := s.trust.Path(trust.SystemCreds)
	if _, err := os.Stat(creds); err != nil {
		return nil, fmt.Errorf("%w (a trust made by an older init gets it from the next vigil-server command that issues or revokes)", err)
	}
	nc, err := nats.Connect(s.NATSURL(), nats.Secure(s.tls.ClientConfig("")), nats.UserCredentials(creds),
		nats.Name("vigil-server-system"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("connect NATS as the system user: %w", err)
	}
	return nc, nil
}

// pushAccount sends an account JWT to the NATS servers' claims-update
// service and reads the answer of one of them.
func pushAccount(ctx context.Context, nc *nats.Conn, account, token string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, fmt.Sprintf(trust.ClaimsUpdateSubject, account), []byte(token))
	if err != nil {
		return fmt.Errorf("claims update: %w", err)
	}
	var reply struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
		Data *struct {
			Message string `json:"message"`
		} `json:"data"`
	}
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return fmt.Errorf("claims update reply %q: %w", msg.Data, err)
	}
	if reply.Error != nil {
		return fmt.Errorf("claims update refused: %s", reply.Error.Description)
	}
	if reply.Data == nil {
		return errors.New("claims update: empty reply")
	}
	return nil
}

func (s *Server) revokedUsers(token string) int {
	ac, err := s.trust.VerifyAccount(token)
	if err != nil {
		return 0
	}
	return len(ac.Revocations)
}
