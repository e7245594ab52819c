package secret

import (
	"math"
	"regexp"
)

// rule builds a Rule; pattern must name the credential as group "secret"
// when the match holds more than the credential.
func rule(id, title string, keywords []string, pattern string, minEntropy float64) *Rule {
	return &Rule{ID: id, Title: title, Keywords: keywords, Pattern: regexp.MustCompile(pattern), MinEntropy: minEntropy}
}

// assignment is the right-hand side of a credential-named setting.
const assignment = `(?:\s*[:=]\s*|\s*=>\s*|"\s*:\s*)["']?(?P<secret>[^\s"'<>,;$\x60{}()/][^\s"'<>,;$\x60{}()]{7,127})["']?`

// Rules returns the built-in rule set, a fresh copy each call.
func Rules() []*Rule {
	return []*Rule{
		rule("aws-access-key-id", "AWS access key ID", []string{"akia", "asia", "abia", "acca"},
			`\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`, 0),
		rule("aws-secret-access-key", "AWS secret access key", []string{"aws"},
			`(?i)aws_?(?:secret)?_?(?:access)?_?key["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+]{40})\b`, 3.5),
		rule("github-token", "GitHub token", []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
			`\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})\b`, 0),
		rule("github-fine-grained-token", "GitHub fine-grained token", []string{"github_pat_"},
			`\b(?P<secret>github_pat_[A-Za-z0-9_]{82})\b`, 0),
		rule("gitlab-token", "GitLab token", []string{"glpat-", "gldt-", "glrt-", "glptt-"},
			`\b(?P<secret>gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,})\b`, 0),
		rule("slack-token", "Slack token", []string{"xox"},
			`\b(?P<secret>xox[abposre]-[A-Za-z0-9-]{10,})\b`, 0),
		rule("slack-webhook", "Slack webhook URL", []string{"hooks.slack.com"},
			`(?P<secret>https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/]{20,})`, 0),
		rule("stripe-key", "Stripe API key", []string{"sk_live_", "rk_live_", "sk_test_", "rk_test_"},
			`\b(?P<secret>[rs]k_(?:live|test)_[A-Za-z0-9]{20,99})\b`, 0),
		rule("google-api-key", "Google API key", []string{"aiza"},
			`\b(?P<secret>AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)`, 0),
		rule("gcp-service-account-key", "Google Cloud service account key", []string{"private_key_id"},
			`"private_key_id"\s*:\s*"(?P<secret>[a-f0-9]{40})"`, 0),
		rule("private-key", "Private key", []string{"private key"},
			`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----\s*(?P<secret>[A-Za-z0-9+/=\s:,-]{64,}?)-----END`, 0),
		rule("jwt", "JSON Web Token", []string{"eyj"},
			`\b(?P<secret>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})`, 0),
		rule("npm-token", "npm access token", []string{"npm_"},
			`\b(?P<secret>npm_[A-Za-z0-9]{36})\b`, 0),
		rule("pypi-token", "PyPI upload token", []string{"pypi-"},
			`\b(?P<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})`, 0),
		rule("docker-hub-token", "Docker Hub personal access token", []string{"dckr_pat_"},
			`\b(?P<secret>dckr_pat_[A-Za-z0-9_-]{27,})`, 0),
		rule("sendgrid-key", "SendGrid API key", []string{"sg."},
			`\b(?P<secret>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})\b`, 0),
		rule("twilio-key", "Twilio API key", []string{"sk"},
			`\b(?P<secret>SK[0-9a-f]{32})\b`, 3),
		rule("mailgun-key", "Mailgun API key", []string{"key-"},
			`\b(?P<secret>key-[0-9a-z]{32})\b`, 3),
		rule("shopify-token", "Shopify access token", []string{"shpat_", "shpss_", "shpca_", "shppa_"},
			`\b(?P<secret>shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32})\b`, 0),
		rule("openai-key", "OpenAI API key", []string{"sk-"},
			`\b(?P<secret>sk-(?:proj-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})`, 0),
		rule("anthropic-key", "Anthropic API key", []string{"sk-ant-"},
			`\b(?P<secret>sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,})`, 0),
		rule("azure-storage-key", "Azure storage account key", []string{"accountkey="},
			`(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)`, 0),
		rule("heroku-key", "Heroku API key", []string{"heroku"},
			`(?i)heroku[a-z_ -]{0,20}["']?\s*[:=]\s*["']?(?P<secret>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`, 0),
		rule("hashicorp-vault-token", "HashiCorp Vault token", []string{"hvs.", "hvb."},
			`\b(?P<secret>hv[sb]\.[A-Za-z0-9_-]{24,})`, 0),
		rule("database-url-password", "Database URL with a password", []string{"://"},
			`\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver)://[^/\s:@"']{1,64}:(?P<secret>[^/\s:@"'$]{3,128})@[^\s"']+`, 0),
		rule("basic-auth-url", "URL with a password", []string{"://"},
			`\bhttps?://[^/\s:@"']{1,64}:(?P<secret>[^/\s:@"'$]{6,128})@[A-Za-z0-9.-]+`, 2.5),
		rule("generic-password", "Password assignment", []string{"pass", "pwd"},
			`(?i)\b[A-Za-z0-9_.-]*(?:password|passwd|pwd)[A-Za-z0-9_.-]*["']?`+assignment, 3),
		rule("generic-secret", "Secret or token assignment", []string{"secret", "token", "api_key", "apikey", "api-key"},
			`(?i)\b[A-Za-z0-9_.-]*(?:secret|token|api_?key|api-key)[A-Za-z0-9_.-]*["']?`+assignment, 3.5),
	}
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s []byte) float64 {
	if len(s) == 0 {
		return 0
	}
	var counts [256]int
	for _, b := range s {
		counts[b]++
	}
	var h float64
	n := float64(len(s))
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}
