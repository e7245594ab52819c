package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/pipeline"
	awscollect "github.com/vigilsec/vigil/pkg/scan/cloud/aws"
	"github.com/vigilsec/vigil/pkg/scan/cluster"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
)

// stdin scans YAML read from standard input as one manifest stream.
func (s *Scanner) stdin(ctx context.Context, res *Result, _, tenant string) error {
	r := s.Stdin
	if r == nil {
		r = os.Stdin
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	for _, fsc := range s.files {
		if !fsc.Match("stdin.yaml") {
			continue
		}
		if len(data) > MaxFileSize {
			res.Ledger.NotAssessed(fsc.Name(), pipeline.File, StdinTarget, pipeline.TooLarge, fmt.Sprintf("stdin: more than %d bytes", MaxFileSize))
			continue
		}
		fs, err := fsc.ScanFile(ctx, StdinTarget, data, tenant)
		res.Ledger.Record(fsc.Name(), pipeline.File, StdinTarget, err)
		if ss, ok := fsc.(SetScanner); ok {
			set, err := ss.ScanSet(ctx, []pipeline.Content{{Path: StdinTarget, Data: data}}, tenant)
			res.Ledger.RecordSet(fsc.Name(), pipeline.File, StdinTarget, err)
			fs = append(fs, set...)
		}
		res.Findings[fsc.Name()] = fs
	}
	return nil
}

// url probes a running HTTP service; a service that answered nothing is
// a target that could not be scanned.
func (s *Scanner) url(ctx context.Context, res *Result, target, tenant string) error {
	fs, err := s.probes.Probe(ctx, target, tenant)
	if err != nil && len(fs) == 0 {
		return err
	}
	res.Ledger.Record(s.probes.Name(), pipeline.URL, target, pipeline.AsNotice(err))
	res.Findings[s.probes.Name()] = fs
	return nil
}

// git searches a repository's whole history for secrets.
func (s *Scanner) git(ctx context.Context, res *Result, target, tenant string) error {
	fs, err := s.secrets.History(ctx, strings.TrimPrefix(target, GitTarget), tenant)
	if err != nil {
		return err
	}
	res.Ledger.Attempt(HistoryScanner, pipeline.Repository, target)
	res.Findings[HistoryScanner] = fs
	return nil
}

// runtimeProcs scans the container processes of a /proc folder.
func (s *Scanner) runtimeProcs(ctx context.Context, res *Result, target, tenant string) error {
	procRoot := strings.TrimPrefix(target, RuntimeTarget)
	if procRoot == "" {
		procRoot = "/proc"
	}
	if _, err := os.Stat(procRoot); err != nil {
		return err
	}
	fs, errs := s.runtime.Scan(ctx, procRoot, tenant)
	res.Ledger.Attempt(s.runtime.Name(), pipeline.Process, procRoot)
	res.Ledger.RecordSet(s.runtime.Name(), pipeline.Process, procRoot, errors.Join(errs...))
	res.Findings[s.runtime.Name()] = fs
	return nil
}

// image scans every image behind a reference into res: each image is a
// unit; one that could not be read is not assessed, the others' problems
// are notices.
func (s *Scanner) image(ctx context.Context, res *Result, ref, tenant string) error {
	// An image holds one file of up to MaxFileBytes at a time plus its
	// inventory; it reserves that much.
	release, err := s.budget.reserve(ctx, imageCost)
	if err != nil {
		return err
	}
	rep, err := s.images.ScanRef(ctx, ref, tenant, s.imgOpt)
	release()
	if err != nil {
		return err
	}
	name := s.images.Name()
	read := map[string]bool{}
	for _, im := range rep.Images {
		read[im.Source.Name] = true
		res.Ledger.Attempt(name, pipeline.Image, im.Source.Name)
	}
	for _, e := range rep.Errors {
		if read[e.Path] {
			res.Ledger.Record(name, pipeline.Image, e.Path, pipeline.AsNotice(errors.New(e.Error)))
		} else {
			res.Ledger.NotAssessed(name, pipeline.Image, e.Path, pipeline.Unreadable, e.Error)
		}
	}
	res.Findings[name] = append(res.Findings[name], rep.Findings...)
	return nil
}

// aws collects the accounts of an aws: target and judges their resources.
// Each resource is a unit; lists the credentials may not read, and checks
// left unjudged by an attribute they could not read, are not assessed.
// Credentials that cannot be found fail the target.
func (s *Scanner) aws(ctx context.Context, res *Result, target, tenant string) error {
	spec := strings.TrimPrefix(target, AWSTarget)
	opts := s.awsOpt
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
		return pipeline.NotAssessed(awsReason(err), err)
	}
	if len(inv.Resources) == 0 && len(inv.Errors) > 0 {
		// Nothing was read at all: the credentials, or the network, failed.
		err := errors.Join(inv.Errors...)
		return pipeline.NotAssessed(awsReason(err), err)
	}
	for _, r := range inv.Resources {
		res.Ledger.Attempt(AWSScanner, pipeline.Resource, awsUnit(r))
	}
	fs, skipped, err := cloud.Evaluate(ctx, s.cloudChecks, inv.Resources, tenant, AWSScanner, nil)
	res.Ledger.RecordSet(AWSScanner, pipeline.Resource, target, err)
	for _, f := range fs {
		f.Location = &vigilv1.Location{Path: f.Resource.Name}
	}
	res.Findings[AWSScanner] = fs
	for _, e := range inv.Errors {
		res.Ledger.NotAssessed(AWSScanner, pipeline.Resource, awsListUnit(e), awsReason(e), e.Error())
	}
	for _, n := range inv.NotAssessed {
		res.Ledger.NotAssessed(AWSScanner, pipeline.Resource, "aws:"+n, pipeline.PermissionDenied, "not assessed: "+n)
	}
	byAddr := map[string]*cloud.Resource{}
	for _, r := range inv.Resources {
		byAddr[r.Address] = r
	}
	for _, n := range skipped {
		unit := n.Resource
		if r := byAddr[n.Resource]; r != nil {
			unit = awsUnit(r)
		}
		res.Ledger.Record(AWSScanner, pipeline.Resource, unit, &pipeline.CheckError{Check: n.Check, Reason: pipeline.PermissionDenied,
			Err: fmt.Errorf("%s unreadable (%s)", n.Attr, n.Reason)})
	}
	return nil
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

// awsUnit names a resource as a unit: account, region and address.
func awsUnit(r *cloud.Resource) string {
	return "aws:" + r.Account + "/" + r.Region + "/" + r.Address
}

// awsListUnit names the list a collection error is about.
func awsListUnit(err error) string {
	var ce *awscollect.CallError
	if errors.As(err, &ce) {
		return ce.Unit()
	}
	return err.Error()
}

// awsReason reads an AWS error code for the reason it stands for.
func awsReason(err error) pipeline.Reason {
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

// kubernetes scans a cluster through its API: each object is a unit, and
// a kind the credentials may not list is a unit not assessed. The scope is
// the cluster's UID, whichever configuration reached it, and the images
// its workloads run are discovered targets. A configuration that cannot be
// read, or an API that refuses the first call, fails the target.
func (s *Scanner) kubernetes(ctx context.Context, res *Result, target, tenant string) error {
	var m *cluster.Manifests
	for _, f := range s.files {
		if mf, ok := f.(*cluster.Manifests); ok {
			m = mf
		}
	}
	if m == nil {
		return errors.New("the kubernetes scanner is not among the scanners run (--scanners)")
	}
	rc, err := cluster.Connect(strings.TrimPrefix(target, KubernetesTarget))
	if err != nil {
		return err
	}
	if rc.Timeout == 0 {
		rc.Timeout = 30 * time.Second // per request: an unreachable API fails the target, not the whole run
	}
	live, err := cluster.NewLive(rc, m)
	if err != nil {
		return err
	}
	if s.kubePageSize > 0 {
		live.PageSize = s.kubePageSize
	}
	id, err := live.ClusterID(ctx)
	if err != nil {
		return err
	}
	fs, err := live.Scan(ctx, res.Ledger, id, tenant)
	if err != nil {
		return err
	}
	res.Findings = map[string][]*vigilv1.Finding{m.Name(): fs}
	res.Scanners = []string{m.Name()}
	res.Identity = cluster.ClusterTarget(id)
	for _, ref := range live.Images() {
		res.Discovered = append(res.Discovered, image.TransportRemote+ref)
	}
	return nil
}
