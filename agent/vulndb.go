package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// VulnDBFromServer is the --vuln-db value that takes the vulnerability
// data from the server: the bundle its operator imported (vigil-server db
// import), fetched into the data dir when it changes and used from the
// next scan on.
const VulnDBFromServer = "server"

// maxVulnDB bounds the bundle an agent accepts from its server.
const maxVulnDB = 4 << 30

// localVulnDB is where the agent keeps its copy of the server's bundle.
func (c *Config) localVulnDB() string { return filepath.Join(c.DataDir, "vulndb.zip") }

// roundSpec is the spec a scan round runs with: with --vuln-db server, the
// local copy of the server's bundle, fetched first when the server has
// another; without a copy, no vulnerability data (which the round's
// coverage says).
func (a *Agent) roundSpec(ctx context.Context) Spec {
	spec := a.cfg.Spec
	if spec.VulnDB != VulnDBFromServer {
		return spec
	}
	path, err := a.syncVulnDB(ctx)
	if err != nil {
		a.log.Warn("vulnerability data not fetched from the server; the last copy is used", "err", err, "copy", path)
	}
	spec.VulnDB = path
	return spec
}

// checkSpec is the spec checked at start: the local copy, if any, stands
// for the server's data.
func (c *Config) checkSpec() Spec {
	spec := c.Spec
	if spec.VulnDB == VulnDBFromServer {
		spec.VulnDB = ""
		if _, err := os.Stat(c.localVulnDB()); err == nil {
			spec.VulnDB = c.localVulnDB()
		}
	}
	return spec
}

// syncVulnDB makes the local copy the server's current bundle and returns
// its path ("" when there is none yet).
func (a *Agent) syncVulnDB(ctx context.Context) (string, error) {
	local := a.cfg.localVulnDB()
	have := ""
	if _, err := os.Stat(local); err == nil {
		b, _ := os.ReadFile(local + ".sha256")
		have = strings.TrimSpace(string(b))
	} else {
		local = ""
	}
	if a.nc == nil || !a.nc.IsConnected() {
		return local, errors.New("not connected to NATS")
	}
	cur, err := a.vulnRead(ctx, &vigilv1.VulnDBRead{})
	switch {
	case err != nil:
		return local, err
	case cur.GetDigest() == "" || cur.GetDigest() == have:
		return local, nil
	case cur.GetSize() <= 0 || cur.GetSize() > maxVulnDB:
		return local, fmt.Errorf("the server's bundle is %d bytes", cur.GetSize())
	}
	dst := a.cfg.localVulnDB()
	tmp := dst + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return local, err
	}
	defer os.Remove(tmp)
	for off := int64(0); off < cur.GetSize(); {
		p, err := a.vulnRead(ctx, &vigilv1.VulnDBRead{Digest: cur.GetDigest(), Offset: off})
		if err == nil && len(p.GetData()) == 0 {
			err = errors.New("the server sent an empty piece")
		}
		if err == nil {
			_, err = f.Write(p.GetData())
		}
		if err != nil {
			f.Close()
			return local, fmt.Errorf("fetch vulnerability data at %d of %d bytes: %w", off, cur.GetSize(), err)
		}
		off += int64(len(p.GetData()))
	}
	if err := f.Close(); err != nil {
		return local, err
	}
	got, err := vuln.DigestFile(tmp)
	if err != nil {
		return local, err
	}
	if got != cur.GetDigest() {
		return local, fmt.Errorf("the fetched bundle hashes to %s, the server named %s", got, cur.GetDigest())
	}
	if err := os.Rename(tmp, dst); err != nil {
		return local, err
	}
	if err := os.WriteFile(dst+".sha256", []byte(cur.GetDigest()+"\n"), 0o600); err != nil {
		return dst, err
	}
	a.log.Info("vulnerability data updated from the server", "digest", cur.GetDigest()[:12], "bytes", cur.GetSize(),
		"created", cur.GetCreated().AsTime().Format(time.RFC3339))
	return dst, nil
}

// vulnRead asks the server for its vulnerability bundle or a piece of it.
func (a *Agent) vulnRead(ctx context.Context, req *vigilv1.VulnDBRead) (*vigilv1.VulnDBPiece, error) {
	data, err := proto.Marshal(&vigilv1.ControlRead{VulnDb: req})
	if err != nil {
		return nil, err
	}
	wait := 2 * time.Minute // a piece may wait for the server to copy the bundle out of its store
	if req.GetDigest() == "" {
		wait = 15 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	msg, err := a.nc.RequestWithContext(rctx, a.cfg.sender().ControlReadSubject(), data)
	if err != nil {
		return nil, fmt.Errorf("vulnerability data: %w", err)
	}
	reply := &vigilv1.ControlReadReply{}
	if err := proto.Unmarshal(msg.Data, reply); err != nil {
		return nil, fmt.Errorf("vulnerability data: %w", err)
	}
	if reply.Error != "" {
		return nil, fmt.Errorf("vulnerability data: server: %s", reply.Error)
	}
	if reply.VulnDb == nil {
		return nil, errors.New("vulnerability data: the server does not hand any out (older than this agent?)")
	}
	return reply.VulnDb, nil
}
