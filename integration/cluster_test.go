package integration

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// natsCluster is three JetStream servers clustered on loopback.
type natsCluster struct {
	t     *testing.T
	nodes []*natsClusterNode
}

type natsClusterNode struct {
	name              string
	port, clusterPort int
	dir               string
	srv               *natsserver.Server
}

func startNATSCluster(t *testing.T) *natsCluster {
	c := &natsCluster{t: t}
	for i := range 3 {
		c.nodes = append(c.nodes, &natsClusterNode{name: fmt.Sprintf("n%d", i+1), port: freePort(t), clusterPort: freePort(t), dir: t.TempDir()})
	}
	for i := range c.nodes {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	// Ready when JetStream answers through the cluster.
	waitFor(t, 60*time.Second, "JetStream cluster", func() bool {
		nc, err := nats.Connect(c.url())
		if err != nil {
			return false
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx)
		return err == nil
	})
	return c
}

func (c *natsCluster) start(i int) {
	n := c.nodes[i]
	var routes []*url.URL
	for j, o := range c.nodes {
		if j != i {
			routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", o.clusterPort)})
		}
	}
	s, err := natsserver.NewServer(&natsserver.Options{ServerName: n.name, Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir,
		NoSigs: true, NoLog: true, MaxPayload: 2 << 20,
		Cluster: natsserver.ClusterOpts{Name: "vigil", Host: "127.0.0.1", Port: n.clusterPort}, Routes: routes})
	if err != nil {
		c.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		c.t.Fatalf("NATS %s did not start", n.name)
	}
	n.srv = s
}

func (c *natsCluster) stop(i int) {
	if s := c.nodes[i].srv; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.nodes[i].srv = nil
	}
}

func (c *natsCluster) url() string {
	var urls []string
	for _, n := range c.nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
	}
	return strings.Join(urls, ",")
}

// TestNATSClusterNodeLoss: the server on a JetStream cluster of three with
// replicated streams; one node stops during ingest and comes back. Nothing
// is lost, nothing is duplicated.
func TestNATSClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("three NATS servers")
	}
	cluster := startNATSCluster(t)
	srv := startServer(t, cluster.url(), "--stream-replicas", "3", "--fetch-batch", "8")
	target := bigTarget(t, 30, 10)
	want := localScan(t, "acme", target).Findings

	p := runAgent(t, cluster.url(), "acme", "c1", t.TempDir(), []string{"--batch-size", "5"}, target)
	waitFor(t, time.Minute, "ingest under way", func() bool {
		return srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "acme"}).Total > 0
	})
	cluster.stop(1)
	atStop := srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "acme"}).Total
	if err := p.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent with a NATS node down: %v\n%s", err, tail(p.out.String(), 20))
	}
	// Generous: a leader election on a loaded machine takes a while.
	waitFor(t, 3*time.Minute, "every finding after the node loss", func() bool {
		return srv.summary(&vigilv1.SummarizeFindingsRequest{Tenant: "acme"}).Total == uint64(len(want))
	})
	cluster.start(1)
	t.Logf("node n2 stopped with %d of %d findings ingested", atStop, len(want))
	expectSame(t, srv, "acme", want)

	// A second replica with its own durable consumer builds the same view.
	replica := startServer(t, cluster.url(), "--stream-replicas", "3", "--consumer", "vigil-server-2")
	ingested(t, replica, "acme", len(want))
	expectSame(t, replica, "acme", want)
	a, b := srv.summary(&vigilv1.SummarizeFindingsRequest{ByTenant: true}), replica.summary(&vigilv1.SummarizeFindingsRequest{ByTenant: true})
	if a.Total != b.Total || len(a.Groups) != len(b.Groups) {
		t.Fatalf("replicas disagree: %v vs %v", a, b)
	}
}
