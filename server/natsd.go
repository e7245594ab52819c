package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/jwt/v2"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pki"
	"github.com/vigilsec/vigil/server/trust"
)

// startNATS starts an embedded NATS server with JetStream storing in dir.
// With a trust it requires TLS with client certificates from the CA and
// authenticates users by JWTs of the Vigil account, whose permissions
// confine each agent to its own subjects.
func startNATS(listen, dir string, tr *trust.Trust, certs *pki.Reloader) (*natsserver.Server, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats listen %q: bad port", listen)
	}
	opts := &natsserver.Options{
		ServerName: "vigil-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: int32(bus.MaxMessageSize + 16*1024),
		NoSigs:     true,
		NoLog:      true,
	}
	if tr != nil {
		op, err := jwt.DecodeOperatorClaims(tr.OperatorJWT)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: operator: %w", err)
		}
		res := &natsserver.MemAccResolver{}
		if err := res.Store(tr.AccountKey, tr.AccountJWT); err != nil {
			return nil, fmt.Errorf("embedded NATS: account: %w", err)
		}
		if err := res.Store(tr.SystemKey, tr.SystemJWT); err != nil {
			return nil, fmt.Errorf("embedded NATS: system account: %w", err)
		}
		opts.TrustedOperators = []*jwt.OperatorClaims{op}
		opts.AccountResolver = res
		opts.SystemAccount = tr.SystemKey
		opts.TLSConfig = certs.ServerConfig(tls.RequireAndVerifyClientCert)
		opts.TLS = true
		opts.TLSVerify = true
		opts.TLSTimeout = 5
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS on %s did not start", listen)
	}
	return ns, nil
}
