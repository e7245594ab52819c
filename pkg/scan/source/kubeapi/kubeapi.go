// Package kubeapi is the source of live clusters read through their API
// ("k8s:KUBECONFIG", "k8s:in-cluster", or "k8s:" for the default
// kubeconfig and its current context).
package kubeapi

import (
	"context"
	"errors"
	"strings"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/scan/cluster"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// Prefix starts a cluster target.
const Prefix = "k8s:"

// requestTimeout bounds each API request, so an unreachable API fails the
// target rather than the whole run.
const requestTimeout = 30 * time.Second

// Source lists a cluster's objects and judges them with the manifest
// checks.
type Source struct {
	// Manifests is the kubernetes scanner; nil when it is not run, and a
	// cluster target then fails.
	Manifests *cluster.Manifests
	// PageSize bounds each list call (0: the default).
	PageSize int64
	// Context names the kubeconfig's context (empty: its current one).
	Context string
	// Namespace limits the scan to one namespace (see cluster.Live); the
	// scope is then the namespace of the cluster, so a scan of one
	// namespace never resolves the findings of a scan of the cluster.
	Namespace string
}

// Name is "kubernetes".
func (Source) Name() string { return "kubernetes" }

// Match reports whether target starts with "k8s:".
func (Source) Match(target string) bool { return strings.HasPrefix(target, Prefix) }

// Normalize returns the target as given.
func (Source) Normalize(target string) string { return target }

// Scan reads the cluster: each object is a unit, and a kind the
// credentials may not list is a unit not assessed. The scope is the
// cluster's UID, whichever configuration reached it, and the images its
// workloads run are discovered targets. A configuration that cannot be
// read, or an API that refuses the first call, fails the target.
func (s Source) Scan(ctx context.Context, res *source.Result, target, tenant string) error {
	if s.Manifests == nil {
		return errors.New("the kubernetes scanner is not among the scanners run (--scanners)")
	}
	rc, err := cluster.Connect(strings.TrimPrefix(target, Prefix), s.Context)
	if err != nil {
		return err
	}
	if rc.Timeout == 0 {
		rc.Timeout = requestTimeout
	}
	live, err := cluster.NewLive(rc, s.Manifests)
	if err != nil {
		return err
	}
	if s.PageSize > 0 {
		live.PageSize = s.PageSize
	}
	live.Namespace = s.Namespace
	id, err := live.ClusterID(ctx)
	if err != nil {
		return err
	}
	fs, err := live.Scan(ctx, res.Ledger, id, tenant)
	if err != nil {
		return err
	}
	name := s.Manifests.Name()
	res.Findings = map[string][]*vigilv1.Finding{name: fs}
	res.Scanners = []string{name}
	res.Identity = cluster.ClusterTarget(id)
	if s.Namespace != "" {
		res.Identity += "?namespace=" + s.Namespace
	}
	for _, ref := range live.Images() {
		res.Discovered = append(res.Discovered, image.TransportRemote+ref)
	}
	return nil
}
