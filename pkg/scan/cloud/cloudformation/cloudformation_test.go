package cloudformation

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/cloud"
)

func scan(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := NewScanner(cat)
	if !s.Match(path) || !IsTemplate(data) {
		t.Fatalf("%s not recognised", path)
	}
	fs, err := s.ScanFile(context.Background(), path, data, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.CheckId+" "+f.Resource.Name)
		if f.Location.StartLine == 0 || f.Location.Snippet == "" {
			t.Errorf("%s %s: no location", f.CheckId, f.Resource.Name)
		}
	}
	return out
}

func TestIntrinsicFunctions(t *testing.T) {
	got := scan(t, "testdata/stack.yaml")
	for _, w := range []string{
		"VGL-CLOUD-002 Assets", // a policy that names the bucket with !Ref
		"VGL-CLOUD-006 Assets", // !If on a condition that holds with the default
		"VGL-CLOUD-020 Web",    // the CIDR from a parameter's default
		"VGL-CLOUD-062 Db",     // !FindInMap with a !Ref key
		"VGL-CLOUD-066 Queue",
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s in %v", w, got)
		}
	}
	// A key from a parameter without a default is unknown: not flagged.
	if slices.Contains(got, "VGL-CLOUD-005 Db") {
		t.Error("unknown KMS key reported as missing")
	}
}

func TestJSONTemplate(t *testing.T) {
	got := scan(t, "testdata/stack.json")
	if !slices.Contains(got, "VGL-CLOUD-080 Trail") {
		t.Fatalf("Fn::If with a false condition not taken: %v", got)
	}
}

func TestSubstitution(t *testing.T) {
	tmpl, err := Parse("t.yaml", []byte("Parameters: {Env: {Default: dev}}\nResources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub 'app-${Env}-${AWS::Region}-${!Literal}'\n      Tags: [{Key: a, Value: !Sub ['${X}-1', {X: !Ref Env}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := tmpl.Resources[0].Properties
	if got := p.Str("BucketName", "", "?"); got != "app-dev-us-east-1-${Literal}" {
		t.Errorf("BucketName = %q", got)
	}
	if got := p.Blocks("Tags")[0].Str("Value", "", "?"); got != "dev-1" {
		t.Errorf("tag = %q", got)
	}
}

func TestBadTemplates(t *testing.T) {
	for name, src := range map[string]string{
		"not a mapping": "- a\n- b\n",
		"no resources":  "AWSTemplateFormatVersion: 2010-09-09\n",
		"bad yaml":      "Resources: [\n",
		"deep":          "Resources: " + deep(200) + "\n",
		"laughs":        laughs(),
	} {
		if _, err := Parse(name, []byte(src)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// laughs is a document of aliases that expands to 10^9 values.
func laughs() string {
	s := "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 9; i++ {
		s += fmt.Sprintf("a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return s + "Resources: {B: {Type: AWS::S3::Bucket, Properties: {Tags: *a8}}}\n"
}

func deep(n int) string {
	s := "x"
	for i := 0; i < n; i++ {
		s = "[" + s + "]"
	}
	return s
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/stack.yaml", "testdata/stack.json"} {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte("Resources:\n  A: {Type: AWS::EC2::Instance, Properties: {UserData: !Base64 {Fn::Sub: 'x${A}'}}}\n"))
	cat, err := checks.Builtin()
	if err != nil {
		f.Fatal(err)
	}
	cs := cat.ForInput("cloud")
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := Parse("t.yaml", data)
		if err != nil {
			return
		}
		cloud.Evaluate(context.Background(), cs, Adapt("t.yaml", tmpl), "", "cloudformation", nil)
	})
}

// TestServerlessGlobals reads settings SAM resources inherit from Globals
// (tracing here) next to their own, and the services around them.
func TestServerlessGlobals(t *testing.T) {
	var got []string
	for _, f := range scan(t, "testdata/sam.yaml") {
		if f >= "VGL-CLOUD-170" && f < "VGL-CLOUD-180" {
			got = append(got, f)
		}
	}
	slices.Sort(got)
	want := []string{"VGL-CLOUD-170 Flow", "VGL-CLOUD-170 Untraced", "VGL-CLOUD-173 Cache", "VGL-CLOUD-178 Invoke"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	tmpl, err := Parse("sam.yaml", mustRead(t, "testdata/sam.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tmpl.Resources {
		if r.ID == "Traced" {
			vars := r.Properties.Block("Environment").Block("Variables")
			if vars["STAGE"] != "prod" || vars["MODE"] != "fast" {
				t.Errorf("global and own variables not merged: %v", vars)
			}
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestResilienceSettings reads RDS standby, monitoring, upgrades, log
// exports and passwords, and Lambda's VPC, dead letters and concurrency.
func TestResilienceSettings(t *testing.T) {
	got := map[string]bool{}
	for _, f := range scan(t, "testdata/resilience.yaml") {
		got[f] = true
	}
	for _, w := range []string{"VGL-CLOUD-068 Db", "VGL-CLOUD-196 Db", "VGL-CLOUD-197 Db", "VGL-CLOUD-198 Db", "VGL-CLOUD-201 Db",
		"VGL-CLOUD-199 Fn", "VGL-CLOUD-202 Fn", "VGL-CLOUD-203 Fn"} {
		if !got[w] {
			t.Errorf("missing %s", w)
		}
	}
	for _, n := range []string{"VGL-CLOUD-068 SafeDb", "VGL-CLOUD-196 SafeDb", "VGL-CLOUD-197 SafeDb", "VGL-CLOUD-198 SafeDb",
		"VGL-CLOUD-201 SafeDb", "VGL-CLOUD-199 Search"} {
		if got[n] {
			t.Errorf("unexpected %s", n)
		}
	}
}
