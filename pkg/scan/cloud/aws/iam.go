package aws

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// now is the clock of key ages; tests set it.
var now = time.Now

// collectIAM reads the account's identity settings: the password policy,
// root credentials, users (credential report), local policies and roles.
func collectIAM(ctx context.Context, a *account) {
	c := iam.NewFromConfig(a.cfg)
	pp := cloud.New("password_policy", "aws", "iam:password-policy", "arn:aws:iam::"+a.id+":account-password-policy")
	pp.Name = "password policy"
	out, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	switch {
	case err == nil:
		p := out.PasswordPolicy
		pp.Attrs["exists"] = true
		pp.Attrs["min_length"] = int64(aws.ToInt32(p.MinimumPasswordLength))
		pp.Attrs["require_symbols"] = p.RequireSymbols
		pp.Attrs["require_numbers"] = p.RequireNumbers
		pp.Attrs["require_uppercase"] = p.RequireUppercaseCharacters
		pp.Attrs["require_lowercase"] = p.RequireLowercaseCharacters
		pp.Attrs["reuse_prevention"] = int64(aws.ToInt32(p.PasswordReusePrevention))
		pp.Attrs["max_age_days"] = int64(aws.ToInt32(p.MaxPasswordAge))
		a.add(pp)
	case errorCode(err) == "NoSuchEntity":
		// No policy: AWS's default allows any password of six characters.
		pp.Attrs["min_length"] = int64(6)
		a.add(pp)
	default:
		a.fail("global", "iam:GetAccountPasswordPolicy", err)
	}

	acct := cloud.New("account", "aws", "iam:account", "arn:aws:iam::"+a.id+":root")
	acct.Name = a.id
	if sum, err := c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); err != nil {
		notAssessed(acct, "root_access_keys", "iam:GetAccountSummary", err)
		notAssessed(acct, "root_mfa", "iam:GetAccountSummary", err)
	} else {
		acct.Attrs["root_access_keys"] = sum.SummaryMap["AccountAccessKeysPresent"] > 0
		acct.Attrs["root_mfa"] = sum.SummaryMap["AccountMFAEnabled"] > 0
	}
	users, err := credentialReport(ctx, c)
	if err != nil {
		notAssessed(acct, "users", "iam:GetCredentialReport", err)
	} else {
		admins := adminUsers(ctx, a, c)
		for _, u := range users {
			m := u.(map[string]any)
			m["admin"] = admins[m["name"].(string)]
		}
		acct.Attrs["users"] = users
	}
	a.add(acct)
	a.mu.Lock()
	a.summary = acct
	a.mu.Unlock()
	collectPolicies(ctx, a, c)
	collectRoles(ctx, a, c)
}

// credentialReport reads the IAM credential report (generating it first
// when there is none yet) into users: name, console, mfa, access_key_ages.
func credentialReport(ctx context.Context, c *iam.Client) ([]any, error) {
	var rep *iam.GetCredentialReportOutput
	for attempt := 0; ; attempt++ {
		var err error
		rep, err = c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
		if err == nil {
			break
		}
		code := errorCode(err)
		if (code != "ReportNotPresent" && code != "ReportInProgress" && code != "ReportExpired") || attempt >= 10 {
			return nil, err
		}
		if _, err := c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}); err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(rep.Content)).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	var users []any
	for _, row := range rows[1:] {
		name := get(row, "user")
		if name == "<root_account>" {
			continue
		}
		var ages []any
		for _, k := range []string{"access_key_1", "access_key_2"} {
			if get(row, k+"_active") != "true" {
				continue
			}
			if t, err := time.Parse(time.RFC3339, get(row, k+"_last_rotated")); err == nil {
				ages = append(ages, int64(now().Sub(t).Hours()/24))
			}
		}
		if ages == nil {
			ages = []any{}
		}
		users = append(users, map[string]any{"name": name, "console": get(row, "password_enabled") == "true",
			"mfa": get(row, "mfa_active") == "true", "access_key_ages": ages})
	}
	return users, nil
}

// adminUsers returns the users with AdministratorAccess attached directly.
func adminUsers(ctx context.Context, a *account, c *iam.Client) map[string]bool {
	out := map[string]bool{}
	p := iam.NewListEntitiesForPolicyPaginator(c, &iam.ListEntitiesForPolicyInput{
		PolicyArn: aws.String("arn:" + partition(a.cfg.Region) + ":iam::aws:policy/AdministratorAccess"), EntityFilter: iamtypes.EntityTypeUser})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail("global", "iam:ListEntitiesForPolicy", err)
			return out
		}
		for _, u := range page.PolicyUsers {
			out[aws.ToString(u.UserName)] = true
		}
	}
	return out
}

// collectPolicies reads the account's own managed policies, their
// default versions and the users they are attached to.
func collectPolicies(ctx context.Context, a *account, c *iam.Client) {
	p := iam.NewListPoliciesPaginator(c, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, OnlyAttached: false})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail("global", "iam:ListPolicies", err)
			return
		}
		for _, pol := range page.Policies {
			r := cloud.New("iam_policy", "aws", "iam:policy", aws.ToString(pol.Arn))
			r.Name = aws.ToString(pol.PolicyName)
			v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: pol.Arn, VersionId: pol.DefaultVersionId})
			if err != nil {
				notAssessed(r, "statements", "iam:GetPolicyVersion", err)
			} else if st := document(aws.ToString(v.PolicyVersion.Document)); st != nil {
				r.Attrs["statements"] = st
			}
			if aws.ToInt32(pol.AttachmentCount) > 0 {
				ents, err := c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: pol.Arn, EntityFilter: iamtypes.EntityTypeUser})
				if err != nil {
					notAssessed(r, "attached_to_users", "iam:ListEntitiesForPolicy", err)
				} else {
					users := []any{}
					for _, u := range ents.PolicyUsers {
						users = append(users, aws.ToString(u.UserName))
					}
					r.Attrs["attached_to_users"] = users
				}
			}
			a.add(r)
		}
	}
}

// document decodes a policy document as IAM returns it: URL-encoded JSON.
func document(s string) []any {
	if dec, err := url.QueryUnescape(s); err == nil {
		s = dec
	}
	st, err := cloud.ParsePolicy(strings.TrimSpace(s))
	if err != nil {
		return nil
	}
	return st
}

func collectRoles(ctx context.Context, a *account, c *iam.Client) {
	p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			a.fail("global", "iam:ListRoles", err)
			return
		}
		for _, role := range page.Roles {
			r := cloud.New("iam_role", "aws", "iam:role", aws.ToString(role.Arn))
			r.Name = aws.ToString(role.RoleName)
			if st := document(aws.ToString(role.AssumeRolePolicyDocument)); st != nil {
				r.Attrs["trust_statements"] = st
			}
			a.add(r)
		}
	}
}
