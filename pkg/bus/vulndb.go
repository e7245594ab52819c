package bus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The vulnerability data a server hands its agents lives in a JetStream
// object store: one object, the current bundle, with its SHA-256 and the
// time it was made in headers. Agents never read the store: they ask the
// server (ControlRead with vuln_db), which reads it for them.
const (
	VulnDBBucket = "VIGIL_VULNDB"
	VulnDBObject = "osv.zip"
	// VulnDBPiece bounds the bytes of one VulnDBPiece reply.
	VulnDBPiece = 512 << 10

	headerVulnDigest  = "Vigil-Digest"
	headerVulnCreated = "Vigil-Created"
)

// VulnDBInfo is the current bundle of the store.
type VulnDBInfo struct {
	Digest  string
	Size    int64
	Created time.Time
}

// PutVulnDB stores the bundle file at path as the current one.
func PutVulnDB(ctx context.Context, js jetstream.JetStream, path, digest string, created time.Time, replicas int) (VulnDBInfo, error) {
	if replicas < 1 {
		replicas = 1
	}
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: VulnDBBucket, Storage: jetstream.FileStorage, Replicas: replicas,
		Description: "vulnerability data the server hands its agents"})
	if err != nil {
		return VulnDBInfo{}, fmt.Errorf("vulnerability store: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return VulnDBInfo{}, err
	}
	defer f.Close()
	meta := jetstream.ObjectMeta{Name: VulnDBObject, Description: "OSV bundle", Headers: map[string][]string{
		headerVulnDigest: {digest}, headerVulnCreated: {created.UTC().Format(time.RFC3339Nano)}}}
	info, err := obs.Put(ctx, meta, f)
	if err != nil {
		return VulnDBInfo{}, fmt.Errorf("vulnerability store: %w", err)
	}
	return VulnDBInfo{Digest: digest, Size: int64(info.Size), Created: created}, nil
}

// CurrentVulnDB returns the store's current bundle; ok is false when there
// is none.
func CurrentVulnDB(ctx context.Context, js jetstream.JetStream) (info VulnDBInfo, obs jetstream.ObjectStore, ok bool, err error) {
	obs, err = js.ObjectStore(ctx, VulnDBBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return info, nil, false, nil
	}
	if err != nil {
		return info, nil, false, fmt.Errorf("vulnerability store: %w", err)
	}
	oi, err := obs.GetInfo(ctx, VulnDBObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return info, obs, false, nil
	}
	if err != nil {
		return info, nil, false, fmt.Errorf("vulnerability store: %w", err)
	}
	created, err := time.Parse(time.RFC3339Nano, oi.Headers.Get(headerVulnCreated))
	if err != nil || oi.Headers.Get(headerVulnDigest) == "" {
		return info, nil, false, fmt.Errorf("vulnerability store: %s has no digest or creation time", VulnDBObject)
	}
	return VulnDBInfo{Digest: oi.Headers.Get(headerVulnDigest), Size: int64(oi.Size), Created: created}, obs, true, nil
}
