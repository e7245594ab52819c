package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/vuln"
)

// vulnCache keeps the current bundle on the server's disk, named by its
// digest, so pieces are read at their offset rather than by reading the
// object from its start each time.
type vulnCache struct {
	mu sync.Mutex
}

// readVulnDB answers an agent's VulnDBRead: the current bundle and, when
// the agent names it, the piece at the offset it asks.
func (s *Server) readVulnDB(ctx context.Context, req *vigilv1.VulnDBRead, reply *vigilv1.ControlReadReply) error {
	info, obs, ok, err := bus.CurrentVulnDB(ctx, s.js)
	if err != nil {
		return err
	}
	piece := &vigilv1.VulnDBPiece{}
	reply.VulnDb = piece
	if !ok {
		return nil
	}
	piece.Digest, piece.Size, piece.Created = info.Digest, info.Size, timestamppb.New(info.Created)
	if req.GetDigest() == "" {
		return nil
	}
	if req.GetDigest() != info.Digest {
		return fmt.Errorf("vulnerability bundle %s is no longer current (now %s)", req.GetDigest(), info.Digest)
	}
	if req.GetOffset() < 0 || req.GetOffset() > info.Size {
		return fmt.Errorf("offset %d outside the bundle's %d bytes", req.GetOffset(), info.Size)
	}
	path := filepath.Join(s.cfg.DataDir, "vulndb", info.Digest+".zip")
	s.vulns.mu.Lock()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		err = s.fetchVulnDB(ctx, obs, path, info.Digest)
		if err != nil {
			s.vulns.mu.Unlock()
			return err
		}
	}
	s.vulns.mu.Unlock()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, min(int64(bus.VulnDBPiece), info.Size-req.GetOffset()))
	n, err := f.ReadAt(buf, req.GetOffset())
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	piece.Data = buf[:n]
	return nil
}

// fetchVulnDB copies the current bundle from the object store to path,
// checking its digest, and removes the copies of older bundles.
func (s *Server) fetchVulnDB(ctx context.Context, obs jetstream.ObjectStore, path, digest string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := path + ".part"
	if err := obs.GetFile(ctx, bus.VulnDBObject, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("vulnerability store: %w", err)
	}
	got, err := vuln.DigestFile(tmp)
	if err != nil {
		return err
	}
	if got != digest {
		os.Remove(tmp)
		return fmt.Errorf("vulnerability store: the bundle's bytes hash to %s, its header says %s", got, digest)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.zip"))
	for _, o := range old {
		if o != path {
			os.Remove(o)
		}
	}
	return nil
}
