package secret

import (
	"math"
	"regexp"
	"strings"
)

// def is one row of the rule table.
type def struct {
	id, title string
	keywords  []string
	pattern   string
	entropy   float64
	validate  func(match, secret []byte) bool
	// allowRuns keeps secrets with six or more of one character in a row,
	// normal in some formats (base64 key bodies, Twitter bearer tokens).
	allowRuns bool
	// multiline marks credentials that span lines (PEM blocks).
	multiline bool
	// run, for a rule without keywords, is the length of the run of
	// letters and digits that is the credential: only such runs are searched.
	run int
}

// Rules returns the built-in rule set, a fresh copy each call.
func Rules() []*Rule {
	out := make([]*Rule, 0, len(table))
	for _, d := range table {
		out = append(out, &Rule{ID: d.id, Title: d.title, Keywords: d.keywords, Pattern: regexp.MustCompile(d.pattern),
			MinEntropy: d.entropy, Validate: d.validate, AllowRuns: d.allowRuns, Multiline: d.multiline, MinRun: d.run})
	}
	return out
}

// before is the left edge of a token: the start, a character no token or
// base64 text has, or the end of a terminal colour sequence.
const before = `(?:^|[^A-Za-z0-9_+/=]|\x1b\[[0-9;]*m|\[[0-9;]*m)`

// tok builds a token rule: a fixed prefix followed by a body, bounded on
// both sides by non-token characters.
func tok(id, title, prefix, body string) def {
	return def{id: id, title: title, keywords: []string{strings.ToLower(prefix)},
		pattern: before + `(?P<secret>` + regexp.QuoteMeta(prefix) + body + `)(?:[^A-Za-z0-9_]|$)`}
}

// kw builds a rule for a value recognisable only next to a keyword
// ("datadog_api_key = <32 hex>").
func kw(id, title string, keywords []string, value string, entropy float64) def {
	names := strings.Join(keywords, "|")
	return def{id: id, title: title, keywords: keywords, entropy: entropy,
		pattern: `(?i)(?:` + names + `)[A-Za-z0-9_.-]{0,24}["']?\s*(?:[:=]|=>|:=|\s)\s*["']?(?P<secret>` + value + `)(?:[^A-Za-z0-9_]|$)`}
}

var table = []def{
	// Cloud providers
	{id: "aws-access-key-id", title: "AWS access key ID", keywords: []string{"akia", "asia", "abia", "acca"},
		pattern: `(?:^|[^A-Z0-9])(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?:[^A-Z0-9]|$)`},
	kw("aws-secret-access-key", "AWS secret access key", []string{"aws", "secret_access", "secretaccess"}, `[A-Za-z0-9/+]{40}`, 3.5),
	{id: "aws-mws-key", title: "Amazon MWS auth token", keywords: []string{"amzn.mws."},
		pattern: `(?P<secret>amzn\.mws\.[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12})`},
	tok("aws-bedrock-key", "Amazon Bedrock API key", "ABSK", `[A-Za-z0-9+/]{100,}={0,2}`),
	{id: "gcp-api-key", title: "Google API key", keywords: []string{"aiza"},
		pattern: `(?:^|[^A-Za-z0-9_-])(?P<secret>AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)`},
	tok("gcp-oauth-client-secret", "Google OAuth client secret", "GOCSPX-", `[A-Za-z0-9_-]{28}`),
	{id: "gcp-oauth-access-token", title: "Google OAuth access token", keywords: []string{"ya29."},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>ya29\.[0-9A-Za-z_-]{30,})`},
	{id: "gcp-oauth-refresh-token", title: "Google OAuth refresh token", keywords: []string{"1//0"},
		pattern: `(?:^|[^A-Za-z0-9_/])(?P<secret>1//0[0-9A-Za-z_-]{60,})`},
	{id: "gcp-service-account", title: "Google Cloud service account key", keywords: []string{"private_key_id"},
		pattern: `"private_key_id"\s*:\s*"(?P<secret>[a-f0-9]{40})"`},
	{id: "azure-storage-key", title: "Azure storage account key", keywords: []string{"accountkey"},
		pattern: `(?i)AccountKey\s*=\s*(?P<secret>[A-Za-z0-9+/]{86}==)`},
	{id: "azure-client-secret", title: "Azure AD client secret", keywords: []string{"q~"},
		pattern: `(?:^|[^A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)`, entropy: 3.5},
	{id: "azure-sas-token", title: "Azure shared access signature", keywords: []string{"sig="},
		pattern: `(?i)sv=\d{4}-\d{2}-\d{2}[^\s"']*&sig=(?P<secret>[A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})`},
	{id: "alibaba-access-key-id", title: "Alibaba Cloud access key ID", keywords: []string{"ltai"},
		pattern: `(?:^|[^A-Za-z0-9])(?P<secret>LTAI[A-Za-z0-9]{12,20})(?:[^A-Za-z0-9]|$)`},
	tok("tencent-secret-id", "Tencent Cloud secret ID", "AKID", `[A-Za-z0-9]{32}`),
	tok("digitalocean-pat", "DigitalOcean personal access token", "dop_v1_", `[a-f0-9]{64}`),
	tok("digitalocean-oauth", "DigitalOcean OAuth token", "doo_v1_", `[a-f0-9]{64}`),
	tok("digitalocean-refresh", "DigitalOcean refresh token", "dor_v1_", `[a-f0-9]{64}`),
	{id: "scaleway-key", title: "Scaleway secret key", keywords: []string{"scw"},
		pattern: `(?i)scw[a-z_]*secret[a-z_]*["']?\s*[:=]\s*["']?(?P<secret>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`},
	tok("heroku-key", "Heroku API key", "HRKU-", `[A-Za-z0-9_-]{30,80}`),
	kw("heroku-legacy-key", "Heroku API key", []string{"heroku"}, `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`, 0),
	{id: "akamai-client-token", title: "Akamai EdgeGrid client token", keywords: []string{"akab-"},
		pattern: `(?:^|[^A-Za-z0-9_.-])(?P<secret>akab-[a-z0-9]{16}-[a-z0-9]{16})(?:[^A-Za-z0-9_.-]|$)`},
	tok("cloudflare-token", "Cloudflare API token", "cfat_", `[A-Za-z0-9_-]{40,}`),
	tok("cloudflare-user-token", "Cloudflare user API token", "cfut_", `[A-Za-z0-9_-]{40,}`),
	tok("cloudflare-key", "Cloudflare API key", "cfk_", `[A-Za-z0-9_-]{40,}`),
	kw("cloudflare-global-key", "Cloudflare global API key", []string{"cloudflare", "cf_api_key"}, `[a-f0-9]{37}`, 3),
	tok("fly-token", "Fly.io access token", "FlyV1 fm2_", `[A-Za-z0-9+/=_-]{100,}`),
	tok("vercel-token", "Vercel access token", "vcp_", `[A-Za-z0-9]{40,}`),
	tok("netlify-token", "Netlify access token", "nfp_", `[A-Za-z0-9]{36}`),
	tok("supabase-token", "Supabase access token", "sbp_", `(?:v0_)?[a-f0-9]{40}`),
	tok("planetscale-password", "PlanetScale password", "pscale_pw_", `[A-Za-z0-9_.-]{32,64}`),
	tok("planetscale-token", "PlanetScale service token", "pscale_tkn_", `[A-Za-z0-9_.-]{32,64}`),
	tok("planetscale-oauth", "PlanetScale OAuth token", "pscale_oauth_", `[A-Za-z0-9_.-]{32,64}`),
	tok("defined-networking-key", "Defined Networking API key", "dnkey-", `[A-Z0-9]{26}-[A-Z0-9]{52}`),

	// Source control and CI
	{id: "github-token", title: "GitHub token", keywords: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})(?:[^A-Za-z0-9_]|$)`, validate: validTokenChecksum, allowRuns: true},
	{id: "github-app-installation-token", title: "GitHub app installation token", keywords: []string{"ghs_"},
		pattern: `(?P<secret>ghs_\d{8}_eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`},
	tok("github-fine-grained-token", "GitHub fine-grained token", "github_pat_", `[A-Za-z0-9_]{82}`),
	{id: "gitlab-token", title: "GitLab token", keywords: []string{"glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glimt-", "glagent-", "glsoat-", "gloas-", "glffct-", "glso-", "glwt-"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>gl(?:pat|dt|rt|ptt|cbt|ft|imt|agent|soat|oas|ffct|so|wt)-[A-Za-z0-9_.-]{20,})`},
	{id: "bitbucket-app-password", title: "Bitbucket app password", keywords: []string{"atbb"},
		pattern: `(?:^|[^A-Za-z0-9])(?P<secret>ATBB[A-Za-z0-9_=.-]{32})(?:[^A-Za-z0-9]|$)`},
	tok("bitbucket-access-token", "Bitbucket access token", "ATCTT3", `[A-Za-z0-9_=-]{150,}`),
	tok("bitbucket-server-token", "Bitbucket Data Center HTTP access token", "BBDC-", `[A-Za-z0-9+/@_-]{44}`),
	tok("atlassian-api-token", "Atlassian API token", "ATATT3", `[A-Za-z0-9_=-]{150,}`),
	{id: "jira-pat", title: "Jira or Confluence personal access token",
		pattern: `(?:^|[^A-Za-z0-9+/])(?P<secret>[MNO][A-Za-z0-9]{43})(?:[^A-Za-z0-9+/=]|$)`, validate: validJiraPAT, run: 44},
	tok("circleci-token", "CircleCI personal API token", "CCIPAT_", `[A-Za-z0-9]{22}_[a-f0-9]{40}`),
	{id: "npm-token", title: "npm access token", keywords: []string{"npm_"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>npm_[A-Za-z0-9]{36})(?:[^A-Za-z0-9_]|$)`, validate: validTokenChecksum, allowRuns: true},
	tok("pypi-token", "PyPI upload token", "pypi-AgEIcHlwaS5vcmc", `[A-Za-z0-9_-]{50,}`),
	tok("rubygems-key", "RubyGems API key", "rubygems_", `[a-f0-9]{48}`),
	tok("nuget-key", "NuGet API key", "oy2", `[a-z0-9]{43}`),
	tok("clojars-token", "Clojars deploy token", "CLOJARS_", `[a-f0-9]{60}`),
	tok("docker-hub-token", "Docker Hub personal access token", "dckr_pat_", `[A-Za-z0-9_-]{27,}`),
	tok("docker-hub-oat", "Docker Hub organization access token", "dckr_oat_", `[A-Za-z0-9_-]{27,}`),
	tok("docker-swarm-join-token", "Docker Swarm join token", "SWMTKN-1-", `[a-z0-9]{50}-[a-z0-9]{25}`),
	tok("docker-swarm-unlock-key", "Docker Swarm unlock key", "SWMKEY-1-", `[A-Za-z0-9+/]{43}`),
	{id: "jfrog-token", title: "JFrog access token", keywords: []string{"akcp", "cmvmdgtuoj"},
		pattern: `(?:^|[^A-Za-z0-9])(?P<secret>AKCp[A-Za-z0-9]{69}|cmVmdGtuOj[A-Za-z0-9]{54})(?:[^A-Za-z0-9]|$)`, validate: validJFrog},
	{id: "terraform-cloud-token", title: "Terraform Cloud token", keywords: []string{".atlasv1."},
		pattern: `(?P<secret>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})`},
	{id: "vault-token", title: "HashiCorp Vault token", keywords: []string{"hvs.", "hvb.", "hvr."},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>hv[sbr]\.[A-Za-z0-9_-]{24,})`},
	tok("pulumi-token", "Pulumi access token", "pul-", `[a-f0-9]{40}`),
	{id: "doppler-token", title: "Doppler token", keywords: []string{"dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."},
		pattern: `(?P<secret>dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})`},
	tok("sonarqube-token", "SonarQube token", "sq", `[pau]_[a-f0-9]{40}`),
	tok("snyk-token", "Snyk API token", "snyk_", `[a-z]{2}\.[A-Za-z0-9_-]{40,}`),
	{id: "grafana-cloud-token", title: "Grafana Cloud access policy token", keywords: []string{"glc_"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>glc_[A-Za-z0-9+/]{32,400}={0,2})`},
	{id: "grafana-service-account-token", title: "Grafana service account token", keywords: []string{"glsa_"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})`},
	kw("grafana-api-key", "Grafana API key", []string{"grafana"}, `eyJrIjoi[A-Za-z0-9+/]{50,}={0,2}`, 0),
	tok("sentry-org-token", "Sentry organization token", "sntrys_", `eyJ[A-Za-z0-9+/=_-]{60,}`),
	tok("sentry-user-token", "Sentry user token", "sntryu_", `[a-f0-9]{64}`),
	tok("databricks-token", "Databricks access token", "dapi", `[a-f0-9]{32}(?:-\d)?`),
	{id: "dynatrace-token", title: "Dynatrace API token", keywords: []string{"dt0c01."},
		pattern: `(?P<secret>dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64})`},
	{id: "newrelic-key", title: "New Relic key", keywords: []string{"nrak-", "nrjs-", "nrii-", "nrbr-"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>NR(?:AK-[A-Z0-9]{27}|JS-[a-f0-9]{19}|II-[A-Za-z0-9_-]{32}|BR-[a-f0-9]{19}))`},
	{id: "newrelic-license-key", title: "New Relic license key", keywords: []string{"nral"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>(?:[a-f0-9]{36}|[a-z]{2}\d{2}x[a-f0-9]{31})NRAL)(?:[^A-Za-z0-9_]|$)`},
	kw("datadog-key", "Datadog API or application key", []string{"datadog", "dd_api_key", "dd_app_key", "dd-api-key"}, `[a-f0-9]{32}|[a-f0-9]{40}`, 3),
	tok("posthog-key", "PostHog API key", "ph", `[cxsra]_[A-Za-z0-9]{40,60}`),
	tok("postman-key", "Postman API key", "PMAK-", `[a-f0-9]{24}-[a-f0-9]{34}`),
	tok("linear-key", "Linear API key", "lin_api_", `[A-Za-z0-9]{40}`),
	{id: "notion-token", title: "Notion integration token", keywords: []string{"ntn_", "secret_"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>ntn_[A-Za-z0-9]{46}|secret_[A-Za-z0-9]{43})(?:[^A-Za-z0-9_]|$)`},
	tok("figma-token", "Figma personal access token", "figd_", `[A-Za-z0-9_-]{40}`),
	{id: "airtable-token", title: "Airtable personal access token", keywords: []string{"pat"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>pat[A-Za-z0-9]{14}\.[a-f0-9]{64})`},
	tok("wundergraph-key", "WunderGraph Cosmo API key", "cosmo_", `[a-f0-9]{32}`),
	tok("onepassword-token", "1Password service account token", "ops_eyJ", `[A-Za-z0-9+/=_-]{250,}`),
	{id: "age-secret-key", title: "age secret key", keywords: []string{"age-secret-key-1"},
		pattern: `(?P<secret>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})(?:[^A-Z0-9]|$)`, validate: validAgeKey},
	{id: "nkey-seed", title: "NATS NKey seed", keywords: []string{"su", "sa", "so", "sn"},
		pattern: `(?:^|[^A-Z0-9])(?P<secret>S[UAONCPX][A-Z2-7]{56})(?:[^A-Z0-9]|$)`},

	// Chat, mail, payment, commerce
	{id: "slack-token", title: "Slack token", keywords: []string{"xox", "xapp-"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{64})`},
	{id: "slack-webhook", title: "Slack webhook URL", keywords: []string{"hooks.slack.com"},
		pattern: `(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,})`},
	{id: "discord-webhook", title: "Discord webhook URL", keywords: []string{"/api/webhooks/"},
		pattern: `https://(?:discord|discordapp)\.com/api/webhooks/\d{17,20}/(?P<secret>[A-Za-z0-9_-]{60,68})`},
	{id: "discord-bot-token", title: "Discord bot token", keywords: []string{"mt", "nd", "nz", "od", "ot"},
		pattern: `(?:^|[^A-Za-z0-9_.-])(?P<secret>[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})(?:[^A-Za-z0-9_.-]|$)`, entropy: 4},
	{id: "teams-webhook", title: "Microsoft Teams webhook URL", keywords: []string{"webhook.office.com"},
		pattern: `(?P<secret>https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/[A-Za-z0-9@/_-]{60,})`},
	{id: "telegram-bot-token", title: "Telegram bot token", keywords: []string{":aa"},
		pattern: `(?:^|[^0-9])(?P<secret>\d{8,10}:AA[0-9A-Za-z_-]{33})(?:[^A-Za-z0-9_-]|$)`},
	{id: "twilio-key", title: "Twilio API key or account SID", keywords: []string{"sk", "ac"},
		pattern: `(?:^|[^A-Za-z0-9])(?P<secret>SK[0-9a-fA-F]{32})(?:[^A-Za-z0-9]|$)`, entropy: 3},
	{id: "sendgrid-key", title: "SendGrid API key", keywords: []string{"sg."},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64})(?:[^A-Za-z0-9_-]|$)`},
	tok("brevo-key", "Brevo (Sendinblue) API key", "xkeysib-", `[a-f0-9]{64}-[A-Za-z0-9]{16}`),
	{id: "mailgun-key", title: "Mailgun API key", keywords: []string{"key-", "mailgun"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>key-[0-9a-z]{32}|[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8})(?:[^A-Za-z0-9_]|$)`, entropy: 3},
	{id: "mailchimp-key", title: "Mailchimp API key", keywords: []string{"-us"},
		pattern: `(?:^|[^A-Za-z0-9])(?P<secret>[A-Za-z0-9]{32}-us\d{1,2})(?:[^A-Za-z0-9]|$)`, entropy: 3.5},
	{id: "stripe-key", title: "Stripe API key", keywords: []string{"sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>(?:[rs]k_(?:live|test)_[A-Za-z0-9]{20,247})|whsec_[A-Za-z0-9]{32,})(?:[^A-Za-z0-9_]|$)`},
	tok("square-access-token", "Square access token", "sq0atp-", `[0-9A-Za-z_-]{22}`),
	tok("square-oauth-secret", "Square OAuth secret", "sq0csp-", `[0-9A-Za-z_-]{43}`),
	kw("square-production-token", "Square access token", []string{"square", "sqt"}, `EAAA[A-Za-z0-9_-]{60}`, 0),
	{id: "paypal-braintree-token", title: "PayPal Braintree access token", keywords: []string{"access_token$"},
		pattern: `(?P<secret>access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})`},
	tok("shopify-token", "Shopify token", "shp", `(?:at|ss|ca|pa)_[a-fA-F0-9]{32}`),
	tok("razorpay-key", "Razorpay key", "rzp_live_", `[A-Za-z0-9]{14}`),
	tok("flutterwave-key", "Flutterwave secret key", "FLWSECK", `(?:_TEST)?-[a-h0-9]{32}-X`),
	{id: "plaid-token", title: "Plaid access token", keywords: []string{"access-sandbox-", "access-development-", "access-production-"},
		pattern: `(?P<secret>access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`},
	{id: "facebook-token", title: "Facebook access token", keywords: []string{"eaa"},
		pattern: before + `(?P<secret>EAA[A-Za-z0-9]{80,})(?:[^A-Za-z0-9+/=]|$)`},
	{id: "facebook-app-token", title: "Facebook app access token", keywords: []string{"|"},
		pattern: `(?:^|[^0-9])(?P<secret>\d{15,16}\|[A-Za-z0-9_-]{27})(?:[^A-Za-z0-9_-]|$)`},
	tok("instagram-token", "Instagram access token", "IGQV", `[A-Za-z0-9_-]{150,}`),
	{id: "twitter-bearer-token", title: "Twitter/X bearer token", keywords: []string{"aaaaaaaaaaaaaaaaaaaaa"},
		pattern: `(?:^|[^A-Za-z0-9%])(?P<secret>AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{30,})`, allowRuns: true},
	{id: "dropbox-token", title: "Dropbox access token", keywords: []string{"sl."},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>sl\.[A-Za-z0-9_-]{130,})`},
	{id: "dropbox-long-lived-token", title: "Dropbox long-lived token", keywords: []string{"aaaaaaaaaa"},
		pattern: `(?:^|[^A-Za-z0-9_])(?P<secret>[A-Za-z0-9]{11}AAAAAAAAAA[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)`, allowRuns: true},
	{id: "salesforce-token", title: "Salesforce access token", keywords: []string{"00d"},
		pattern: `(?:^|[^A-Za-z0-9])(?P<secret>00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{80,})`},

	// AI services
	{id: "openai-key", title: "OpenAI API key", keywords: []string{"t3blbkfj"},
		pattern: `(?:^|[^A-Za-z0-9_-])(?P<secret>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})`},
	tok("anthropic-key", "Anthropic API key", "sk-ant-", `(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}`),
	tok("huggingface-token", "Hugging Face access token", "hf_", `[A-Za-z]{34}`),
	tok("groq-key", "Groq API key", "gsk_", `[A-Za-z0-9]{52}`),
	tok("perplexity-key", "Perplexity API key", "pplx-", `[A-Za-z0-9]{48}`),
	tok("xai-key", "xAI API key", "xai-", `[A-Za-z0-9]{80}`),
	tok("replicate-token", "Replicate API token", "r8_", `[A-Za-z0-9]{37}`),
	tok("together-key", "Together AI API key", "tgp_v1_", `[A-Za-z0-9_-]{43}`),
	tok("tavily-key", "Tavily API key", "tvly-", `(?:dev-)?[A-Za-z0-9]{32}`),
	tok("llamacloud-key", "LlamaCloud API key", "llx-", `[A-Za-z0-9_-]{48}`),
	{id: "deepseek-key", title: "DeepSeek API key", keywords: []string{"sk-"},
		pattern: before + `(?P<secret>sk-[a-f0-9]{32})(?:[^A-Za-z0-9_-]|$)`, entropy: 3.2},

	// Keys, tokens and credentials by structure
	{id: "private-key", title: "Private key", keywords: []string{"private key"},
		pattern:  `-----BEGIN (?:[A-Z0-9-]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<secret>(?:[^-]|-{1,4}[^-]){64,}?)-----END`,
		validate: unencryptedPEM, allowRuns: true, multiline: true},
	{id: "private-key-base64", title: "Base64-encoded private key", keywords: []string{"ufjjvkfursblrvk", "bssvzbvegs0vz", "qukllwqvrfietfwq"},
		pattern: `(?:^|[^A-Za-z0-9+/])(?P<secret>[A-Za-z0-9+/]{100,}={0,2})`, validate: base64PEM, allowRuns: true},
	{id: "putty-private-key", title: "PuTTY private key", keywords: []string{"putty-user-key-file-"},
		pattern: `PuTTY-User-Key-File-\d: [^\n]+\nEncryption: none[\s\S]{0,400}?Private-Lines: \d+\n(?P<secret>[A-Za-z0-9+/=\n]{40,})`, allowRuns: true, multiline: true},
	{id: "pgp-private-key", title: "PGP private key block", keywords: []string{"pgp private key block"},
		pattern: `-----BEGIN PGP PRIVATE KEY BLOCK-----\s*(?P<secret>[A-Za-z0-9+/=\s:-]{64,}?)-----END`, allowRuns: true, multiline: true},
	{id: "jwt", title: "JSON Web Token", keywords: []string{"eyj"},
		pattern: `(?:^|[^A-Za-z0-9_-])(?P<secret>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})`, validate: validJWT},
	{id: "jwk-private", title: "JSON Web Key with a private part", keywords: []string{"\"d\""},
		pattern: `"kty"\s*:\s*"(?:RSA|EC|OKP)"[^}]{0,800}?"d"\s*:\s*"(?P<secret>[A-Za-z0-9_-]{32,})"`, multiline: true},
	{id: "jwk-private-base64", title: "Base64-encoded JSON Web Key", keywords: []string{"ewog", "eyjrdhki", "w3sik"},
		pattern: `(?P<secret>(?:WwogICAgewogICAgICAgICJrdHki|ewogICAgImt0eSI6|eyJrdHkiOi)[A-Za-z0-9+/=]{60,})`},
	{id: "ntlm-auth", title: "NTLM authentication message", keywords: []string{"tlrmtvntuaad"},
		pattern: `(?P<secret>TlRMTVNTUAADAAAA[A-Za-z0-9+/]{100,}={0,2})`, allowRuns: true},
	{id: "basic-auth-header", title: "HTTP Basic authorization", keywords: []string{"basic "},
		pattern: `(?i)authorization["']?\s*[:=]\s*["']?basic\s+(?P<secret>[A-Za-z0-9+/]{12,}={0,2})`, validate: validBasicAuth},
	{id: "bearer-auth-header", title: "HTTP Bearer authorization", keywords: []string{"bearer "},
		pattern: `(?i)authorization["']?\s*[:=]\s*["']?bearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{20,})`, entropy: 3.5},
	{id: "curl-user-password", title: "Password on a curl command line", keywords: []string{"curl"},
		pattern: `curl\s[^\n]*?(?:-u|--user)\s+["']?[^:\s"']+:(?P<secret>[^\s"'@]{4,})`},
	{id: "database-url-password", title: "Database URL with a password", keywords: []string{"://"},
		pattern: `(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|oracle|clickhouse|cockroachdb|jdbc:[a-z]+)://[^/\s:@"']{1,64}:(?P<secret>[^/\s:@"'$]{3,128})@[^\s"']+`},
	{id: "url-password", title: "URL with a password", keywords: []string{"://"},
		pattern: `(?i)\b(?:https?|ftps?|sftp|ssh|smtp|ldaps?|git)://[^/\s:@"']{1,64}:(?P<secret>[^/\s:@"'$]{6,128})@[A-Za-z0-9.-]+`, entropy: 2.5},
	{id: "connection-string-password", title: "Connection string with a password", keywords: []string{"password=", "pwd="},
		pattern: `(?i)(?:server|data source|host)=[^;"'\n]+;[^"'\n]*?(?:password|pwd)=(?P<secret>[^;"'\s]{4,128})`},
	{id: "sql-password", title: "Password in an SQL statement", keywords: []string{"identified", "password '", "password \"", "create role", "alter role", "create user", "alter user"},
		pattern: `(?i)(?:identified\s+(?:with\s+\w+\s+)?by\s+["'](?P<secret>[^"'\n]{4,128})["']|(?:create|alter)\s+user\s+\S+\s+identified\s+by\s+(?P<bare>[^\s"';)]{6,128})|(?:encrypted\s+|unencrypted\s+|with\s+)password\s+["'](?P<q2>[^"'\n]{4,128})["']|(?:create|alter)\s+(?:role|user)\s[^;\n]{0,120}?\bpassword\s+(?:'(?P<q3>[^'\n]{4,128})'|(?P<bare3>[A-Za-z0-9!#%&*+,.:=?@^_~-]{6,128})))`},
	// mysql -pSECRET: the password glued to -p, in the MySQL family's clients only.
	{id: "cmd-password", title: "Password on a command line", keywords: []string{"--password", "mysql", "mariadb"},
		pattern: `(?:--password[= ]|\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mariadb|mariadb-dump)\b[^\n|;&]*?\s-p)["']?(?P<secret>[^\s"'$-][^\s"']{5,127})`, entropy: 3},
	{id: "powershell-secure-string", title: "Plain-text password in ConvertTo-SecureString", keywords: []string{"converttosecurestring", "convertto-securestring"},
		pattern: `(?i)ConvertTo-SecureString(?:\s+-\w+)*\s+(?:\\?["'](?P<secret>[^"'\\\n]{4,128})\\?["']|(?P<bare>[^\s"'-][^\s"']{3,127}))`},
	{id: "curl-option-credential", title: "Credential in a libcurl option", keywords: []string{"curlopt_"},
		pattern: `CURLOPT_(?:PASSWORD|USERPWD|PROXYPASSWORD|PROXYUSERPWD|KEYPASSWD|XOAUTH2_BEARER|TLSAUTH_PASSWORD)\s*,\s*"(?:[^":]*:)?(?P<secret>[^"]{4,200})"`},
	{id: "credit-card", title: "Payment card number", keywords: []string{"card", "pan", "visa", "mastercard", "cc_"},
		pattern: `(?i)(?:card|pan|visa|mastercard|cc_?num)[A-Za-z_ -]{0,20}["']?\s*[:=]\s*["']?(?P<secret>(?:4\d{3}|5[1-5]\d{2}|3[47]\d{2}|6011)(?:[ -]?\d{4}){2}[ -]?\d{3,4})`, validate: luhn},
	{id: "otp-secret", title: "One-time password (TOTP) secret", keywords: []string{"otpauth://", "totp", "2fa", "otp_secret", "mfa_secret"},
		pattern: `(?i)(?:otpauth://[^\s]*secret=|(?:totp|2fa|otp|mfa)_?(?:secret|seed|key)["']?\s*[:=]\s*["']?)(?P<secret>[A-Z2-7]{16,64})`},
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
