// Package awsaccount is the source of live AWS accounts: the account of
// the default credential chain ("aws:"), or every account of its
// organisation through a role ("aws:org/ROLE"), judged by the cloud checks.
package awsaccount

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/pipeline"
	awscollect "github.com/vigilsec/vigil/pkg/scan/cloud/aws"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// Prefix starts an AWS target.
const Prefix = "aws:"

// Scanner is the scanner name of findings on live AWS resources.
const Scanner = "aws"

// Analyzer is the analyzer of live AWS resources: the cloud checks over
// what the account's APIs return.
var Analyzer = pipeline.Analyzer{Name: Scanner, Version: 1, Reads: []string{pipeline.Resource}, Needs: pipeline.NeedNetwork}

// Source collects accounts and judges their resources.
type Source struct {
	// Checks are the cloud checks, written once for every provider input.
	Checks []*checks.Check
	// Options configure collection (regions, retries).
	Options awscollect.Options
}

// Name is "aws".
func (Source) Name() string { return "aws" }

// Match reports whether target starts with "aws:".
func (Source) Match(target string) bool { return strings.HasPrefix(target, Prefix) }

// Normalize returns the target as given.
func (Source) Normalize(target string) string { return target }

// Scan collects the accounts of the target and judges their resources.
// Each resource is a unit; lists the credentials may not read, and checks
// left unjudged by an attribute they could not read, are not assessed.
// Credentials that cannot be found fail the target.
func (s Source) Scan(ctx context.Context, res *source.Result, target, tenant string) error {
	spec := strings.TrimPrefix(target, Prefix)
	opts := s.Options
	if role, ok := strings.CutPrefix(spec, "org/"); ok {
		opts.Organization, opts.RoleName = true, role
	} else if spec != "" {
		return fmt.Errorf("want aws: or aws:org/ROLE")
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return pipeline.NotAssessed(pipeline.NoCredentials, fmt.Errorf("AWS configuration: %w", err))
	}
	if err := credentials(ctx, cfg); err != nil {
		return err
	}
	inv, err := awscollect.Collect(ctx, cfg, opts)
	if err != nil {
		return pipeline.NotAssessed(reason(err), err)
	}
	if len(inv.Resources) == 0 && len(inv.Errors) > 0 {
		// Nothing was read at all: the credentials, or the network, failed.
		err := errors.Join(inv.Errors...)
		return pipeline.NotAssessed(reason(err), err)
	}
	for _, r := range inv.Resources {
		res.Ledger.Attempt(Scanner, pipeline.Resource, unit(r))
	}
	fs, skipped, err := cloud.Evaluate(ctx, s.Checks, inv.Resources, tenant, Scanner, nil)
	res.Ledger.RecordSet(Scanner, pipeline.Resource, target, err)
	for _, f := range fs {
		f.Location = &vigilv1.Location{Path: f.Resource.Name}
	}
	res.Findings[Scanner] = fs
	record(res.Ledger, inv, skipped)
	return nil
}

// record puts what the inventory could not read into the ledger: lists
// that failed, attributes denied, and checks they left unjudged.
func record(ledger *pipeline.Ledger, inv *awscollect.Inventory, skipped []*cloud.NotAssessed) {
	for _, e := range inv.Errors {
		ledger.NotAssessed(Scanner, pipeline.Resource, listUnit(e), reason(e), e.Error())
	}
	for _, n := range inv.NotAssessed {
		ledger.NotAssessed(Scanner, pipeline.Resource, "aws:"+n, pipeline.PermissionDenied, "not assessed: "+n)
	}
	byAddr := map[string]*cloud.Resource{}
	for _, r := range inv.Resources {
		byAddr[r.Address] = r
	}
	for _, n := range skipped {
		u := n.Resource
		if r := byAddr[n.Resource]; r != nil {
			u = unit(r)
		}
		ledger.Record(Scanner, pipeline.Resource, u, &pipeline.CheckError{Check: n.Check, Reason: pipeline.PermissionDenied,
			Err: fmt.Errorf("%s unreadable (%s)", n.Attr, n.Reason)})
	}
}

// credentials fails when the default chain finds no credentials at all,
// so that a scan without them is a failed target, not an empty account.
func credentials(ctx context.Context, cfg aws.Config) error {
	if cfg.Credentials == nil {
		return pipeline.NotAssessed(pipeline.NoCredentials, errors.New("no AWS credentials found"))
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return pipeline.NotAssessed(pipeline.NoCredentials, fmt.Errorf("no AWS credentials: %w", err))
	}
	return nil
}

// unit names a resource as a unit: account, region and address.
func unit(r *cloud.Resource) string {
	return "aws:" + r.Account + "/" + r.Region + "/" + r.Address
}

// listUnit names the list a collection error is about.
func listUnit(err error) string {
	var ce *awscollect.CallError
	if errors.As(err, &ce) {
		return ce.Unit()
	}
	return err.Error()
}

// reason reads an AWS error code for the reason it stands for.
func reason(err error) pipeline.Reason {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case strings.Contains(code, "Throttl"), code == "TooManyRequestsException", code == "RequestLimitExceeded", code == "SlowDown":
			return pipeline.RateLimited
		case strings.Contains(code, "AccessDenied"), code == "UnauthorizedOperation", code == "AuthorizationError":
			return pipeline.PermissionDenied
		case code == "InvalidClientTokenId", code == "ExpiredToken", code == "UnrecognizedClientException",
			code == "AuthFailure", code == "SignatureDoesNotMatch", code == "InvalidAccessKeyId":
			return pipeline.NoCredentials
		}
	}
	return pipeline.Classify(err)
}
