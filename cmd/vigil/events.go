package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/pkg/bus"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/ocsf"
	"github.com/vigilsec/vigil/pkg/pki"
	"github.com/vigilsec/vigil/pkg/report"
)

func newEventsCmd(_ *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Lifecycle events as SIEMs receive them (OCSF findings on NATS)"}
	var natsURL, creds, tenant, severity, format string
	var count int
	var replay bool
	var siem string // the SIEM the credentials name, if they do
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Follow lifecycle events (--replay first reads those the stream kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			minSev, err := finding.ParseSeverity(severity)
			if err != nil {
				return err
			}
			opts := []nats.Option{nats.Name("vigil events tail")}
			if creds != "" {
				r, err := pki.NewReloader(pki.DirFiles(creds))
				if err != nil {
					return err
				}
				opts = append(opts, nats.Secure(r.ClientConfig("")), nats.UserCredentials(filepath.Join(creds, pki.DirCreds)))
				if who := r.Certificate(); who != nil && who.Leaf != nil {
					id := pki.IdentityOf(who.Leaf)
					opts = append(opts, nats.CustomInboxPrefix(inboxOf(id)))
					if id.Role == pki.RoleSIEM {
						siem = id.Name
					}
				}
			}
			nc, err := nats.Connect(natsURL, opts...)
			if err != nil {
				return fmt.Errorf("NATS %s: %w", natsURL, err)
			}
			defer nc.Close()
			if tenant == "" {
				tenant = bus.AllTenants
			}
			subject := bus.EventsFilter(tenant)
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			if format == "table" {
				fmt.Fprintln(tw, "TIME\tEVENT\tSTATUS\tSEVERITY\tCLASS\tCHECK\tTENANT\tRESOURCE")
				tw.Flush()
			}
			seen := 0
			var mu sync.Mutex
			show := func(data []byte) bool {
				mu.Lock()
				defer mu.Unlock()
				if count > 0 && seen >= count {
					return true // delivered after the last one was shown
				}
				var ev ocsf.Event
				if err := json.Unmarshal(data, &ev); err != nil {
					return false
				}
				if ev.SeverityID < int(minSev) {
					return false
				}
				switch format {
				case "json":
					fmt.Fprintln(out, strings.TrimSpace(string(data)))
				default:
					res := ""
					if r := ev.Resource; r != nil {
						res = strings.Trim(r.Type+"/"+r.Name, "/")
					} else if len(ev.Resources) > 0 {
						res = strings.Trim(ev.Resources[0].Type+"/"+ev.Resources[0].Name, "/")
					}
					report.Row(tw, ev.When().Format(time.RFC3339), strings.TrimPrefix(ev.Metadata.EventCode, "EVENT_TYPE_"),
						ev.Status, ev.Severity, ev.ClassName, ev.FindingInfo.ProductUID, ev.Metadata.TenantUID, res)
					tw.Flush()
				}
				seen++
				return count > 0 && seen >= count
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			if replay {
				js, err := jetstream.New(nc)
				if err != nil {
					return err
				}
				cons, err := replayConsumer(ctx, js, siem, tenant)
				if err != nil {
					return fmt.Errorf("events stream: %w", err)
				}
				cc, err := cons.Consume(func(m jetstream.Msg) {
					if show(m.Data()) {
						cancel()
					}
				})
				if err != nil {
					return fmt.Errorf("events stream: %w", err)
				}
				defer cc.Stop()
			} else {
				sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
					if show(m.Data) {
						cancel()
					}
				})
				if err != nil {
					return fmt.Errorf("subscribe %s: %w", subject, err)
				}
				defer sub.Unsubscribe()
				if err := nc.Flush(); err != nil {
					return fmt.Errorf("subscribe %s: %w", subject, err)
				}
				if err := nc.LastError(); err != nil {
					return fmt.Errorf("subscribe %s: %w", subject, err)
				}
			}
			<-ctx.Done()
			if err := cmd.Context().Err(); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	f := tail.Flags()
	f.StringVar(&natsURL, "nats-url", envOr("VIGIL_NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL (env VIGIL_NATS_URL)")
	f.StringVar(&creds, "credentials", os.Getenv("VIGIL_CREDENTIALS"), "credentials directory from vigil-server siem-credentials (env VIGIL_CREDENTIALS)")
	f.StringVar(&tenant, "tenant", "", "only this tenant's events (required when the credentials are scoped to tenants)")
	f.StringVar(&severity, "severity", "", "only events at or above this severity")
	f.StringVarP(&format, "format", "f", "table", "output: table, or json (one OCSF event per line)")
	f.IntVar(&count, "count", 0, "stop after this many events (default: follow until interrupted)")
	f.BoolVar(&replay, "replay", false, "start with the events the VIGIL_EVENTS stream kept")
	cmd.AddCommand(tail)
	return cmd
}

// inboxOf is the reply prefix the NATS permissions of an identity allow.
// replayConsumer reads the events stream from its start. A SIEM may use
// only the consumers its credentials name, so it reads through its tail
// consumer (one left by an earlier tail is replaced); without credentials
// an ordered consumer does.
func replayConsumer(ctx context.Context, js jetstream.JetStream, siem, tenant string) (jetstream.Consumer, error) {
	if siem == "" {
		return js.OrderedConsumer(ctx, bus.EventsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.EventsFilter(tenant)}})
	}
	name := bus.SIEMTailConsumer(siem, tenant)
	if err := js.DeleteConsumer(ctx, bus.EventsStream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, err
	}
	return js.CreateConsumer(ctx, bus.EventsStream, jetstream.ConsumerConfig{Name: name, FilterSubject: bus.EventsFilter(tenant),
		AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: time.Minute})
}

func inboxOf(id pki.Identity) string {
	switch id.Role {
	case pki.RoleAgent:
		return bus.AgentInboxPrefix(firstTenant(id), id.Name)
	default:
		return bus.InboxPrefix(id.Role, id.Name)
	}
}

func firstTenant(id pki.Identity) string {
	if len(id.Tenants) > 0 {
		return id.Tenants[0]
	}
	return ""
}
