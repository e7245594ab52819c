package finding

import (
	"regexp"
	"strings"
)

// secretValues are formats of credentials that are recognisable from the
// value alone. The code pillar's secret scanner has the full rule set; this
// short list serves checks of configuration values (environment variables,
// ConfigMaps, Dockerfile ENV) where a credential has no business at all.
var secretValues = []*regexp.Regexp{
	regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b`),                   // AWS access key id
	regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`),                 // PEM private key
	regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}`),         // GitHub tokens
	regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}`),                                            // GitLab token
	regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`),                                       // Slack token
	regexp.MustCompile(`\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}`),                                // Stripe key
	regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`),                                             // Google API key
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`),       // JWT
	regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}`),                                 // bearer token
	regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@"']{1,64}:[^/\s:@"'$]{3,128}@[^\s]`), // URL with a password
}

// MaxSecretValue bounds what LooksLikeSecret reads of one value.
const MaxSecretValue = 1 << 20

// LooksLikeSecret reports whether a configuration value holds a credential:
// a known token format, or text that assigns a value to a credential-named
// setting ("REDIS_PASSWORD=abcd1234"). References such as "$VAR" do not count.
// Only the first MaxSecretValue bytes of a value are examined, so a huge
// value costs bounded time; whole files are searched by the secret scanner.
func LooksLikeSecret(v string) bool {
	if len(v) > MaxSecretValue {
		v = v[:MaxSecretValue]
	}
	for _, re := range secretValues {
		if re.MatchString(v) {
			return true
		}
	}
	for _, m := range secretAssignment.FindAllStringSubmatch(v, -1) {
		val := strings.Trim(m[2], `"'`)
		if len(val) >= 4 && !strings.HasPrefix(val, "$") && !strings.HasPrefix(val, "{{") && !strings.HasPrefix(val, "/") {
			return true
		}
	}
	return false
}
