package aws

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// resourcePolicy adds a queue's or topic's access policy as an iam_policy
// resource of its own, judged by the same policy checks as in code.
func resourcePolicy(a *account, region, typ, address, name, doc string) {
	if strings.TrimSpace(doc) == "" {
		return
	}
	st, err := cloud.ParsePolicy(doc)
	if err != nil {
		return
	}
	r := cloud.New("iam_policy", "aws", typ, address+"/policy")
	r.Name, r.Region = name, region
	r.Attrs["resource_policy"] = true
	r.Attrs["statements"] = st
	a.add(r)
}

// queues reads SQS queues: encryption, key and access policy.
func queues(ctx context.Context, a *account, cfg aws.Config) {
	c := sqs.NewFromConfig(cfg)
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "sqs:ListQueues", err)
			return
		}
		for _, url := range page.QueueUrls {
			name := url[strings.LastIndex(url, "/")+1:]
			out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
			if err != nil {
				a.fail(cfg.Region, "sqs:GetQueueAttributes", err)
				continue
			}
			at := out.Attributes
			r := cloud.New("store", "aws", "sqs:queue", at["QueueArn"])
			r.Name, r.Region = name, cfg.Region
			r.Attrs["service"] = "sqs"
			key := at["KmsMasterKeyId"]
			r.Attrs["encrypted"] = key != "" || at["SqsManagedSseEnabled"] == "true"
			r.Attrs["kms_key"] = cloud.CustomerKey(key)
			r.Attrs["public"] = cloud.PublicPolicy(at["Policy"])
			a.add(r)
			resourcePolicy(a, cfg.Region, "sqs:queue-policy", at["QueueArn"], name, at["Policy"])
		}
	}
}

// topics reads SNS topics: key and access policy.
func topics(ctx context.Context, a *account, cfg aws.Config) {
	c := sns.NewFromConfig(cfg)
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "sns:ListTopics", err)
			return
		}
		for _, t := range page.Topics {
			arn := aws.ToString(t.TopicArn)
			out, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: t.TopicArn})
			if err != nil {
				a.fail(cfg.Region, "sns:GetTopicAttributes", err)
				continue
			}
			name := arn[strings.LastIndex(arn, ":")+1:]
			r := cloud.New("store", "aws", "sns:topic", arn)
			r.Name, r.Region = name, cfg.Region
			r.Attrs["service"] = "sns"
			key := out.Attributes["KmsMasterKeyId"]
			r.Attrs["encrypted"] = key != ""
			r.Attrs["kms_key"] = cloud.CustomerKey(key)
			r.Attrs["public"] = cloud.PublicPolicy(out.Attributes["Policy"])
			a.add(r)
			resourcePolicy(a, cfg.Region, "sns:topic-policy", arn, name, out.Attributes["Policy"])
		}
	}
}

// secrets reads Secrets Manager secrets and the key that encrypts them.
func secrets(ctx context.Context, a *account, cfg aws.Config) {
	p := secretsmanager.NewListSecretsPaginator(secretsmanager.NewFromConfig(cfg), &secretsmanager.ListSecretsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail(cfg.Region, "secretsmanager:ListSecrets", err)
			return
		}
		for _, s := range page.SecretList {
			r := cloud.New("store", "aws", "secretsmanager:secret", aws.ToString(s.ARN))
			r.Name, r.Region = aws.ToString(s.Name), cfg.Region
			r.Attrs["service"] = "secretsmanager"
			// Without a key id the secret is encrypted with aws/secretsmanager.
			r.Attrs["kms_key"] = cloud.CustomerKey(aws.ToString(s.KmsKeyId))
			a.add(r)
		}
	}
}
