package aws

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// collectS3 reads every bucket's ACL, policy, public access block,
// encryption, versioning and logging. Each bucket is read in its own
// region.
func collectS3(ctx context.Context, a *account) {
	c := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = a.cfg.BaseEndpoint != nil })
	p := s3.NewListBucketsPaginator(c, &s3.ListBucketsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail("global", "s3:ListBuckets", err)
			return
		}
		for _, b := range page.Buckets {
			name := aws.ToString(b.Name)
			region := aws.ToString(b.BucketRegion)
			if region == "" {
				region = a.cfg.Region
			}
			bc := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.Region = region; o.UsePathStyle = a.cfg.BaseEndpoint != nil })
			a.add(bucket(ctx, bc, name, region))
		}
	}
}

func bucket(ctx context.Context, c *s3.Client, name, region string) *cloud.Resource {
	r := cloud.New("bucket", "aws", "s3:bucket", "arn:aws:s3:::"+name)
	r.Name, r.Region = name, region
	in := aws.String(name)
	if acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: in}); err != nil {
		notAssessed(r, "public_acl", "s3:GetBucketAcl", err)
	} else {
		for _, g := range acl.Grants {
			if g.Grantee != nil && g.Grantee.Type == s3types.TypeGroup && publicGroup(aws.ToString(g.Grantee.URI)) {
				r.Attrs["public_acl"] = true
			}
		}
	}
	pol, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: in})
	switch {
	case err == nil:
		r.Attrs["public_policy"] = cloud.PublicPolicy(aws.ToString(pol.Policy))
	case errorCode(err) != "NoSuchBucketPolicy":
		notAssessed(r, "public_policy", "s3:GetBucketPolicy", err)
	}
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: in})
	switch {
	case err == nil && pab.PublicAccessBlockConfiguration != nil:
		b := pab.PublicAccessBlockConfiguration
		r.Attrs["public_access_block"] = true
		r.Attrs["block_public_acls"] = aws.ToBool(b.BlockPublicAcls)
		r.Attrs["ignore_public_acls"] = aws.ToBool(b.IgnorePublicAcls)
		r.Attrs["block_public_policy"] = aws.ToBool(b.BlockPublicPolicy)
		r.Attrs["restrict_public_buckets"] = aws.ToBool(b.RestrictPublicBuckets)
	case err != nil && errorCode(err) != "NoSuchPublicAccessBlockConfiguration":
		for _, f := range []string{"public_access_block", "block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"} {
			notAssessed(r, f, "s3:GetPublicAccessBlock", err)
		}
	}
	enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: in})
	switch {
	case err == nil && enc.ServerSideEncryptionConfiguration != nil:
		r.Attrs["encrypted"] = len(enc.ServerSideEncryptionConfiguration.Rules) > 0
		for _, rule := range enc.ServerSideEncryptionConfiguration.Rules {
			if d := rule.ApplyServerSideEncryptionByDefault; d != nil && strings.HasPrefix(string(d.SSEAlgorithm), "aws:kms") {
				k := aws.ToString(d.KMSMasterKeyID)
				if k == "" || strings.HasPrefix(k, "alias/aws/") {
					k = ""
				}
				r.Attrs["kms_key"] = k
			}
		}
	case errorCode(err) == "ServerSideEncryptionConfigurationNotFoundError":
		r.Attrs["encrypted"] = false // buckets from before 2023 may have none
	default:
		notAssessed(r, "encrypted", "s3:GetBucketEncryption", err)
		notAssessed(r, "kms_key", "s3:GetBucketEncryption", err)
	}
	if v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: in}); err != nil {
		notAssessed(r, "versioning", "s3:GetBucketVersioning", err)
	} else {
		r.Attrs["versioning"] = v.Status == s3types.BucketVersioningStatusEnabled
	}
	if l, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: in}); err != nil {
		notAssessed(r, "logging", "s3:GetBucketLogging", err)
	} else {
		r.Attrs["logging"] = l.LoggingEnabled != nil
	}
	return r
}

func publicGroup(uri string) bool {
	return strings.HasSuffix(uri, "/global/AllUsers") || strings.HasSuffix(uri, "/global/AuthenticatedUsers")
}
