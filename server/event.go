package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/ocsf"
	"github.com/vigilsec/vigil/pkg/version"
)

// Events are OCSF findings (pkg/ocsf). Their unmapped.vigil is the stored
// finding in the protobuf JSON mapping with proto field names
// (protojson.Unmarshal reads it back), written with encoding/json because
// the ingest publishes one event per lifecycle change.

type storedJSON struct {
	ID          string           `json:"id,omitempty"`
	Finding     *findingJSON     `json:"finding,omitempty"`
	Status      string           `json:"status,omitempty"`
	FirstSeen   string           `json:"first_seen,omitempty"`
	LastSeen    string           `json:"last_seen,omitempty"`
	TimesSeen   string           `json:"times_seen,omitempty"`
	LastChange  string           `json:"last_change,omitempty"`
	Scope       *scopeJSON       `json:"scope,omitempty"`
	ResolvedAt  string           `json:"resolved_at,omitempty"`
	Suppression *suppressionJSON `json:"suppression,omitempty"`
}

type suppressionJSON struct {
	ID          string `json:"id,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	CheckID     string `json:"check_id,omitempty"`
	Tenant      string `json:"tenant,omitempty"`
	Account     string `json:"account,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	NamePattern string `json:"name_pattern,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Author      string `json:"author,omitempty"`
	Created     string `json:"created,omitempty"`
	Expires     string `json:"expires,omitempty"`
	Ended       string `json:"ended,omitempty"`
	EndedBy     string `json:"ended_by,omitempty"`
}

type scopeJSON struct {
	Tenant  string `json:"tenant,omitempty"`
	Agent   string `json:"agent,omitempty"`
	Scanner string `json:"scanner,omitempty"`
	Target  string `json:"target,omitempty"`
}

type findingJSON struct {
	Fingerprint string         `json:"fingerprint,omitempty"`
	CheckID     string         `json:"check_id,omitempty"`
	Pillar      string         `json:"pillar,omitempty"`
	Severity    string         `json:"severity,omitempty"`
	Title       string         `json:"title,omitempty"`
	Message     string         `json:"message,omitempty"`
	Resource    *resourceJSON  `json:"resource,omitempty"`
	Location    *locationJSON  `json:"location,omitempty"`
	References  []string       `json:"references,omitempty"`
	Tags        []string       `json:"tags,omitempty"`
	Remediation string         `json:"remediation,omitempty"`
	Scanner     string         `json:"scanner,omitempty"`
	SecretHash  string         `json:"secret_hash,omitempty"`
	Exemption   *exemptionJSON `json:"exemption,omitempty"`
}

type exemptionJSON struct {
	Reason  string `json:"reason,omitempty"`
	Expires string `json:"expires,omitempty"`
	Source  string `json:"source,omitempty"`
}

type resourceJSON struct {
	Tenant    string `json:"tenant,omitempty"`
	Provider  string `json:"provider,omitempty"`
	Account   string `json:"account,omitempty"`
	Region    string `json:"region,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	URI       string `json:"uri,omitempty"`
}

type locationJSON struct {
	Path      string `json:"path,omitempty"`
	StartLine int32  `json:"start_line,omitempty"`
	EndLine   int32  `json:"end_line,omitempty"`
	Snippet   string `json:"snippet,omitempty"`
}

func ts(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().UTC().Format(time.RFC3339Nano)
}

func enumName[E interface {
	~int32
	String() string
}](e E) string {
	if e == 0 {
		return ""
	}
	return e.String()
}

// encodeEvent returns the OCSF JSON of a lifecycle event, with the stored
// finding in protobuf JSON under unmapped.vigil.
func encodeEvent(ev *vigilv1.FindingEvent) ([]byte, error) {
	uid := ev.GetId() // the outbox's id: the same on every delivery
	if uid == "" {
		uid = fmt.Sprintf("%s:%d:%d", ev.GetFinding().GetId(), ev.GetType(), ev.GetTime().AsTime().UnixNano())
	}
	// The stored finding is encoded in the same pass as the event around it.
	return json.Marshal(ocsf.FromEvent(ev, storedOf(ev.GetFinding()), version.Version, uid))
}

// storedOf is the protobuf JSON form of a stored finding.
func storedOf(sf *vigilv1.StoredFinding) *storedJSON {
	if sf == nil {
		return nil
	}
	s := &storedJSON{ID: sf.Id, Status: enumName(sf.Status), FirstSeen: ts(sf.FirstSeen), LastSeen: ts(sf.LastSeen),
		LastChange: ts(sf.LastChange), ResolvedAt: ts(sf.ResolvedAt)}
	if sf.TimesSeen != 0 {
		s.TimesSeen = strconv.FormatUint(sf.TimesSeen, 10)
	}
	if x := sf.Suppression; x != nil {
		s.Suppression = &suppressionJSON{x.Id, x.Fingerprint, x.CheckId, x.Tenant, x.Account, x.Namespace, x.NamePattern,
			x.Reason, x.Author, ts(x.Created), ts(x.Expires), ts(x.Ended), x.EndedBy}
	}
	if sc := sf.Scope; sc != nil {
		s.Scope = &scopeJSON{sc.Tenant, sc.Agent, sc.Scanner, sc.Target}
	}
	if f := sf.Finding; f != nil {
		fj := &findingJSON{Fingerprint: f.Fingerprint, CheckID: f.CheckId, Pillar: enumName(f.Pillar), Severity: enumName(f.Severity),
			Title: f.Title, Message: f.Message, References: f.References, Tags: f.Tags, Remediation: f.Remediation, Scanner: f.Scanner,
			SecretHash: f.SecretHash}
		if e := f.Exemption; e != nil {
			fj.Exemption = &exemptionJSON{e.Reason, ts(e.Expires), e.Source}
		}
		if r := f.Resource; r != nil {
			fj.Resource = &resourceJSON{r.Tenant, r.Provider, r.Account, r.Region, r.Namespace, r.Kind, r.Name, r.Uri}
		}
		if l := f.Location; l != nil {
			fj.Location = &locationJSON{l.Path, l.StartLine, l.EndLine, l.Snippet}
		}
		s.Finding = fj
	}
	return s
}
