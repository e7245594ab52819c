package checks

import (
	"crypto/tls"
	"net/netip"
	"regexp"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/secret"
)

// Variables every check may read; a scanner leaves the ones that do not apply
// unset (null).
var variables = []string{
	// Kubernetes
	"obj", "kind", "pod", "container", "volume", "rule", "subject", "port", "annotations",
	// Kubernetes, per container: the command line of control-plane components
	"component", "flags",
	// Kubernetes, across objects: a binding's role, the policies selecting a
	// workload, the policies, resource quotas and limit ranges of a namespace
	"role", "selected_by", "policies", "quotas", "limit_ranges",
	// Kubernetes: the effective kubelet configuration; the Pod Security
	// Standards level of a workload
	"kubelet", "pss",
	// Dockerfile
	"dockerfile", "stage", "instruction",
	// X.509 certificates
	"certificate",
	// Container images: the configuration, one environment variable
	"image", "env",
	// Containers at runtime: one process
	"process",
	// Cloud: one resource of the normalised model
	"resource",
}

// newEnv builds the CEL environment shared by the checks of a catalog;
// has_secret asks the catalog's own credential detector.
func newEnv(secrets *secret.Scanner) (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		cel.Function("image_tag",
			cel.Overload("image_tag_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.String(ImageTag(string(v.(types.String)))) }))),
		cel.Function("looks_like_secret",
			cel.Overload("looks_like_secret_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.Bool(finding.LooksLikeSecret(string(v.(types.String)))) }))),
		cel.Function("tls_cipher_weak",
			cel.Overload("tls_cipher_weak_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.Bool(WeakCipherSuite(string(v.(types.String)))) }))),
		cel.Function("is_public_ip",
			cel.Overload("is_public_ip_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.Bool(PublicIP(string(v.(types.String)))) }))),
		cel.Function("internet",
			cel.Overload("internet_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.Bool(Internet(string(v.(types.String)))) }))),
		cel.Function("has_secret",
			cel.Overload("has_secret_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.Bool(len(secrets.Scan([]byte(v.(types.String)))) > 0) }))),
		cel.Function("wildcard_match",
			cel.Overload("wildcard_match_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(p, v ref.Val) ref.Val {
					return types.Bool(WildcardMatch(string(p.(types.String)), string(v.(types.String))))
				}))),
		cel.Function("image_digest",
			cel.Overload("image_digest_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.String(ImageDigest(string(v.(types.String)))) }))),
	}
	for _, v := range variables {
		opts = append(opts, cel.Variable(v, cel.DynType))
	}
	return cel.NewEnv(opts...)
}

// WildcardMatch reports whether pattern, where "*" stands for any run of
// characters, matches s, ignoring case: how IAM actions such as
// "Microsoft.Authorization/*" or "s3:Get*" are written.
func WildcardMatch(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// ImageTag returns the tag of an image reference, "" when it has none.
// "registry:5000/app" has no tag; "app:1.2@sha256:…" has tag "1.2".
func ImageTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon > slash {
		return ref[colon+1:]
	}
	return ""
}

// ImageDigest returns the digest of an image reference, "" when it has none
// or when it is not a well-formed OCI digest (a malformed digest pins
// nothing): algorithm:encoded by the OCI grammar, with the registered
// algorithms (sha256, sha512, blake3) held to their exact encoding.
func ImageDigest(ref string) string {
	_, d, ok := strings.Cut(ref, "@")
	if !ok {
		return ""
	}
	m := digestGrammar.FindStringSubmatch(d)
	if m == nil {
		return ""
	}
	if want, registered := registeredDigests[m[1]]; registered && !want.MatchString(m[2]) {
		return ""
	}
	return d
}

var (
	digestGrammar     = regexp.MustCompile(`^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$`)
	registeredDigests = map[string]*regexp.Regexp{
		"sha256": regexp.MustCompile(`^[a-f0-9]{64}$`),
		"sha512": regexp.MustCompile(`^[a-f0-9]{128}$`),
		"blake3": regexp.MustCompile(`^[a-f0-9]{64}$`),
	}
)

// strongCiphers are the suites Go's TLS stack considers secure.
var strongCiphers = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range tls.CipherSuites() {
		m[c.Name] = true
	}
	return m
}()

// WeakCipherSuite reports whether a TLS cipher suite name is one Go's TLS
// stack (that of every Kubernetes component) classifies as insecure, or
// does not know at all.
func WeakCipherSuite(name string) bool { return !strongCiphers[name] }

var declared = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range variables {
		m[v] = true
	}
	return m
}()

// activation resolves the variables a scanner sets, and every other
// declared variable to null, so scanners set only what applies.
type activation map[string]any

func (a activation) ResolveName(name string) (any, bool) {
	if v, ok := a[name]; ok {
		return v, true
	}
	if declared[name] {
		return nil, true
	}
	return nil, false
}

func (a activation) Parent() interpreter.Activation { return nil }

var _ interpreter.Activation = activation(nil)

var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// PublicIP reports whether s is an IP address routable on the internet:
// global unicast, and not private, loopback, link-local or shared
// (carrier-grade NAT) address space.
func PublicIP(s string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !sharedAddressSpace.Contains(a)
}

// Internet reports whether a CIDR or a provider's address tag means every
// address: 0.0.0.0/0, ::/0, "*", "Internet", "Any".
func Internet(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "*", "internet", "any", "0.0.0.0", "::":
		return true
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	return err == nil && p.Bits() == 0
}
