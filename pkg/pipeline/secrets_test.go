package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Once a value is a secret, no string of any finding of the scan, nor the
// ledger, shows it: wherever it appears, whichever analyzer wrote it.
func TestFinishMasksEveryOccurrenceOfASecret(t *testing.T) {
	const (
		matched  = "Zq8vN3kLw5PxR2tY"           // found by an analyzer, noted through the context
		flagged  = "s3cr3t-Api-T0ken"           // --api-token value, no rule needed
		urlPass  = "hunter2-etcd-pass"          // URL user-info password
		urlToken = "ghp_0123456789abcdefABCDEF" // a lone token as URL user-info
		envValue = "AKIAIOSFODNN7EXAMPLE"       // in a secret finding's snippet
	)
	secrets := &Secrets{}
	ctx := WithSecrets(context.Background(), secrets)
	NoteSecret(ctx, matched)
	NoteSecret(context.Background(), "not-in-any-scan") // no set: nothing happens
	ledger := NewLedger()
	ledger.Record("kubernetes", File, "a.yaml", errors.New("line 3: cannot unmarshal "+matched))
	groups := map[string][]*vigilv1.Finding{
		"secrets": {{Fingerprint: "1", Message: "Generic token", Tags: []string{finding.SecretTag},
			Location: &vigilv1.Location{Snippet: "token: " + strings.Repeat("*", 8) + " # also " + matched}}},
		"kubernetes": {
			{Fingerprint: "2", Message: "kube-apiserver: profiling on", Location: &vigilv1.Location{
				Snippet: "--api-token " + flagged + " --authorization-mode=Node,RBAC --api-token=" + flagged + " --token-auth-file=/etc/tokens.csv"}},
			{Fingerprint: "3", Message: "etcd reached at https://root:" + urlPass + "@etcd:2379", Resource: &vigilv1.Resource{Name: "api " + matched,
				Uri: "git clone https://" + urlToken + "@github.com/o/r"}},
			{Fingerprint: "4", Tags: []string{finding.SecretTag}, Location: &vigilv1.Location{Snippet: "AWS_ACCESS_KEY_ID=" + envValue}},
			{Fingerprint: "5", Message: "image built with ARG " + envValue + " and " + flagged + urlPass},
		},
	}
	Finish(groups, nil, secrets, ledger)
	all, _ := protojson.Marshal(&vigilv1.ScanReport{Findings: append(groups["secrets"], groups["kubernetes"]...),
		Errors: ledger.Notices(""), Coverage: ledger.Coverage("")})
	for _, raw := range []string{matched, flagged, urlPass, urlToken, envValue} {
		if strings.Contains(string(all), raw) {
			t.Errorf("%s is still shown:\n%s", raw, all)
		}
	}
	// What is not a secret stays readable.
	for _, kept := range []string{"--authorization-mode=Node,RBAC", "--token-auth-file=/etc/tokens.csv", "@etcd:2379", "github.com/o/r"} {
		if !strings.Contains(string(all), kept) {
			t.Errorf("%q was masked:\n%s", kept, all)
		}
	}
	if secrets.Len() != 5 {
		t.Errorf("%d secrets known, want 5", secrets.Len())
	}
}

func TestSecretFlagsAreNotSettings(t *testing.T) {
	s := &Secrets{}
	for _, text := range []string{
		"--enable-bootstrap-token-auth=true", "--service-account-max-token-expiration=48h", "--token-auth-file=/etc/x.csv",
		"--authentication-token-webhook-cache-ttl=2m", "--secret-name=db", "--password-file /run/secrets/pw",
		"--token=$TOKEN", "--api-key=${API_KEY}", "ssh://git@github.com/o/r", "--secret-port=12345",
	} {
		s.learnText(text)
	}
	if s.Len() != 0 {
		t.Fatalf("settings taken for secrets: %v", s.values)
	}
}

// FuzzSecretInference: whatever text findings carry, inference from it
// never panics, and no value it learned (or one an analyzer noted)
// survives raw in any string of any finding of the scan.
func FuzzSecretInference(f *testing.F) {
	f.Add("kube-apiserver --etcd-servers=https://root:S3cr3tPassw0rd@etcd:2379 --authorization-mode=Node,RBAC", "--token=abcdef0123456789 --token=abcdef0123456789", "noted-value-1")
	f.Add("postgres://app:hunter2hunter2@db/app?sslmode=disable", "password: hunter2hunter2", "")
	f.Add("https://ghp_0123456789abcdefghij@github.com/org/repo", "--client-secret=x --secret-file=/etc/s", "short")
	f.Fuzz(func(t *testing.T, message, snippet, noted string) {
		secrets := &Secrets{}
		secrets.Add(noted)
		mk := func(fp string) *vigilv1.Finding {
			return &vigilv1.Finding{Fingerprint: fp, CheckId: "VGL-CODE-001", Message: message, Title: snippet + message,
				Resource: &vigilv1.Resource{Name: snippet}, Location: &vigilv1.Location{Path: "p", Snippet: snippet},
				Tags: []string{finding.SecretTag}}
		}
		groups := map[string][]*vigilv1.Finding{"a": {mk("f1")}, "b": {mk("f2")}}
		Finish(groups, nil, secrets, nil)
		secrets.mu.Lock()
		defer secrets.mu.Unlock()
		for _, fs := range groups {
			for _, fd := range fs {
				finding.MapStrings(fd, func(s string) string {
					for v := range secrets.values {
						if strings.Contains(s, v) {
							t.Fatalf("secret %q survives in %q", v, s)
						}
					}
					return s
				})
			}
		}
	})
}
