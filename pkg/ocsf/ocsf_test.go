package ocsf

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// required lists the attributes OCSF 1.1 requires of each class (dotted
// paths into the event), beyond those every finding class requires.
var required = map[int][]string{
	0:                  {"activity_id", "category_uid", "class_uid", "type_uid", "severity_id", "time", "metadata.version", "metadata.product.vendor_name", "metadata.product.name", "finding_info.uid", "finding_info.title", "status_id"},
	ClassCompliance:    {"compliance.standards", "compliance.control", "compliance.status_id"},
	ClassVulnerability: {"vulnerabilities.0.title", "vulnerabilities.0.severity", "vulnerabilities.0.cve.uid"},
	ClassDetection:     {"finding_info.uid"},
}

func lookup(m any, path string) (any, bool) {
	cur := m
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[p]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, cur != nil && cur != ""
}

func stored(f *vigilv1.Finding, st vigilv1.Status) *vigilv1.StoredFinding {
	t0 := timestamppb.New(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))
	t1 := timestamppb.New(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC))
	return &vigilv1.StoredFinding{Id: "00ab", Finding: f, Status: st, FirstSeen: t0, LastSeen: t1, LastChange: t1, TimesSeen: 6}
}

func TestSchemaOfEachClass(t *testing.T) {
	cases := []struct {
		name  string
		f     *vigilv1.Finding
		class int
	}{
		{"kubernetes misconfiguration", &vigilv1.Finding{Fingerprint: "f1", CheckId: "VGL-CLUSTER-001", Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH,
			Title: "Privileged container", Message: "container app runs privileged", References: []string{"CIS-K8S-5.2.1", "NSA-CISA-K8S"}, Remediation: "drop privileged",
			Resource: &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Account: "c1", Namespace: "shop", Kind: "Deployment", Name: "web"}}, ClassCompliance},
		{"cloud misconfiguration", &vigilv1.Finding{Fingerprint: "f2", CheckId: "VGL-CLOUD-001", Pillar: vigilv1.Pillar_PILLAR_CLOUD, Severity: vigilv1.Severity_SEVERITY_CRITICAL,
			Title: "Public bucket", Resource: &vigilv1.Resource{Tenant: "acme", Provider: "aws", Account: "123456789012", Region: "eu-west-1", Kind: "s3_bucket", Name: "logs", Uri: "arn:aws:s3:::logs"}}, ClassCompliance},
		{"vulnerable package", &vigilv1.Finding{Fingerprint: "f3", CheckId: "VGL-CODE-300", Pillar: vigilv1.Pillar_PILLAR_CODE, Severity: vigilv1.Severity_SEVERITY_HIGH,
			Title: "Vulnerable dependency", References: []string{"GHSA-35jh-r3h4-6jhm", "CVE-2021-23337"}, Scanner: "dependencies",
			Resource: &vigilv1.Resource{Tenant: "acme", Provider: "npm", Kind: "Package", Name: "lodash", Uri: "package-lock.json"}}, ClassVulnerability},
		{"secret", &vigilv1.Finding{Fingerprint: "f4", CheckId: "VGL-CODE-001", Pillar: vigilv1.Pillar_PILLAR_CODE, Severity: vigilv1.Severity_SEVERITY_CRITICAL,
			Title: "AWS access key", SecretHash: "9f0c", Scanner: "secrets", Location: &vigilv1.Location{Path: "src/config.env", StartLine: 3, Snippet: "AKIA********"},
			Resource: &vigilv1.Resource{Tenant: "acme", Kind: "File", Name: "src/config.env"}}, ClassDetection},
		{"SQL injection", &vigilv1.Finding{Fingerprint: "f5", CheckId: "VGL-CODE-101", Pillar: vigilv1.Pillar_PILLAR_CODE, Severity: vigilv1.Severity_SEVERITY_HIGH,
			Title: "SQL injection", References: []string{"CWE-89"}, Scanner: "sast-go", Location: &vigilv1.Location{Path: "db/q.go", StartLine: 40}}, ClassDetection},
	}
	transitions := []struct {
		ev       vigilv1.EventType
		st       vigilv1.Status
		activity int
		status   int
	}{
		{vigilv1.EventType_EVENT_TYPE_OPENED, vigilv1.Status_STATUS_OPEN, ActivityCreate, StatusNew},
		{vigilv1.EventType_EVENT_TYPE_REOPENED, vigilv1.Status_STATUS_REOPENED, ActivityUpdate, StatusNew},
		{vigilv1.EventType_EVENT_TYPE_SUPPRESSED, vigilv1.Status_STATUS_SUPPRESSED, ActivityUpdate, StatusSuppressed},
		{vigilv1.EventType_EVENT_TYPE_UNSUPPRESSED, vigilv1.Status_STATUS_OPEN, ActivityUpdate, StatusNew},
		{vigilv1.EventType_EVENT_TYPE_RESOLVED, vigilv1.Status_STATUS_RESOLVED, ActivityClose, StatusResolved},
	}
	for _, c := range cases {
		for _, tr := range transitions {
			name := c.name + "/" + tr.ev.String()
			ev := &vigilv1.FindingEvent{Type: tr.ev, Finding: stored(c.f, tr.st), Time: timestamppb.New(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))}
			b, err := json.Marshal(FromEvent(ev, json.RawMessage(`{"id":"00ab"}`), "test", "u1"))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, p := range append(required[0], required[c.class]...) {
				if _, ok := lookup(m, p); !ok {
					t.Errorf("%s: required %s missing in %s", name, p, b)
				}
			}
			num := func(p string) int {
				v, _ := lookup(m, p)
				f, _ := v.(float64)
				return int(f)
			}
			str := func(p string) string {
				v, _ := lookup(m, p)
				s, _ := v.(string)
				return s
			}
			switch {
			case num("class_uid") != c.class:
				t.Errorf("%s: class %d, want %d", name, num("class_uid"), c.class)
			case num("category_uid") != CategoryFindings || str("category_name") != "Findings":
				t.Errorf("%s: category %d %q", name, num("category_uid"), str("category_name"))
			case num("type_uid") != c.class*100+tr.activity || num("activity_id") != tr.activity:
				t.Errorf("%s: type %d activity %d", name, num("type_uid"), num("activity_id"))
			case str("type_name") != className[c.class]+": "+activityName[tr.activity]:
				t.Errorf("%s: type_name %q", name, str("type_name"))
			case num("status_id") != tr.status || str("status") != statusName[tr.status]:
				t.Errorf("%s: status %d %q", name, num("status_id"), str("status"))
			case num("severity_id") != int(c.f.Severity) || str("severity") != severityName[int(c.f.Severity)]:
				t.Errorf("%s: severity %d %q", name, num("severity_id"), str("severity"))
			case int64(num("time")) != time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).UnixMilli():
				t.Errorf("%s: time %d is not epoch milliseconds", name, num("time"))
			case int64(num("finding_info.first_seen_time")) != time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).UnixMilli() || num("finding_info.last_seen_time") == 0:
				t.Errorf("%s: first/last seen %d/%d", name, num("finding_info.first_seen_time"), num("finding_info.last_seen_time"))
			case str("metadata.version") != Version || str("metadata.tenant_uid") != c.f.GetResource().GetTenant():
				t.Errorf("%s: metadata %v", name, m["metadata"])
			case str("unmapped.vigil.id") != "00ab":
				t.Errorf("%s: unmapped %v", name, m["unmapped"])
			}
			if c.class == ClassCompliance {
				want := 3
				if tr.st == vigilv1.Status_STATUS_RESOLVED {
					want = 1
				}
				if num("compliance.status_id") != want {
					t.Errorf("%s: compliance status %d, want %d", name, num("compliance.status_id"), want)
				}
			}
		}
	}
	// Specific mappings.
	vuln := FromEvent(&vigilv1.FindingEvent{Type: vigilv1.EventType_EVENT_TYPE_OPENED, Finding: stored(cases[2].f, vigilv1.Status_STATUS_OPEN)}, nil, "", "")
	if vuln.Vulnerabilities[0].CVE.UID != "CVE-2021-23337" || vuln.Vulnerabilities[0].AffectedPackages[0].Name != "lodash" {
		t.Fatalf("vulnerability = %+v", vuln.Vulnerabilities)
	}
	cloud := FromEvent(&vigilv1.FindingEvent{Type: vigilv1.EventType_EVENT_TYPE_OPENED, Finding: stored(cases[1].f, vigilv1.Status_STATUS_OPEN)}, nil, "", "")
	if cloud.Cloud == nil || cloud.Cloud.Provider != "aws" || cloud.Cloud.Account.UID != "123456789012" || cloud.Resource.UID != "arn:aws:s3:::logs" {
		t.Fatalf("cloud = %+v %+v", cloud.Cloud, cloud.Resource)
	}
	secret := FromEvent(&vigilv1.FindingEvent{Type: vigilv1.EventType_EVENT_TYPE_OPENED, Finding: stored(cases[3].f, vigilv1.Status_STATUS_OPEN)}, nil, "", "")
	if secret.Evidences[0].File.Path != "src/config.env" || secret.Evidences[0].File.Name != "config.env" {
		t.Fatalf("evidence = %+v", secret.Evidences)
	}
	k8s := FromEvent(&vigilv1.FindingEvent{Type: vigilv1.EventType_EVENT_TYPE_OPENED, Finding: stored(cases[0].f, vigilv1.Status_STATUS_OPEN)}, nil, "", "")
	if strings.Join(k8s.Compliance.Standards, ",") != "CIS-K8S-5.2.1,NSA-CISA-K8S" || k8s.Cloud != nil {
		t.Fatalf("compliance = %+v, cloud %+v", k8s.Compliance, k8s.Cloud)
	}
}

func TestAdvisoryIDs(t *testing.T) {
	for _, id := range []string{"CVE-2021-23337", "GHSA-35jh-r3h4-6jhm", "GO-2022-1059", "PYSEC-2021-19", "RUSTSEC-2020-0071", "DSA-5478-1", "USN-6224-1"} {
		if !IsAdvisory(id) {
			t.Errorf("%s not an advisory", id)
		}
	}
	for _, id := range []string{"CWE-89", "CIS-K8S-5.2.1", "OWASP-A03", "https://nvd.nist.gov/vuln/detail/CVE-2021-1", "CVE-21"} {
		if IsAdvisory(id) {
			t.Errorf("%s taken for an advisory", id)
		}
	}
}

// Coverage events are Detection Findings with the attributes the class
// requires; lost and restored share the finding uid and differ in
// activity and status.
func TestCoverageEventSchema(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var uids []any
	for _, lost := range []bool{true, false} {
		for _, target := range []string{"", "/srv/app"} {
			b := Blind{Lost: lost, Tenant: "acme", Agent: "node-1", Target: target, Scanner: "kubernetes", Since: at.Add(-time.Hour), At: at}
			raw, err := json.Marshal(CoverageEvent(b, "test", "u1", json.RawMessage(`{"state":"x"}`)))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for _, p := range append(required[0], required[ClassDetection]...) {
				if _, ok := lookup(m, p); !ok {
					t.Errorf("lost=%v target=%q: required %s missing in %s", lost, target, p, raw)
				}
			}
			wantAct, wantStatus := float64(ActivityCreate), float64(StatusNew)
			if !lost {
				wantAct, wantStatus = ActivityClose, StatusResolved
			}
			if m["class_uid"] != float64(ClassDetection) || m["activity_id"] != wantAct || m["status_id"] != wantStatus {
				t.Errorf("lost=%v: class %v activity %v status %v", lost, m["class_uid"], m["activity_id"], m["status_id"])
			}
			if target != "" {
				fi, _ := lookup(m, "finding_info.uid")
				uids = append(uids, fi)
			}
		}
	}
	if len(uids) != 2 || uids[0] != uids[1] {
		t.Errorf("lost and restored of one scope have finding uids %v", uids)
	}
}
