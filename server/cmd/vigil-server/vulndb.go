package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/pki"
	"github.com/vigilsec/vigil/pkg/vuln"
	"github.com/vigilsec/vigil/server/trust"
)

// dbImport makes a vulnerability bundle of the sources given (OSV export
// folders or zips, or a bundle from vigil db import) and stores it where
// the server hands it to every agent started with --vuln-db server; they
// use it from their next scan on, without a restart.
func dbImport(args []string, out io.Writer) error {
	fs := newFlags("db")
	dataDir := fs.String("data-dir", "./vigil-data", "data directory of the server (its trust, with --tls)")
	natsURL := fs.String("nats-url", "nats://127.0.0.1:4222", "NATS server the vigil-server uses (its embedded one by default)")
	useTLS := fs.Bool("tls", false, "connect with the server's TLS credentials from the data dir")
	replicas := fs.Int("stream-replicas", 1, "replicas of the object store (3 on a NATS cluster)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.Arg(0) != "import" {
		return errors.New("usage: vigil-server db import [--nats-url URL] [--tls --data-dir DIR] SOURCE...")
	}
	sources := fs.Args()[1:]
	dir, err := os.MkdirTemp("", "vigil-vulndb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bundle := filepath.Join(dir, "osv.zip")
	m, err := vuln.WriteBundleFile(bundle, sources, time.Now())
	if err != nil {
		return err
	}
	digest, err := vuln.DigestFile(bundle)
	if err != nil {
		return err
	}
	var opts []nats.Option
	if *useTLS {
		t, err := trust.Load(*dataDir)
		if err != nil {
			return err
		}
		r, err := pki.NewReloader(pki.Files{CA: t.Path(trust.CAFile), Cert: t.Path(trust.ServerCertFile), Key: t.Path(trust.ServerKeyFile)})
		if err != nil {
			return err
		}
		opts = append(opts, nats.Secure(r.ClientConfig("")), nats.UserCredentials(filepath.Join(t.Path(trust.ServerCreds))))
	}
	nc, err := nats.Connect(*natsURL, append(opts, nats.Name("vigil-server db import"))...)
	if err != nil {
		return fmt.Errorf("NATS %s: %w", *natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	info, err := bus.PutVulnDB(ctx, js, bundle, digest, m.Created, *replicas)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "stored %d records (%d bytes, %s) as the agents' vulnerability data; %d unreadable\n", m.Records, info.Size, digest[:12], len(m.Skipped))
	for _, e := range m.EcosystemNames() {
		fmt.Fprintf(out, "  %-20s %d\n", e, m.Ecosystems[e])
	}
	return nil
}
