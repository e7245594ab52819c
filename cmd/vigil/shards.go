package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// shards are the servers of a write scale-out (--server a,b,…), queried
// together: each holds the scopes of its shard, so lists concatenate,
// summaries merge the shards' fingerprints and a finding (one scope's
// occurrence) is in exactly one of them. One server is the one-shard case.
type shards struct {
	addrs []string
	conns []*grpc.ClientConn
}

func dialShards(g *globals) (*shards, error) {
	s := &shards{}
	for _, addr := range strings.Split(g.server, ",") {
		if addr = strings.TrimSpace(addr); addr == "" {
			continue
		}
		one := *g
		one.server = addr
		conn, err := dial(&one)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.addrs = append(s.addrs, addr)
		s.conns = append(s.conns, conn)
	}
	if len(s.conns) == 0 {
		return nil, fmt.Errorf("no server given")
	}
	return s, nil
}

func (s *shards) Close() {
	for _, c := range s.conns {
		c.Close()
	}
}

// List pages through every shard in turn, up to limit findings (0: all).
func (s *shards) List(ctx context.Context, filter *vigilv1.FindingFilter, order vigilv1.FindingSort, pageSize, limit int) ([]*vigilv1.StoredFinding, error) {
	var all []*vigilv1.StoredFinding
	for i, conn := range s.conns {
		client := vigilv1.NewFindingServiceClient(conn)
		token := ""
		// In an order, each shard gives its first limit and the merge
		// keeps the first limit of all; else the shards fill it in turn.
		got := 0
		for {
			size := pageSize
			left := limit - len(all)
			if order != vigilv1.FindingSort_FINDING_SORT_UNSPECIFIED {
				left = limit - got
			}
			if limit > 0 && left < size {
				size = left
			}
			if size <= 0 {
				break
			}
			resp, err := client.ListFindings(ctx, &vigilv1.ListFindingsRequest{Filter: filter, PageSize: int32(size), PageToken: token, Sort: order})
			if err != nil {
				return nil, fmt.Errorf("list findings on %s: %w", s.addrs[i], err)
			}
			all, got = append(all, resp.Findings...), got+len(resp.Findings)
			if token = resp.NextPageToken; token == "" {
				break
			}
		}
	}
	switch order {
	case vigilv1.FindingSort_FINDING_SORT_SEVERITY:
		sort.SliceStable(all, func(i, j int) bool { return all[i].GetFinding().GetSeverity() > all[j].GetFinding().GetSeverity() })
	case vigilv1.FindingSort_FINDING_SORT_LAST_CHANGE:
		sort.SliceStable(all, func(i, j int) bool { return all[i].GetLastChange().AsTime().After(all[j].GetLastChange().AsTime()) })
	}
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// Summarize returns the one server's summary, or over several shards the
// exact one: their fingerprints merged group by group (see exactSummary).
func (s *shards) Summarize(ctx context.Context, req *vigilv1.SummarizeFindingsRequest) (*vigilv1.SummarizeFindingsResponse, error) {
	if len(s.conns) > 1 {
		return s.exactSummary(ctx, req)
	}
	resp, err := vigilv1.NewFindingServiceClient(s.conns[0]).SummarizeFindings(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("summarize findings on %s: %w", s.addrs[0], err)
	}
	return resp, nil
}

// Get asks each shard for the finding until one has it.
func (s *shards) Get(ctx context.Context, id string) (*vigilv1.GetFindingResponse, error) {
	out := &vigilv1.GetFindingResponse{}
	for i, conn := range s.conns {
		resp, err := vigilv1.NewFindingServiceClient(conn).GetFinding(ctx, &vigilv1.GetFindingRequest{Id: id})
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get finding on %s: %w", s.addrs[i], err)
		}
		// Each shard holds its own scopes' occurrences; the finding is
		// the one asked for by id, or the one that matters most. A
		// fingerprint prefix must name one fingerprint on every shard.
		byID := len(id) == 2*(finding.ScopeIDLen+32) // a finding id: scope id and fingerprint
		if out.Finding != nil && !byID && resp.Finding.GetFinding().GetFingerprint() != out.Finding.GetFinding().GetFingerprint() {
			return nil, status.Errorf(codes.InvalidArgument, "ambiguous fingerprint prefix: %q starts both %s and %s; give more digits",
				id, out.Finding.GetFinding().GetFingerprint(), resp.Finding.GetFinding().GetFingerprint())
		}
		if out.Finding == nil || !byID && matters(resp.Finding, out.Finding) {
			out.Finding = resp.Finding
		}
		out.Occurrences = append(out.Occurrences, resp.Occurrences...)
	}
	if out.Finding == nil {
		return nil, status.Errorf(codes.NotFound, "finding %q not found on any of %d server(s)", id, len(s.conns))
	}
	sort.Slice(out.Occurrences, func(i, j int) bool { return matters(out.Occurrences[i], out.Occurrences[j]) })
	return out, nil
}

// matters orders occurrences: open before resolved, then the latest change.
func matters(a, b *vigilv1.StoredFinding) bool {
	open := func(s vigilv1.Status) bool {
		return s == vigilv1.Status_STATUS_OPEN || s == vigilv1.Status_STATUS_REOPENED || s == vigilv1.Status_STATUS_SUPPRESSED
	}
	if oa, ob := open(a.Status), open(b.Status); oa != ob {
		return oa
	}
	return a.GetLastChange().AsTime().After(b.GetLastChange().AsTime())
}

// Retire retires an agent on every shard that knows it (each holds the
// scopes of its own slice of the fleet); NotFound only when none does.
func (s *shards) Retire(ctx context.Context, req *vigilv1.RetireAgentRequest) (resolved uint64, scopes uint32, err error) {
	err = s.onEveryHolder(ctx, func(c vigilv1.AgentServiceClient) error {
		resp, err := c.RetireAgent(ctx, req)
		resolved, scopes = resolved+resp.GetResolved(), scopes+resp.GetScopes()
		return err
	}, fmt.Sprintf("agent %s/%s", req.Tenant, req.Agent))
	return resolved, scopes, err
}

// RetireTarget retires a target's scopes on every shard that holds one.
func (s *shards) RetireTarget(ctx context.Context, req *vigilv1.RetireTargetRequest) (resolved uint64, scopes uint32, err error) {
	err = s.onEveryHolder(ctx, func(c vigilv1.AgentServiceClient) error {
		resp, err := c.RetireTarget(ctx, req)
		resolved, scopes = resolved+resp.GetResolved(), scopes+resp.GetScopes()
		return err
	}, fmt.Sprintf("scope of %s on agent %s/%s", req.Target, req.Tenant, req.Agent))
	return resolved, scopes, err
}

// onEveryHolder calls fn with every shard's agent service. A shard that
// answers NotFound holds none of what is asked; NotFound from all of them
// is an error naming what.
func (s *shards) onEveryHolder(ctx context.Context, fn func(vigilv1.AgentServiceClient) error, what string) error {
	found := false
	for i, conn := range s.conns {
		err := fn(vigilv1.NewAgentServiceClient(conn))
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.addrs[i], err)
		}
		found = true
	}
	if !found {
		return status.Errorf(codes.NotFound, "%s not found on any of %d server(s)", what, len(s.conns))
	}
	return nil
}

// agentPage is the page size the CLI asks agents in.
const agentPage = 1000

// Agents lists the agents every shard has heard from, page by page.
func (s *shards) Agents(ctx context.Context, tenant string) ([]*vigilv1.Agent, error) {
	seen := map[string]*vigilv1.Agent{}
	for i, conn := range s.conns {
		client := vigilv1.NewAgentServiceClient(conn)
		for token := ""; ; {
			resp, err := client.ListAgents(ctx, &vigilv1.ListAgentsRequest{Tenant: tenant, PageSize: agentPage, PageToken: token})
			if err != nil {
				return nil, fmt.Errorf("list agents on %s: %w", s.addrs[i], err)
			}
			for _, a := range resp.Agents {
				k := a.Tenant + "/" + a.Id
				// Heartbeats reach every shard; keep the freshest view.
				if old, ok := seen[k]; !ok || a.GetLastHeartbeat().AsTime().After(old.GetLastHeartbeat().AsTime()) {
					seen[k] = a
				}
			}
			if token = resp.NextPageToken; token == "" {
				break
			}
		}
	}
	out := make([]*vigilv1.Agent, 0, len(seen))
	for _, a := range seen {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant+"/"+out[i].Id < out[j].Tenant+"/"+out[j].Id })
	return out, nil
}

// Coverage pages through every shard's scopes; stale agents are merged,
// the freshest view of each kept, as Agents does.
func (s *shards) Coverage(ctx context.Context, req *vigilv1.ListCoverageRequest) (*vigilv1.ListCoverageResponse, error) {
	out := &vigilv1.ListCoverageResponse{}
	stale := map[string]*vigilv1.Agent{}
	for i, conn := range s.conns {
		client := vigilv1.NewCoverageServiceClient(conn)
		page := proto.Clone(req).(*vigilv1.ListCoverageRequest)
		page.PageSize = 500
		for {
			resp, err := client.ListCoverage(ctx, page)
			if err != nil {
				return nil, fmt.Errorf("list coverage on %s: %w", s.addrs[i], err)
			}
			out.Scopes = append(out.Scopes, resp.Scopes...)
			for _, a := range resp.StaleAgents {
				k := a.Tenant + "/" + a.Id
				if old, ok := stale[k]; !ok || a.GetLastHeartbeat().AsTime().After(old.GetLastHeartbeat().AsTime()) {
					stale[k] = a
				}
			}
			if page.PageToken = resp.NextPageToken; page.PageToken == "" {
				break
			}
		}
	}
	for _, a := range stale {
		out.StaleAgents = append(out.StaleAgents, a)
	}
	sort.Slice(out.StaleAgents, func(i, j int) bool {
		return out.StaleAgents[i].Tenant+"/"+out.StaleAgents[i].Id < out.StaleAgents[j].Tenant+"/"+out.StaleAgents[j].Id
	})
	return out, nil
}

// feed reads one shard's stream of group fingerprints.
type feed struct {
	addr   string
	stream grpc.ServerStreamingClient[vigilv1.StreamGroupFingerprintsResponse]
	cur    *vigilv1.StreamGroupFingerprintsResponse
	off    int
	done   bool
}

// advance moves to the next fingerprint, reading the next message when the
// current one is used up.
func (f *feed) advance() error {
	f.off += fpPrefixLen
	for f.cur == nil || f.off >= len(f.cur.Fingerprints) {
		m, err := f.stream.Recv()
		if errors.Is(err, io.EOF) {
			f.done, f.cur = true, nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("group fingerprints on %s: %w", f.addr, err)
		}
		f.cur, f.off = m, 0
	}
	return nil
}

func (f *feed) group() string {
	c := f.cur
	return c.Tenant + "\x00" + c.Account + "\x00" + string([]byte{byte(c.Pillar), byte(c.Severity)})
}

func (f *feed) fp() []byte { return f.cur.Fingerprints[f.off : f.off+fpPrefixLen] }

// fpPrefixLen is the length of a fingerprint in StreamGroupFingerprints.
const fpPrefixLen = 16

// exactSummary counts each group's distinct fingerprints over every shard:
// each shard streams them in one order (groups by tenant, account, pillar
// and severity; fingerprints ascending within a group), and a k-way merge
// counts a fingerprint held by two shards once. Memory is one message per
// shard whatever the fleet's size.
func (s *shards) exactSummary(ctx context.Context, req *vigilv1.SummarizeFindingsRequest) (*vigilv1.SummarizeFindingsResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var feeds []*feed
	for i, conn := range s.conns {
		st, err := vigilv1.NewFindingServiceClient(conn).StreamGroupFingerprints(ctx, &vigilv1.StreamGroupFingerprintsRequest{Tenant: req.Tenant, Statuses: req.Statuses, Tenants: req.Tenants})
		if err != nil {
			return nil, fmt.Errorf("group fingerprints on %s: %w", s.addrs[i], err)
		}
		f := &feed{addr: s.addrs[i], stream: st, off: -fpPrefixLen}
		if err := f.advance(); err != nil {
			return nil, err
		}
		feeds = append(feeds, f)
	}
	type key struct {
		tenant, account string
		p               vigilv1.Pillar
		sev             vigilv1.Severity
	}
	sums := map[key]uint64{}
	out := &vigilv1.SummarizeFindingsResponse{}
	for {
		// The least group any shard is on, and the shards on it.
		g := ""
		var in []*feed
		for _, f := range feeds {
			switch {
			case f.done:
			case len(in) == 0 || f.group() < g:
				g, in = f.group(), []*feed{f}
			case f.group() == g:
				in = append(in, f)
			}
		}
		if len(in) == 0 {
			break
		}
		first := in[0].cur
		k := key{p: first.Pillar, sev: first.Severity}
		if req.ByTenant {
			k.tenant = first.Tenant
		}
		if req.ByAccount {
			k.account = first.Account
		}
		var n uint64
		var last []byte
		for len(in) > 0 {
			min := 0
			for i, f := range in {
				if bytes.Compare(f.fp(), in[min].fp()) < 0 {
					min = i
				}
			}
			f := in[min]
			if fp := f.fp(); last == nil || !bytes.Equal(fp, last) {
				n++
				last = append(last[:0], fp...)
			}
			if err := f.advance(); err != nil {
				return nil, err
			}
			if f.done || f.group() != g {
				in = slices.Delete(in, min, min+1)
			}
		}
		sums[k] += n
		out.Total += n
	}
	for k, n := range sums {
		out.Groups = append(out.Groups, &vigilv1.SummaryGroup{Tenant: k.tenant, Account: k.account, Pillar: k.p, Severity: k.sev, Count: n})
	}
	finding.SortSummary(out.Groups)
	return out, nil
}
