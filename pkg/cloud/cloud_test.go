package cloud

import (
	"context"
	"errors"
	"math"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/checks/checkstest"
)

// caseResource reads a case: a kind, provider and type, and the attributes
// that differ from the kind's defaults.
func caseResource(t *testing.T, doc string) *Resource {
	t.Helper()
	var c struct {
		Kind, Provider, Type string
		Attrs                map[string]any
	}
	if err := yaml.UnmarshalStrict([]byte(doc), &c); err != nil {
		t.Fatalf("case %q: %v", doc, err)
	}
	if _, ok := Kinds[c.Kind]; !ok {
		t.Fatalf("case %q: unknown kind", doc)
	}
	r := New(c.Kind, c.Provider, c.Type, "case."+c.Kind)
	for k, v := range c.Attrs {
		if _, ok := Kinds[c.Kind].Attrs[k]; !ok {
			t.Fatalf("case %q: %s has no attribute %s", doc, c.Kind, k)
		}
		r.Attrs[k] = ints(v)
	}
	return r
}

// ints turns whole JSON numbers into int64, as adapters give them.
func ints(v any) any {
	switch v := v.(type) {
	case float64:
		if v == math.Trunc(v) {
			return int64(v)
		}
	case []any:
		for i := range v {
			v[i] = ints(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = ints(v[k])
		}
	}
	return v
}

func TestCloudChecks(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cs := cat.ForInput("cloud")
	checkstest.Run(t, "testdata/cases.yaml", cs, func(t *testing.T, doc string) map[string]int {
		fs, skipped, err := Evaluate(context.Background(), cs, []*Resource{caseResource(t, doc)}, "", "test", nil)
		if err != nil || len(skipped) > 0 {
			t.Fatalf("evaluate: %v (not assessed: %v)", err, skipped)
		}
		got := map[string]int{}
		for _, f := range fs {
			got[f.CheckId]++
		}
		return got
	})
}

// Every kind's defaults satisfy every check that reads the kind: a kind
// lacking an attribute a check reads would make the check error.
func TestChecksReadOnlyDocumentedAttributes(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cs := cat.ForInput("cloud")
	for kind := range Kinds {
		r := New(kind, "aws", "", "default."+kind)
		if m := r.Missing(); len(m) > 0 {
			t.Errorf("%s: missing %v", kind, m)
		}
		if _, skipped, err := Evaluate(context.Background(), cs, []*Resource{r}, "", "test", nil); err != nil || len(skipped) > 0 {
			t.Errorf("%s: %v %v", kind, err, skipped)
		}
	}
}

// An attribute the collector could not read leaves the checks that read
// it not assessed: neither a finding nor a pass.
func TestUnreadableAttributeIsNotAssessed(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r := New("bucket", "aws", "s3:bucket", "arn:aws:s3:::logs")
	delete(r.Attrs, "public_policy")
	r.NotAssessed = map[string]string{"public_policy": "AccessDenied on s3:GetBucketPolicy"}
	fs, skipped, err := Evaluate(context.Background(), cat.ForInput("cloud"), []*Resource{r}, "", "aws", nil)
	if err != nil {
		t.Fatal(err)
	}
	var na *NotAssessed
	found := false
	for _, s := range skipped {
		if errors.As(error(s), &na) && s.Check == "VGL-CLOUD-002" && s.Attr == "public_policy" {
			found = true
		}
	}
	if !found {
		t.Fatalf("VGL-CLOUD-002 not reported as not assessed: %v", skipped)
	}
	for _, f := range fs {
		if f.CheckId == "VGL-CLOUD-002" {
			t.Fatal("a check on an unreadable attribute raised a finding")
		}
	}
	if len(fs) == 0 {
		t.Fatal("the checks on the attributes that were read did not run")
	}
}

func TestParsePolicy(t *testing.T) {
	st, err := ParsePolicy(`{"Statement": {"Effect": "Allow", "Action": "s3:*", "Principal": {"AWS": ["*"]}, "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}}`)
	if err != nil || len(st) != 1 {
		t.Fatalf("%v %v", st, err)
	}
	s := st[0].(map[string]any)
	if s["principals"].([]any)[0] != "*" || s["actions"].([]any)[0] != "s3:*" || s["conditional"] != true {
		t.Fatalf("statement %v", s)
	}
	if _, err := ParsePolicy("{not json"); err == nil {
		t.Fatal("bad JSON accepted")
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add(`{"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Principal": {"AWS": "*"}, "Resource": "*"}]}`)
	f.Add(`{"Statement": {"Effect": "Deny", "NotAction": "iam:*", "Condition": {}}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, doc string) {
		st, err := ParsePolicy(doc)
		if err != nil {
			return
		}
		for _, s := range st {
			m := s.(map[string]any)
			for _, k := range []string{"actions", "not_actions", "resources", "principals"} {
				if _, ok := m[k].([]any); !ok {
					t.Fatalf("%s is %T", k, m[k])
				}
			}
		}
		PublicPolicy(doc)
	})
}
