package ocsf

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// The attributes OCSF 1.1.0 defines, transcribed from its schema: each
// finding class's (base event with its classification and occurrence
// includes and the cloud profile, the finding class with the host profile,
// then the class's own), and each object's Vigil uses.
var (
	baseAttrs = []string{"activity_id", "activity_name", "category_name", "category_uid", "class_name", "class_uid", "type_name", "type_uid",
		"count", "duration", "end_time", "start_time", "time", "timezone_offset", "cloud", "api", "enrichments", "message", "metadata", "observables",
		"raw_data", "severity", "severity_id", "status", "status_code", "status_detail", "status_id", "unmapped",
		"comment", "confidence", "confidence_id", "confidence_score", "device", "finding_info", "actor"}
	classAttrs = map[int][]string{
		ClassVulnerability: {"resource", "vulnerabilities"},
		ClassCompliance:    {"compliance", "remediation", "resource"},
		ClassDetection: {"evidences", "impact", "impact_id", "impact_score", "remediation", "resources", "risk_level", "risk_level_id", "risk_score",
			"vulnerabilities", "action", "action_id", "attacks", "authorizations", "disposition", "disposition_id", "firewall_rule", "malware"},
	}
	entity     = []string{"name", "uid"}
	objectDefs = map[string][]string{
		"metadata": {"correlation_uid", "event_code", "extension", "extensions", "labels", "log_level", "log_name", "log_provider", "log_version",
			"logged_time", "loggers", "modified_time", "original_time", "processed_time", "product", "profiles", "sequence", "tenant_uid", "uid", "version"},
		"product": append([]string{"cpe_name", "feature", "lang", "path", "url_string", "vendor_name", "version"}, entity...),
		"finding_info": {"analytic", "attacks", "created_time", "data_sources", "desc", "first_seen_time", "kill_chain", "last_seen_time", "modified_time",
			"product_uid", "related_analytics", "related_events", "src_url", "title", "types", "uid"},
		"analytic":         {"category", "desc", "name", "related_analytics", "type", "type_id", "uid", "version"},
		"resource":         append([]string{"cloud_partition", "criticality", "group", "namespace", "owner", "region", "version", "data", "labels", "type"}, entity...),
		"owner":            append([]string{"account", "credential_uid", "domain", "email_addr", "full_name", "groups", "ldap_person", "org", "type", "type_id", "uid_alt"}, entity...),
		"account":          append([]string{"type", "type_id"}, entity...),
		"cloud":            {"account", "org", "project_uid", "provider", "region", "zone"},
		"compliance":       {"control", "requirements", "standards", "status", "status_code", "status_detail", "status_id"},
		"remediation":      {"desc", "kb_article_list", "kb_articles", "references"},
		"vulnerability":    {"affected_code", "affected_packages", "cve", "cwe", "desc", "first_seen_time", "fix_available", "is_exploit_available", "is_fix_available", "kb_article_list", "kb_articles", "last_seen_time", "packages", "references", "related_vulnerabilities", "remediation", "severity", "title", "vendor_name"},
		"cve":              {"created_time", "cvss", "cwe", "cwe_uid", "cwe_url", "desc", "epss", "modified_time", "product", "references", "title", "type", "uid"},
		"affected_package": {"fixed_in_version", "package_manager", "path", "remediation", "architecture", "epoch", "license", "name", "purl", "release", "version"},
		"evidence":         {"actor", "api", "connection_info", "data", "dst_endpoint", "file", "process", "query", "src_endpoint"},
		"file": append([]string{"accessed_time", "accessor", "attributes", "company_name", "confidentiality", "confidentiality_id", "created_time", "creator",
			"desc", "hashes", "is_system", "mime_type", "modified_time", "modifier", "owner", "parent_folder", "path", "product", "security_descriptor",
			"signature", "size", "type", "type_id", "version", "xattributes"}, entity...),
	}
	// Where each object sits in an event (dotted paths, * for each element).
	objectAt = map[string]string{
		"metadata": "metadata", "metadata.product": "product", "finding_info": "finding_info", "finding_info.analytic": "analytic",
		"resource": "resource", "resources.*": "resource", "resource.owner": "owner", "resources.*.owner": "owner", "resource.owner.account": "account",
		"resources.*.owner.account": "account", "cloud": "cloud", "cloud.account": "account", "compliance": "compliance", "remediation": "remediation",
		"vulnerabilities.*": "vulnerability", "vulnerabilities.*.cve": "cve", "vulnerabilities.*.affected_packages.*": "affected_package",
		"vulnerabilities.*.remediation": "remediation", "evidences.*": "evidence", "evidences.*.file": "file",
	}
	// Required attributes, where their object is present.
	requiredIn = map[string][]string{
		"":                                      {"activity_id", "category_uid", "class_uid", "type_uid", "time", "metadata", "severity_id", "finding_info"},
		"metadata":                              {"product", "version"},
		"metadata.product":                      {"vendor_name"},
		"finding_info":                          {"title", "uid"},
		"finding_info.analytic":                 {"type_id"},
		"cloud":                                 {"provider"},
		"compliance":                            {"standards"},
		"remediation":                           {"desc"},
		"vulnerabilities.*.remediation":         {"desc"},
		"vulnerabilities.*.cve":                 {"uid"},
		"vulnerabilities.*.affected_packages.*": {"name", "version"},
	}
	// Recommended attributes Vigil always gives, per class (0: all).
	recommended = map[int][]string{
		0:                  {"message", "status_id", "timezone_offset", "metadata.tenant_uid", "metadata.log_name", "metadata.product.version", "finding_info.analytic"},
		ClassVulnerability: {"resource", "vulnerabilities.*.cve", "vulnerabilities.*.references"},
		ClassCompliance:    {"resource", "compliance.control", "compliance.status_id", "remediation"},
		ClassDetection:     {"resources", "evidences"},
	}
)

// objects returns the values at a dotted path with * for every element.
func objects(m any, path string) []any {
	cur := []any{m}
	if path == "" {
		return cur
	}
	for _, p := range strings.Split(path, ".") {
		var next []any
		for _, c := range cur {
			switch {
			case p == "*":
				if l, ok := c.([]any); ok {
					next = append(next, l...)
				}
			default:
				if o, ok := c.(map[string]any); ok {
					if v, ok := o[p]; ok {
						next = append(next, v)
					}
				}
			}
		}
		cur = next
	}
	return cur
}

// conforms checks an event's JSON against the OCSF 1.1.0 definitions
// above: every attribute is one its class or object defines, required
// ones are there, the recommended ones Vigil gives are there, and the
// profiles used are declared.
func conforms(t *testing.T, name string, raw []byte, class int, recommend bool) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	allowed := append(slices.Clone(baseAttrs), classAttrs[class]...)
	for k := range m {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s: %q is not an attribute of class %d in OCSF 1.1", name, k, class)
		}
	}
	for path, obj := range objectAt {
		for _, o := range objects(m, path) {
			fields, ok := o.(map[string]any)
			if !ok {
				t.Errorf("%s: %s is not an object", name, path)
				continue
			}
			for k := range fields {
				if !slices.Contains(objectDefs[obj], k) {
					t.Errorf("%s: %q is not an attribute of %s (at %s)", name, k, obj, path)
				}
			}
		}
	}
	for path, fields := range requiredIn {
		for _, o := range objects(m, path) {
			fm, _ := o.(map[string]any)
			for _, f := range fields {
				if v, ok := fm[f]; !ok || v == nil || v == "" {
					t.Errorf("%s: required %s missing at %q", name, f, path)
				}
			}
		}
	}
	if recommend {
		for _, p := range append(slices.Clone(recommended[0]), recommended[class]...) {
			if len(objects(m, p)) == 0 {
				t.Errorf("%s: recommended %s missing", name, p)
			}
		}
	}
	var declared []string
	for _, p := range objects(m, "metadata.profiles.*") {
		declared = append(declared, p.(string))
	}
	sort.Strings(declared)
	var used []string
	if _, ok := m["cloud"]; ok {
		used = append(used, "cloud")
	}
	if !slices.Equal(declared, used) {
		t.Errorf("%s: profiles declared %v, used %v", name, declared, used)
	}
	if m["type_uid"].(float64) != m["class_uid"].(float64)*100+m["activity_id"].(float64) {
		t.Errorf("%s: type_uid %v is not class_uid × 100 + activity_id", name, m["type_uid"])
	}
}

// Every event type of every class conforms to OCSF 1.1.0.
func TestEventsConformToOCSF11(t *testing.T) {
	cases := []struct {
		name  string
		f     *vigilv1.Finding
		class int
	}{
		{"kubernetes", &vigilv1.Finding{Fingerprint: "f1", CheckId: "VGL-CLUSTER-001", Pillar: vigilv1.Pillar_PILLAR_CLUSTER, Severity: vigilv1.Severity_SEVERITY_HIGH,
			Title: "Privileged container", Message: "container app runs privileged", References: []string{"CIS-K8S-5.2.1"}, Remediation: "drop privileged",
			Resource: &vigilv1.Resource{Tenant: "acme", Provider: "kubernetes", Account: "c1", Namespace: "shop", Kind: "Deployment", Name: "web"}}, ClassCompliance},
		{"cloud", &vigilv1.Finding{Fingerprint: "f2", CheckId: "VGL-CLOUD-001", Pillar: vigilv1.Pillar_PILLAR_CLOUD, Severity: vigilv1.Severity_SEVERITY_CRITICAL,
			Title: "Public bucket", Message: "bucket logs is public", References: []string{"CIS-AWS-2.1.5"}, Remediation: "block public access",
			Resource: &vigilv1.Resource{Tenant: "acme", Provider: "aws", Account: "123456789012", Region: "eu-west-1", Kind: "s3_bucket", Name: "logs", Uri: "arn:aws:s3:::logs"}}, ClassCompliance},
		{"package", &vigilv1.Finding{Fingerprint: "f3", CheckId: "VGL-CODE-001", Pillar: vigilv1.Pillar_PILLAR_CODE, Severity: vigilv1.Severity_SEVERITY_HIGH,
			Title: "Vulnerable dependency", Message: "lodash 4.17.20 is affected", References: []string{"GHSA-35jh-r3h4-6jhm", "CVE-2021-23337"}, Scanner: "dependencies",
			Remediation: "upgrade lodash", Resource: &vigilv1.Resource{Tenant: "acme", Provider: "npm", Kind: "Package", Name: "lodash", Uri: "package-lock.json"},
			Package: &vigilv1.Package{Name: "lodash", Version: "4.17.20", FixedVersion: "4.17.21", Ecosystem: "npm"}}, ClassVulnerability},
		{"image package", &vigilv1.Finding{Fingerprint: "f6", CheckId: "VGL-CONTAINER-200", Pillar: vigilv1.Pillar_PILLAR_CONTAINER, Severity: vigilv1.Severity_SEVERITY_MEDIUM,
			Title: "Vulnerable OS package", Message: "libssl3 is affected", References: []string{"DSA-5532-1"}, Scanner: "image",
			Resource: &vigilv1.Resource{Tenant: "acme", Provider: "oci", Kind: "Image", Name: "shop/api"},
			Package:  &vigilv1.Package{Name: "libssl3", Version: "3.0.11-1~deb12u1", Ecosystem: "Debian:12"}}, ClassVulnerability},
		{"secret", &vigilv1.Finding{Fingerprint: "f4", CheckId: "VGL-CODE-010", Pillar: vigilv1.Pillar_PILLAR_CODE, Severity: vigilv1.Severity_SEVERITY_CRITICAL,
			Title: "Hard-coded secret", Message: "AWS access key", SecretHash: "9f0c", Scanner: "secrets", Location: &vigilv1.Location{Path: "src/config.env", StartLine: 3},
			Resource: &vigilv1.Resource{Tenant: "acme", Kind: "File", Name: "src/config.env"}}, ClassDetection},
	}
	types := []vigilv1.EventType{vigilv1.EventType_EVENT_TYPE_OPENED, vigilv1.EventType_EVENT_TYPE_REOPENED, vigilv1.EventType_EVENT_TYPE_SUPPRESSED,
		vigilv1.EventType_EVENT_TYPE_UNSUPPRESSED, vigilv1.EventType_EVENT_TYPE_RESOLVED}
	at := timestamppb.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	for _, c := range cases {
		for _, typ := range types {
			ev := &vigilv1.FindingEvent{Type: typ, Time: at, Finding: &vigilv1.StoredFinding{Id: "00ab", Finding: c.f, Status: vigilv1.Status_STATUS_OPEN, FirstSeen: at, LastSeen: at, LastChange: at}}
			raw, err := json.Marshal(FromEvent(ev, json.RawMessage(`{"id":"00ab"}`), "0.4.0", "u1"))
			if err != nil {
				t.Fatal(err)
			}
			conforms(t, c.name+"/"+typ.String(), raw, c.class, true)
		}
	}
	// The package's versions reach the vulnerability.
	ev := &vigilv1.FindingEvent{Type: vigilv1.EventType_EVENT_TYPE_OPENED, Time: at, Finding: &vigilv1.StoredFinding{Finding: cases[2].f}}
	v := FromEvent(ev, nil, "0.4.0", "u").Vulnerabilities[0]
	if p := v.AffectedPackages[0]; p.Name != "lodash" || p.Version != "4.17.20" || p.FixedInVersion != "4.17.21" || p.PackageManager != "npm" || v.IsFixAvailable == nil || !*v.IsFixAvailable {
		t.Errorf("affected package %+v, fix available %v", p, v.IsFixAvailable)
	}
	// Coverage and quota events are Detection Findings too.
	for _, lost := range []bool{true, false} {
		raw, _ := json.Marshal(CoverageEvent(Blind{Lost: lost, Tenant: "acme", Agent: "n1", Since: at.AsTime(), At: at.AsTime()}, "0.4.0", "u", nil))
		conforms(t, "coverage", raw, ClassDetection, false)
	}
	raw, _ := json.Marshal(QuotaEvent(Refusal{Tenant: "acme", Agent: "n1", Scanner: "k", Target: "/", Reason: "too many", At: at.AsTime()}, "0.4.0", "u", nil))
	conforms(t, "quota", raw, ClassDetection, false)
}
