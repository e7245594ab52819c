package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/scan/cloud/aws/awstest"
)

func collect(t *testing.T, srv *awstest.Server, opts Options) *Inventory {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	opts.Endpoint, opts.HTTPClient, opts.MaxBackoff = srv.URL, srv.Client(), 20*time.Millisecond
	inv, err := Collect(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range inv.Errors {
		t.Errorf("collection error: %v", e)
	}
	return inv
}

func TestCollectAccount(t *testing.T) {
	now = func() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) }
	defer func() { now = time.Now }()
	srv := awstest.New(t, "testdata")
	srv.Fail("ec2:DescribeSecurityGroups", "RequestLimitExceeded", 503, 2)
	srv.Fail("iam:ListRoles", "Throttling", 400, 3)
	srv.Fail("iam:GetCredentialReport", "ReportNotPresent", 410, 1)
	srv.Fail("s3:GetBucketPolicy/public-site", "AccessDenied", 403, 0)
	srv.Fail("guardduty:ListDetectors", "AccessDeniedException", 403, 0)
	inv := collect(t, srv, Options{})

	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fs, skipped, err := cloud.Evaluate(context.Background(), cat.ForInput("cloud"), inv.Resources, "acme", "aws", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range fs {
		got[f.CheckId+" "+f.Resource.Region+" "+shortName(f.Resource.Name)] = true
		if f.Resource.Account != "123456789012" {
			t.Errorf("%s: account %q", f.CheckId, f.Resource.Account)
		}
	}
	want := []string{
		"VGL-CLOUD-035  account-password-policy", "VGL-CLOUD-036  account-password-policy",
		"VGL-CLOUD-040  root", "VGL-CLOUD-041  root", "VGL-CLOUD-087  root", // the only trail is single-region "VGL-CLOUD-042  root", "VGL-CLOUD-043  root", "VGL-CLOUD-044  root",
		"VGL-CLOUD-030  everything", "VGL-CLOUD-032  everything", "VGL-CLOUD-033  anyone",
		"VGL-CLOUD-001 us-east-1 public-site", "VGL-CLOUD-003 us-east-1 public-site", "VGL-CLOUD-006 us-east-1 public-site",
		"VGL-CLOUD-020 us-east-1 sg-0a1b2c3d", "VGL-CLOUD-020 eu-west-1 sg-0a1b2c3d", // second page of a throttled list, both regions
		"VGL-CLOUD-023 us-east-1 sg-default1", "VGL-CLOUD-020 us-east-1 acl-5fb85d36",
		"VGL-CLOUD-024 us-east-1 vpc-1a2b3c4d", "VGL-CLOUD-050 us-east-1 vol-049df61146c4d7901",
		"VGL-CLOUD-051 us-east-1 i-1234567890abcdef0", "VGL-CLOUD-052 us-east-1 i-1234567890abcdef0", "VGL-CLOUD-053 us-east-1 i-1234567890abcdef0",
		"VGL-CLOUD-086 us-east-1 us-east-1", "VGL-CLOUD-080 us-east-1 management", "VGL-CLOUD-081 us-east-1 management",
		"VGL-CLOUD-064 us-east-1 1234abcd-12ab-34cd-56ef-1234567890ab", "VGL-CLOUD-060 eu-west-1 orders", "VGL-CLOUD-061 eu-west-1 orders",
		"VGL-CLOUD-062 eu-west-1 orders", "VGL-CLOUD-090 us-east-1 prod", "VGL-CLOUD-091 us-east-1 prod", "VGL-CLOUD-092 us-east-1 prod",
		"VGL-CLOUD-065 us-east-1 billing", "VGL-CLOUD-170 us-east-1 billing", "VGL-CLOUD-199 us-east-1 billing",
		"VGL-CLOUD-068 eu-west-1 orders", "VGL-CLOUD-176 eu-west-1 orders", "VGL-CLOUD-196 eu-west-1 orders",
		"VGL-CLOUD-197 eu-west-1 orders", "VGL-CLOUD-198 eu-west-1 orders",
		"VGL-CLOUD-122 us-east-1 web", "VGL-CLOUD-123 us-east-1 web", "VGL-CLOUD-172 eu-west-1 batch",
		"VGL-CLOUD-173 us-east-1 sessions",
		"VGL-CLOUD-060 us-east-1 0d5fbd4c-analytics", "VGL-CLOUD-061 us-east-1 0d5fbd4c-analytics", "VGL-CLOUD-062 us-east-1 0d5fbd4c-analytics",
		"VGL-CLOUD-068 us-east-1 0d5fbd4c-analytics", "VGL-CLOUD-177 us-east-1 0d5fbd4c-analytics",
		"VGL-CLOUD-066 us-east-1 sessions-cache", "VGL-CLOUD-067 us-east-1 sessions-cache", "VGL-CLOUD-173 us-east-1 sessions-cache",
		"VGL-CLOUD-005 us-east-1 sessions-cache", "VGL-CLOUD-173 us-east-1 lonely-redis", "VGL-CLOUD-067 us-east-1 lonely-redis",
		"VGL-CLOUD-066 us-east-1 jobs", "VGL-CLOUD-069 us-east-1 jobs", "VGL-CLOUD-034 us-east-1 policy", "VGL-CLOUD-005 us-east-1 alerts", "VGL-CLOUD-005 us-east-1 db-AbCdEf",
		// storefront: no access logs, forwards malformed headers, HTTP without
		// a redirect, and TLS 1.0 allowed on 443
		"VGL-CLOUD-071 us-east-1 50dc6c495c0c9188", "VGL-CLOUD-126 us-east-1 50dc6c495c0c9188",
		"VGL-CLOUD-072 us-east-1 50dc6c495c0c9188",
		"VGL-CLOUD-070 us-east-1 f2f7dc8efc522ab2", "VGL-CLOUD-070 us-east-1 a1b2c3d4e5f60718", "VGL-CLOUD-005 us-east-1 sessions", "VGL-CLOUD-005 us-east-1 web",
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing %s", w)
		}
	}
	for _, notWant := range []string{
		"VGL-CLOUD-002 us-east-1 public-site", // its policy could not be read
		"VGL-CLOUD-001 eu-west-1 private-logs", "VGL-CLOUD-003 eu-west-1 private-logs", "VGL-CLOUD-005 eu-west-1 private-logs",
		"VGL-CLOUD-006 eu-west-1 private-logs", "VGL-CLOUD-007 eu-west-1 private-logs",
		"VGL-CLOUD-085 us-east-1 us-east-1", // GuardDuty could not be listed
		"VGL-CLOUD-030  read-logs",
		"VGL-CLOUD-202 us-east-1 billing", "VGL-CLOUD-203 us-east-1 billing", // not collected: not assessed, not passed
		"VGL-CLOUD-122 us-east-1 api", "VGL-CLOUD-123 us-east-1 api", "VGL-CLOUD-172 us-east-1 frontend",
		"VGL-CLOUD-173 us-east-1 carts",
		"VGL-CLOUD-060 us-east-1 7a1c2e9b-finance", "VGL-CLOUD-061 us-east-1 7a1c2e9b-finance", "VGL-CLOUD-062 us-east-1 7a1c2e9b-finance",
		"VGL-CLOUD-068 us-east-1 7a1c2e9b-finance", "VGL-CLOUD-177 us-east-1 7a1c2e9b-finance", "VGL-CLOUD-005 us-east-1 7a1c2e9b-finance",
		"VGL-CLOUD-066 us-east-1 ledger-cache", "VGL-CLOUD-067 us-east-1 ledger-cache", "VGL-CLOUD-173 us-east-1 ledger-cache",
		"VGL-CLOUD-005 us-east-1 ledger-cache", "VGL-CLOUD-173 us-east-1 sessions-cache-001", "VGL-CLOUD-173 us-east-1 memo",
		"VGL-CLOUD-066 us-east-1 events", "VGL-CLOUD-005 us-east-1 events", "VGL-CLOUD-069 us-east-1 events", "VGL-CLOUD-005 us-east-1 api-GhIjKl",
		// backoffice: internal, logged, drops bad headers, redirects HTTP, TLS 1.2
		"VGL-CLOUD-071 us-east-1 6d0ecf831eec9f09", "VGL-CLOUD-126 us-east-1 6d0ecf831eec9f09", "VGL-CLOUD-072 us-east-1 6d0ecf831eec9f09",
		"VGL-CLOUD-070 us-east-1 0a1b2c3d4e5f6071", "VGL-CLOUD-070 us-east-1 1a1b2c3d4e5f6071", "VGL-CLOUD-005 us-east-1 carts", "VGL-CLOUD-005 us-east-1 api",
	} {
		if got[notWant] {
			t.Errorf("unexpected %s", notWant)
		}
	}
	for _, n := range []string{"VGL-CLOUD-060", "VGL-CLOUD-061", "VGL-CLOUD-068", "VGL-CLOUD-128", "VGL-CLOUD-129", "VGL-CLOUD-176",
		"VGL-CLOUD-196", "VGL-CLOUD-197", "VGL-CLOUD-198"} {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			if got[n+" "+region+" ledger"] {
				t.Errorf("hardened instance reported: %s", n)
			}
		}
	}
	var policy, guardduty, concurrency bool
	for _, s := range skipped {
		concurrency = concurrency || (s.Check == "VGL-CLOUD-203" && strings.Contains(s.Reason, "GetFunctionConcurrency"))
		policy = policy || (s.Check == "VGL-CLOUD-002" && strings.Contains(s.Resource, "public-site") && strings.Contains(s.Reason, "AccessDenied"))
		guardduty = guardduty || (s.Check == "VGL-CLOUD-085" && strings.Contains(s.Reason, "AccessDeniedException"))
	}
	if !policy || !guardduty || !concurrency {
		t.Errorf("denied calls not reported as not assessed: %v", skipped)
	}
	if n := srv.Calls("iam:ListPolicies"); n != 2 {
		t.Errorf("iam:ListPolicies called %d times, want 2 pages", n)
	}
	if n := srv.Calls("ec2:DescribeSecurityGroups"); n != 2*2+2 {
		t.Errorf("ec2:DescribeSecurityGroups called %d times, want 2 pages in 2 regions and 2 throttled", n)
	}
	if n := srv.Calls("iam:ListRoles"); n != 4 {
		t.Errorf("iam:ListRoles called %d times, want 3 throttled and 1 answered", n)
	}
}

// A list the credentials may not read is reported, and nothing of it is
// judged.
func TestDeniedListIsNotAssessed(t *testing.T) {
	srv := awstest.New(t, "testdata")
	srv.Fail("rds:DescribeDBInstances", "AccessDenied", 403, 0)
	srv.Fail("guardduty:ListDetectors", "AccessDeniedException", 403, 0)
	inv := collect(t, srv, Options{Regions: []string{"us-east-1"}})
	found := false
	for _, n := range inv.NotAssessed {
		found = found || (strings.Contains(n, "rds:DescribeDBInstances") && strings.Contains(n, "AccessDenied"))
	}
	if !found {
		t.Fatalf("not assessed: %v", inv.NotAssessed)
	}
	for _, r := range inv.Resources {
		if r.Type == "rds:db" {
			t.Fatalf("database collected from a denied list: %s", r.Address)
		}
	}
	if n := srv.Calls("ec2:DescribeRegions"); n != 0 {
		t.Errorf("regions listed although given: %d calls", n)
	}
}

func TestThrottlingBeyondRetriesIsAnError(t *testing.T) {
	srv := awstest.New(t, "testdata")
	srv.Fail("kms:ListKeys", "ThrottlingException", 400, 0)
	srv.Fail("guardduty:ListDetectors", "AccessDeniedException", 403, 0)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	inv, err := Collect(context.Background(), cfg, Options{Regions: []string{"us-east-1"}, Endpoint: srv.URL, HTTPClient: srv.Client(),
		MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 1 || !strings.Contains(fmt.Sprint(inv.Errors[0]), "kms:ListKeys") {
		t.Fatalf("errors %v", inv.Errors)
	}
	if n := srv.Calls("kms:ListKeys"); n != 3 {
		t.Errorf("kms:ListKeys called %d times, want 3 attempts", n)
	}
	if !slices.ContainsFunc(inv.Resources, func(r *cloud.Resource) bool { return r.Kind == "bucket" }) {
		t.Error("one failing service stopped the others")
	}
}

// An organisation is collected account by account through the role,
// suspended accounts left out.
func TestCollectOrganisation(t *testing.T) {
	srv := awstest.New(t, "testdata")
	srv.Fail("guardduty:ListDetectors", "AccessDeniedException", 403, 0)
	inv := collect(t, srv, Options{Organization: true, RoleName: "VigilAudit", Regions: []string{"eu-west-1"}})
	accounts := map[string]int{}
	for _, r := range inv.Resources {
		accounts[r.Account]++
	}
	if len(accounts) != 2 || accounts["111111111111"] == 0 || accounts["333333333333"] == 0 {
		t.Fatalf("accounts %v", accounts)
	}
	if n := srv.Calls("sts:AssumeRole"); n != 2 {
		t.Errorf("sts:AssumeRole called %d times", n)
	}
	if n := srv.Calls("organizations:ListAccounts"); n != 2 {
		t.Errorf("organizations:ListAccounts called %d times, want 2 pages", n)
	}
	if _, err := Collect(context.Background(), aws.Config{}, Options{Organization: true}); err == nil {
		t.Error("an organisation without a role accepted")
	}
}

// shortName is the last part of an ARN or id.
func shortName(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// A repository that does not scan on push may still be scanned by the
// registry; when the registry's configuration cannot be read, its scanning
// is not assessed rather than reported.
func TestRegistryScanningUnreadable(t *testing.T) {
	srv := awstest.New(t, "testdata")
	srv.Fail("ecr:GetRegistryScanningConfiguration", "AccessDeniedException", 403, 0)
	inv := collect(t, srv, Options{Regions: []string{"us-east-1"}})
	var web, api bool
	for _, r := range inv.Resources {
		switch r.Name {
		case "web":
			_, web = r.NotAssessed["image_scanning"]
		case "api":
			api = r.Attrs["image_scanning"] == true
		}
	}
	if !web || !api {
		t.Errorf("web not assessed %v, api scanning %v", web, api)
	}
}

// Load balancer attributes the credentials may not read leave logging and
// header handling not assessed; the listeners are still judged.
func TestLoadBalancerAttributesDenied(t *testing.T) {
	srv := awstest.New(t, "testdata")
	srv.Fail("elasticloadbalancing:DescribeLoadBalancerAttributes", "AccessDenied", 403, 0)
	inv := collect(t, srv, Options{Regions: []string{"us-east-1"}})
	var lbs, listeners int
	for _, r := range inv.Resources {
		switch r.Type {
		case "elbv2:loadbalancer":
			lbs++
			if _, ok := r.NotAssessed["drops_invalid_headers"]; !ok {
				t.Errorf("%s: header handling judged without its attributes", r.Name)
			}
		case "elbv2:listener":
			listeners++
		}
	}
	if lbs != 2 || listeners != 4 {
		t.Errorf("%d load balancers and %d listeners, want 2 and 4", lbs, listeners)
	}
}
