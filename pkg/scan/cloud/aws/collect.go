// Package aws collects the resources of AWS accounts through the SDK
// (aws-sdk-go-v2) into the normalised cloud model, so the same checks
// judge live accounts and infrastructure as code.
//
// One account, or every account of an organisation through an assumed
// role; every enabled region; paginated lists; throttling retried with
// backoff by the SDK's standard retryer. An API the credentials may not
// call leaves what it would have told "not assessed", never passed.
package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// Options configure a collection.
type Options struct {
	// Regions to collect; empty means every region enabled in the account.
	Regions []string
	// Organization collects every active account of the organisation the
	// credentials' account manages, by assuming RoleName in each.
	Organization bool
	RoleName     string
	// MaxAttempts and MaxBackoff tune the retries of throttled calls.
	MaxAttempts int
	MaxBackoff  time.Duration
	// Endpoint, when set, is the base URL of every service (a test server
	// or an emulator); HTTPClient is then its client.
	Endpoint   string
	HTTPClient *http.Client
}

// Inventory is what a collection found.
type Inventory struct {
	Resources []*cloud.Resource
	// NotAssessed are the lists the credentials could not read: every
	// resource of those types is unjudged.
	NotAssessed []string
	// Errors are failures other than a denial, per account and region.
	Errors []error
}

// Collect reads the accounts cfg gives access to.
func Collect(ctx context.Context, cfg aws.Config, opts Options) (*Inventory, error) {
	cfg = configure(cfg, opts)
	inv := &Inventory{}
	accounts := []aws.Config{cfg}
	if opts.Organization {
		if opts.RoleName == "" {
			return nil, errors.New("aws: an organisation is collected through a role: set the role name")
		}
		var err error
		if accounts, err = organisation(ctx, cfg, opts.RoleName); err != nil {
			return nil, err
		}
	}
	for _, acfg := range accounts {
		if err := ctx.Err(); err != nil {
			return inv, err
		}
		collectAccount(ctx, acfg, opts, inv)
	}
	sort.SliceStable(inv.Resources, func(i, j int) bool { return inv.Resources[i].Address < inv.Resources[j].Address })
	return inv, nil
}

// configure sets the retryer and the endpoint of a configuration.
func configure(cfg aws.Config, opts Options) aws.Config {
	cfg = cfg.Copy()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			if opts.MaxAttempts > 0 {
				o.MaxAttempts = opts.MaxAttempts
			} else {
				o.MaxAttempts = 8
			}
			if opts.MaxBackoff > 0 {
				o.MaxBackoff = opts.MaxBackoff
				o.Backoff = retry.NewExponentialJitterBackoff(opts.MaxBackoff)
			}
			// Throttling is the account's rate limit, not a fault: do not
			// give up on it early.
			o.RateLimiter = noRateLimit{}
		})
	}
	if opts.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(opts.Endpoint)
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg
}

// noRateLimit lets every retry through; the backoff spaces them.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

// organisation lists the organisation's active accounts and returns a
// configuration assuming roleName in each.
func organisation(ctx context.Context, cfg aws.Config, roleName string) ([]aws.Config, error) {
	client := organizations.NewFromConfig(cfg)
	var out []aws.Config
	p := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("aws: organizations:ListAccounts: %w", err)
		}
		for _, a := range page.Accounts {
			if a.Status != "ACTIVE" {
				continue
			}
			role := fmt.Sprintf("arn:%s:iam::%s:role/%s", partition(cfg.Region), aws.ToString(a.Id), roleName)
			acfg := cfg.Copy()
			acfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role,
				func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "vigil" }))
			out = append(out, acfg)
		}
	}
	return out, nil
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// account is the state of one account's collection.
type account struct {
	id  string
	cfg aws.Config
	inv *Inventory
	mu  sync.Mutex
	// summary is the account resource; trailsUnread is set when a region's
	// trails could not be listed.
	summary      *cloud.Resource
	trailsUnread error
}

func (a *account) add(rs ...*cloud.Resource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range rs {
		r.Account = a.id
		a.inv.Resources = append(a.inv.Resources, r)
	}
}

// fail records an error of an API call: a denial as a list not assessed,
// anything else as an error.
func (a *account) fail(region, op string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if denied(err) {
		a.inv.NotAssessed = append(a.inv.NotAssessed, fmt.Sprintf("%s %s %s: %s", a.id, region, op, errorCode(err)))
		return
	}
	a.inv.Errors = append(a.inv.Errors, &CallError{Account: a.id, Region: region, Op: op, Err: err})
}

// CallError is an API call of the collection that failed.
type CallError struct {
	Account, Region, Op string
	Err                 error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("aws: account %s, %s, %s: %v", e.Account, e.Region, e.Op, e.Err)
}
func (e *CallError) Unwrap() error { return e.Err }

// Unit names what the call would have listed.
func (e *CallError) Unit() string { return "aws:" + e.Account + "/" + e.Region + "/" + e.Op }

func collectAccount(ctx context.Context, cfg aws.Config, opts Options, inv *Inventory) {
	a := &account{cfg: cfg, inv: inv, id: "unknown"}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		a.fail("global", "sts:GetCallerIdentity", err)
		return
	}
	a.id = aws.ToString(id.Account)
	regions := opts.Regions
	if len(regions) == 0 {
		// Without AllRegions, only the regions enabled for the account.
		out, err := ec2.NewFromConfig(cfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
		if err != nil {
			a.fail(cfg.Region, "ec2:DescribeRegions", err)
			regions = []string{cfg.Region}
		} else {
			for _, r := range out.Regions {
				regions = append(regions, aws.ToString(r.RegionName))
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); collectIAM(ctx, a) }()
	go func() { defer wg.Done(); collectS3(ctx, a) }()
	// Regions four at a time: each makes a dozen calls of its own.
	sem := make(chan struct{}, 4)
	for _, region := range regions {
		rcfg := cfg.Copy()
		rcfg.Region = region
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			collectRegion(ctx, a, rcfg)
		}()
	}
	wg.Wait()
	// Whether some trail covers the account is known once every region
	// has been read.
	if a.summary == nil {
		return
	}
	if a.trailsUnread != nil {
		notAssessed(a.summary, "cloudtrail", "cloudtrail:DescribeTrails", a.trailsUnread)
		return
	}
	covered := false
	for _, r := range inv.Resources {
		if r.Account == a.id && r.Kind == "trail" && r.Attrs["multi_region"] == true && r.Attrs["logging"] == true {
			covered = true
		}
	}
	a.summary.Attrs["cloudtrail"] = covered
}

// denied reports an authorisation failure of the credentials.
func denied(err error) bool {
	switch errorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "UnauthorizedException",
		"Forbidden", "AuthFailure", "UnrecognizedClientException":
		return true
	}
	return false
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// notAssessed removes an attribute a denied call would have given.
func notAssessed(r *cloud.Resource, attr, op string, err error) {
	notCollected(r, attr, op+": "+errorCode(err))
}

// notCollected marks an attribute the collector does not read, with why,
// so the checks reading it are not assessed rather than passed.
func notCollected(r *cloud.Resource, attr, reason string) {
	delete(r.Attrs, attr)
	if r.NotAssessed == nil {
		r.NotAssessed = map[string]string{}
	}
	r.NotAssessed[attr] = reason
}

// arn builds an ARN for resources the API names by id only.
func arn(region, account, service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", partition(region), service, region, account, resource)
}
