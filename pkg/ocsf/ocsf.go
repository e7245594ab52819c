// Package ocsf writes Vigil's lifecycle events as OCSF 1.1 findings, the
// shape SIEMs ingest: a misconfiguration is a Compliance Finding (2003), a
// known vulnerability of a package a Vulnerability Finding (2002), and a
// secret or a code weakness found by analysis a Detection Finding (2004).
// What OCSF has no attribute for travels under unmapped.vigil.
package ocsf

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Version is the OCSF schema version the events follow.
const Version = "1.1.0"

// Classes of the Findings category (category_uid 2).
const (
	CategoryFindings   = 2
	ClassVulnerability = 2002
	ClassCompliance    = 2003
	ClassDetection     = 2004
)

// Activities of a finding event.
const (
	ActivityCreate = 1
	ActivityUpdate = 2
	ActivityClose  = 3
)

// Finding status ids.
const (
	StatusNew        = 1
	StatusSuppressed = 3
	StatusResolved   = 4
)

var className = map[int]string{ClassVulnerability: "Vulnerability Finding", ClassCompliance: "Compliance Finding", ClassDetection: "Detection Finding"}
var activityName = map[int]string{ActivityCreate: "Create", ActivityUpdate: "Update", ActivityClose: "Close"}
var statusName = map[int]string{StatusNew: "New", StatusSuppressed: "Suppressed", StatusResolved: "Resolved"}
var severityName = []string{"Unknown", "Informational", "Low", "Medium", "High", "Critical"}

// Event is one OCSF finding event.
type Event struct {
	ActivityID      int             `json:"activity_id"`
	ActivityName    string          `json:"activity_name"`
	CategoryUID     int             `json:"category_uid"`
	CategoryName    string          `json:"category_name"`
	ClassUID        int             `json:"class_uid"`
	ClassName       string          `json:"class_name"`
	TypeUID         int             `json:"type_uid"`
	TypeName        string          `json:"type_name"`
	SeverityID      int             `json:"severity_id"`
	Severity        string          `json:"severity"`
	StatusID        int             `json:"status_id"`
	Status          string          `json:"status"`
	Time            int64           `json:"time"`
	TimezoneOffset  int             `json:"timezone_offset"`
	Message         string          `json:"message,omitempty"`
	Metadata        Metadata        `json:"metadata"`
	FindingInfo     FindingInfo     `json:"finding_info"`
	Resource        *Resource       `json:"resource,omitempty"`
	Resources       []Resource      `json:"resources,omitempty"`
	Cloud           *Cloud          `json:"cloud,omitempty"`
	Compliance      *Compliance     `json:"compliance,omitempty"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
	Evidences       []Evidence      `json:"evidences,omitempty"`
	Remediation     *Remediation    `json:"remediation,omitempty"`
	Unmapped        Unmapped        `json:"unmapped"`
}

// Metadata names the product and schema.
type Metadata struct {
	Version   string   `json:"version"`
	Product   Product  `json:"product"`
	Profiles  []string `json:"profiles,omitempty"`
	UID       string   `json:"uid,omitempty"`
	TenantUID string   `json:"tenant_uid,omitempty"`
	EventCode string   `json:"event_code,omitempty"`
	LogName   string   `json:"log_name,omitempty"`
}

// Product is the reporting product.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

// FindingInfo identifies the finding across events.
type FindingInfo struct {
	UID           string    `json:"uid"`
	Title         string    `json:"title"`
	Desc          string    `json:"desc,omitempty"`
	Types         []string  `json:"types,omitempty"`
	FirstSeenTime int64     `json:"first_seen_time,omitempty"`
	LastSeenTime  int64     `json:"last_seen_time,omitempty"`
	ModifiedTime  int64     `json:"modified_time,omitempty"`
	ProductUID    string    `json:"product_uid,omitempty"`
	Analytic      *Analytic `json:"analytic,omitempty"`
}

// Resource is what the finding is about.
type Resource struct {
	UID       string `json:"uid,omitempty"`
	Name      string `json:"name,omitempty"`
	Type      string `json:"type,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Region    string `json:"region,omitempty"`
	Owner     *Owner `json:"owner,omitempty"`
}

// Owner carries the account a resource belongs to.
type Owner struct {
	Account *Account `json:"account,omitempty"`
}

// Cloud places a cloud finding.
type Cloud struct {
	Provider string   `json:"provider"`
	Region   string   `json:"region,omitempty"`
	Account  *Account `json:"account,omitempty"`
}

// Account is a cloud account.
type Account struct {
	UID string `json:"uid"`
}

// Compliance is the failed control.
type Compliance struct {
	Control   string   `json:"control"`
	Standards []string `json:"standards"`
	StatusID  int      `json:"status_id"`
	Status    string   `json:"status"`
}

// Vulnerability is one advisory of an affected package.
type Vulnerability struct {
	CVE              *CVE              `json:"cve,omitempty"`
	Title            string            `json:"title"`
	Desc             string            `json:"desc,omitempty"`
	Severity         string            `json:"severity"`
	References       []string          `json:"references,omitempty"`
	AffectedPackages []AffectedPackage `json:"affected_packages,omitempty"`
	IsFixAvailable   *bool             `json:"is_fix_available,omitempty"`
	Remediation      *Remediation      `json:"remediation,omitempty"`
}

// CVE identifies an advisory (a CVE, or another id when it has none).
type CVE struct {
	UID string `json:"uid"`
}

// AffectedPackage is the package a vulnerability is in.
type AffectedPackage struct {
	Name           string `json:"name"`
	Version        string `json:"version"`
	FixedInVersion string `json:"fixed_in_version,omitempty"`
	PackageManager string `json:"package_manager,omitempty"`
}

type Analytic struct {
	UID    string `json:"uid,omitempty"`
	Name   string `json:"name,omitempty"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type,omitempty"`
}

// Evidence points at where a detection was made.
type Evidence struct {
	File *File `json:"file,omitempty"`
}

// File is a file of an evidence.
type File struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"`
	TypeID int    `json:"type_id"`
}

// Remediation says how to fix it.
type Remediation struct {
	Desc       string   `json:"desc"`
	References []string `json:"references,omitempty"`
}

// Unmapped carries Vigil's own view: the stored finding as the gRPC API
// returns it (protobuf JSON names), for what OCSF has no place for.
type Unmapped struct {
	Vigil any `json:"vigil"`
}

var advisory = regexp.MustCompile(`^(CVE-\d{4}-\d+|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|GO-\d{4}-\d+|PYSEC-\d{4}-\d+|RUSTSEC-\d{4}-\d+|OSV-\d{4}-\d+|DSA-\d+(-\d+)?|DLA-\d+(-\d+)?|USN-\d+(-\d+)?|ALSA-\d{4}:\d+|RHSA-\d{4}:\d+|ALPINE-CVE-\d{4}-\d+)$`)

// IsAdvisory reports whether a reference names a vulnerability advisory.
func IsAdvisory(ref string) bool { return advisory.MatchString(ref) }

// Class is the OCSF class of a finding.
func Class(f *vigilv1.Finding) int {
	for _, r := range f.GetReferences() {
		if IsAdvisory(r) {
			return ClassVulnerability
		}
	}
	if f.GetSecretHash() != "" || strings.HasPrefix(f.GetScanner(), "sast") || f.GetScanner() == "secrets" || f.GetScanner() == "history" || f.GetScanner() == "dast" {
		return ClassDetection
	}
	return ClassCompliance
}

func ms(t *timestamppb.Timestamp) int64 {
	if t == nil {
		return 0
	}
	return t.AsTime().UnixMilli()
}

// activity maps a lifecycle transition to an OCSF activity.
func activity(t vigilv1.EventType) int {
	switch t {
	case vigilv1.EventType_EVENT_TYPE_OPENED:
		return ActivityCreate
	case vigilv1.EventType_EVENT_TYPE_RESOLVED:
		return ActivityClose
	}
	return ActivityUpdate
}

func status(s vigilv1.Status) int {
	switch s {
	case vigilv1.Status_STATUS_SUPPRESSED:
		return StatusSuppressed
	case vigilv1.Status_STATUS_RESOLVED:
		return StatusResolved
	}
	return StatusNew
}

// FromEvent builds the OCSF event of a lifecycle event. vigil is the stored
// finding for unmapped, as a value encoding/json writes in the API's JSON
// form; uid identifies the event.
func FromEvent(ev *vigilv1.FindingEvent, vigil any, productVersion, uid string) *Event {
	sf := ev.GetFinding()
	f := sf.GetFinding()
	res := f.GetResource()
	class, act, st := Class(f), activity(ev.GetType()), status(sf.GetStatus())
	sev := int(f.GetSeverity()) // INFO..CRITICAL are 1..5, as in OCSF
	if sev < 0 || sev >= len(severityName) {
		sev = 0
	}
	t := ev.GetTime()
	if t == nil {
		t = sf.GetLastChange()
	}
	out := header(class, act, sev, st, ms(t), f.GetMessage(), productVersion, uid, res.GetTenant(), ev.GetType().String(), vigil)
	out.FindingInfo = FindingInfo{UID: f.GetFingerprint(), Title: f.GetTitle(), Desc: f.GetMessage(), Types: []string{finding.PillarName(f.GetPillar())},
		FirstSeenTime: ms(sf.GetFirstSeen()), LastSeenTime: ms(sf.GetLastSeen()), ModifiedTime: ms(sf.GetLastChange()), ProductUID: f.GetCheckId(),
		Analytic: &Analytic{UID: f.GetCheckId(), Name: f.GetTitle(), TypeID: 1, Type: "Rule"}}
	if out.FindingInfo.Title == "" {
		out.FindingInfo.Title = f.GetCheckId()
	}
	var r *Resource
	if res != nil {
		r = &Resource{UID: res.GetUri(), Name: res.GetName(), Type: res.GetKind(), Namespace: res.GetNamespace(), Region: res.GetRegion()}
		if r.UID == "" {
			r.UID = strings.Trim(strings.Join([]string{res.GetProvider(), res.GetAccount(), res.GetNamespace(), res.GetKind(), res.GetName()}, "/"), "/")
		}
		if res.GetAccount() != "" {
			r.Owner = &Owner{Account: &Account{UID: res.GetAccount()}}
		}
		switch p := res.GetProvider(); p {
		case "aws", "google", "gcp", "azure", "openstack":
			out.Cloud = &Cloud{Provider: p, Region: res.GetRegion()}
			if res.GetAccount() != "" {
				out.Cloud.Account = &Account{UID: res.GetAccount()}
			}
			out.Metadata.Profiles = []string{"cloud"}
		}
	}
	var rem *Remediation
	if desc := f.GetRemediation(); desc != "" {
		rem = &Remediation{Desc: desc, References: f.GetReferences()}
	}
	// OCSF 1.1: Vulnerability and Compliance Findings name one resource
	// (resource), Detection Findings a list (resources); Vulnerability
	// Findings carry their remediation inside the vulnerability.
	switch class {
	case ClassCompliance:
		out.Resource, out.Remediation = r, rem
		// The control failed while the finding is present; a resolved
		// finding is a pass.
		c := &Compliance{Control: f.GetCheckId(), Standards: standards(f.GetReferences()), StatusID: 3, Status: "Fail"}
		if sf.GetStatus() == vigilv1.Status_STATUS_RESOLVED {
			c.StatusID, c.Status = 1, "Pass"
		}
		out.Compliance = c
	case ClassVulnerability:
		out.Resource = r
		var ids []string
		for _, r := range f.GetReferences() {
			if IsAdvisory(r) {
				ids = append(ids, r)
			}
		}
		uid := ids[0]
		for _, id := range ids {
			if strings.HasPrefix(id, "CVE-") {
				uid = id
				break
			}
		}
		v := Vulnerability{CVE: &CVE{UID: uid}, Title: f.GetTitle(), Desc: f.GetMessage(), Severity: severityName[sev], References: ids, Remediation: rem}
		if p := f.GetPackage(); p != nil {
			fix := p.GetFixedVersion() != ""
			v.IsFixAvailable = &fix
			v.AffectedPackages = []AffectedPackage{{Name: p.GetName(), Version: p.GetVersion(), FixedInVersion: p.GetFixedVersion(), PackageManager: packageManager(p.GetEcosystem(), res.GetProvider())}}
		} else if res.GetKind() == "Package" {
			v.AffectedPackages = []AffectedPackage{{Name: res.GetName(), Version: "unknown", PackageManager: res.GetProvider()}}
		}
		out.Vulnerabilities = []Vulnerability{v}
	case ClassDetection:
		out.Remediation = rem
		if r != nil {
			out.Resources = []Resource{*r}
		}
		if p := f.GetLocation().GetPath(); p != "" {
			out.Evidences = []Evidence{{File: &File{Name: path.Base(p), Path: p, TypeID: 1}}}
		}
	}
	return out
}

// packageManager names the package manager of an OSV ecosystem (Go, npm,
// PyPI, Debian:12, Alpine:v3.20): the ecosystem without its release.
func packageManager(ecosystem, provider string) string {
	if ecosystem == "" {
		return provider
	}
	name, _, _ := strings.Cut(ecosystem, ":")
	return name
}

// standards are the references that name a benchmark or standard (CIS,
// NSA-CISA, OWASP, CWE, PCI…), everything but advisories and URLs.
func standards(refs []string) []string {
	out := []string{}
	for _, r := range refs {
		if !IsAdvisory(r) && !strings.Contains(r, "://") {
			out = append(out, r)
		}
	}
	return out
}

// When is the event time as a time.Time.
func (e *Event) When() time.Time { return time.UnixMilli(e.Time).UTC() }

// Blind is a blind spot of the fleet: an agent gone silent, or one scope
// of an agent without a completed scan, for three of its intervals.
type Blind struct {
	Lost                           bool
	Tenant, Agent, Scanner, Target string
	// Since is the agent's last heartbeat or the scope's last scan.
	Since time.Time
	// At is when the change was seen.
	At time.Time
}

// CoverageEvent is a blind spot appearing (lost: a new Detection Finding
// of medium severity) or going away (restored: the same finding closed),
// so a SIEM sees what the fleet stopped watching. uid identifies the
// event; the finding's uid is the same for the lost and restored events of
// one blind spot.
func CoverageEvent(b Blind, productVersion, uid string, vigil any) *Event {
	act, st, sev, word := ActivityCreate, StatusNew, 3, "lost"
	if !b.Lost {
		act, st, sev, word = ActivityClose, StatusResolved, 1, "restored"
	}
	what := "agent " + b.Agent
	subject := "vigil:" + b.Tenant + "/" + b.Agent
	if b.Target != "" {
		what = fmt.Sprintf("%s scan of %s by agent %s", b.Scanner, b.Target, b.Agent)
		subject += "/" + b.Scanner + "/" + b.Target
	}
	msg := fmt.Sprintf("coverage %s: %s silent since %s", word, what, b.Since.UTC().Format(time.RFC3339))
	if !b.Lost {
		msg = fmt.Sprintf("coverage restored: %s reports again", what)
	}
	out := header(ClassDetection, act, sev, st, b.At.UnixMilli(), msg, productVersion, uid, b.Tenant, "COVERAGE_"+strings.ToUpper(word), vigil)
	out.FindingInfo = FindingInfo{UID: subject, Title: "Coverage " + word + ": " + what, Desc: msg, Types: []string{"coverage"},
		FirstSeenTime: b.Since.UnixMilli(), ModifiedTime: b.At.UnixMilli(), ProductUID: "coverage"}
	out.Resources = []Resource{{UID: subject, Name: b.Agent, Type: "Vigil Agent"}}
	return out
}

// Refusal is a scan the server refused because its agent went over an
// ingest quota.
type Refusal struct {
	Tenant, Agent, Scanner, Target, Reason string
	At                                     time.Time
}

// QuotaEvent announces a refused scan: a Detection Finding of medium
// severity, since the scope keeps the state of its last whole scan and so
// may miss what changed since.
func QuotaEvent(r Refusal, productVersion, uid string, vigil any) *Event {
	what := fmt.Sprintf("%s scan of %s by agent %s", r.Scanner, r.Target, r.Agent)
	subject := "vigil:" + r.Tenant + "/" + r.Agent + "/" + r.Scanner + "/" + r.Target
	msg := fmt.Sprintf("ingest quota exceeded: %s refused (%s); the scope keeps its last whole scan", what, r.Reason)
	out := header(ClassDetection, ActivityCreate, 3, StatusNew, r.At.UnixMilli(), msg, productVersion, uid, r.Tenant, "INGEST_QUOTA", vigil)
	out.FindingInfo = FindingInfo{UID: uid, Title: "Ingest quota exceeded: " + what, Desc: msg, Types: []string{"ingest"},
		FirstSeenTime: r.At.UnixMilli(), ModifiedTime: r.At.UnixMilli(), ProductUID: "ingest"}
	out.Resources = []Resource{{UID: subject, Name: r.Agent, Type: "Vigil Agent"}}
	return out
}

// header fills what every Vigil event carries: class, activity, severity,
// status, time and the product metadata.
func header(class, act, sev, st int, at int64, msg, productVersion, uid, tenant, code string, vigil any) *Event {
	return &Event{
		ActivityID: act, ActivityName: activityName[act],
		CategoryUID: CategoryFindings, CategoryName: "Findings",
		ClassUID: class, ClassName: className[class],
		TypeUID: class*100 + act, TypeName: className[class] + ": " + activityName[act],
		SeverityID: sev, Severity: severityName[sev],
		StatusID: st, Status: statusName[st],
		Time:    at,
		Message: msg,
		Metadata: Metadata{Version: Version, Product: Product{Name: "Vigil", VendorName: "Vigil", Version: productVersion},
			UID: uid, TenantUID: tenant, EventCode: code, LogName: "vigil.events"},
		Unmapped: Unmapped{Vigil: vigil},
	}
}
