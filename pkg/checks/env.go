package checks

import (
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
)

// Variables every check may read; a scanner leaves the ones that do not apply
// unset (null).
var variables = []string{
	// Kubernetes
	"obj", "kind", "pod", "container", "volume", "rule", "subject", "port", "annotations",
	// Dockerfile
	"dockerfile", "stage", "instruction",
}

// newEnv builds the CEL environment shared by all checks.
func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		cel.Function("image_tag",
			cel.Overload("image_tag_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.String(ImageTag(string(v.(types.String)))) }))),
		cel.Function("image_digest",
			cel.Overload("image_digest_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.String(ImageDigest(string(v.(types.String)))) }))),
	}
	for _, v := range variables {
		opts = append(opts, cel.Variable(v, cel.DynType))
	}
	return cel.NewEnv(opts...)
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

// ImageDigest returns the digest of an image reference, "" when it has none.
func ImageDigest(ref string) string {
	_, d, ok := strings.Cut(ref, "@")
	if !ok {
		return ""
	}
	return d
}
