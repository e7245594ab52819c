package terraform

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/cloud"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

func cloudChecks(t testing.TB) []*checks.Check {
	t.Helper()
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return cat.ForInput("cloud")
}

// findings evaluates the checks and returns "CHECK address" lines.
func findings(t *testing.T, cfg *Config) []string {
	t.Helper()
	fs, _, err := cloud.Evaluate(context.Background(), cloudChecks(t), Adapt(cfg), "", "terraform", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.CheckId+" "+f.Resource.Name)
	}
	return out
}

func TestModuleEvaluation(t *testing.T) {
	cfg, err := LoadDir(context.Background(), "testdata/root")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cfg.Errors {
		t.Errorf("error: %v", e)
	}
	got := findings(t, cfg)
	want := []string{
		`VGL-CLOUD-002 aws_s3_bucket.data["assets"]`, // public policy, referenced through for_each
		`VGL-CLOUD-003 aws_s3_bucket.data["assets"]`,
		`VGL-CLOUD-006 aws_s3_bucket.data["assets"]`,
		`VGL-CLOUD-020 aws_security_group.web`,  // port 22 from a variable's default, in a dynamic block
		`VGL-CLOUD-050 aws_ebs_volume.disk[1]`,  // count.index
		`VGL-CLOUD-060 aws_db_instance.db`,      // a local from tfvars
		`VGL-CLOUD-024 module.net.aws_vpc.main`, // the module's flow log has count 0 with these inputs
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s", w)
		}
	}
	for _, notWant := range []string{
		`VGL-CLOUD-003 aws_s3_bucket.data["logs"]`, // its public access block names it
		`VGL-CLOUD-006 aws_s3_bucket.data["logs"]`,
		`VGL-CLOUD-050 aws_ebs_volume.disk[0]`,
	} {
		if slices.Contains(got, notWant) {
			t.Errorf("unexpected %s", notWant)
		}
	}
	if !slices.Contains(cfg.ModuleDirs, filepath.Clean("testdata/root/modules/net")) {
		t.Errorf("module folders %v", cfg.ModuleDirs)
	}
}

func TestPlan(t *testing.T) {
	data, err := os.ReadFile("testdata/plan/plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if !IsPlan(data) {
		t.Fatal("plan not recognised")
	}
	cfg, err := Plan("plan.json", data)
	if err != nil {
		t.Fatal(err)
	}
	got := findings(t, cfg)
	for _, w := range []string{"VGL-CLOUD-064 aws_kms_key.k", "VGL-CLOUD-080 module.trail.aws_cloudtrail.t"} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s in %v", w, got)
		}
	}
	// The public access block names its bucket only in the configuration.
	if slices.Contains(got, "VGL-CLOUD-003 aws_s3_bucket.b") {
		t.Error("the plan's public access block was not linked to its bucket")
	}
}

// A module folder is not scanned again as a root of its own.
func TestScanSetSkipsModuleFolders(t *testing.T) {
	var files []pipeline.Content
	filepath.WalkDir("testdata/root", func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tf") {
			data, _ := os.ReadFile(p)
			files = append(files, pipeline.Content{Path: filepath.ToSlash(p), Data: data})
		}
		return nil
	})
	s := &Scanner{Checks: cloudChecks(t)}
	fs, err := s.ScanSet(context.Background(), files, "acme")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fs {
		if strings.Contains(f.Resource.Name, "aws_vpc.main") {
			n++
			if f.Resource.Name != "module.net.aws_vpc.main" {
				t.Errorf("module resource evaluated as a root: %s", f.Resource.Name)
			}
			if f.Location.Snippet == "" || f.Location.StartLine == 0 {
				t.Errorf("no location for %s: %+v", f.Resource.Name, f.Location)
			}
		}
	}
	if n == 0 {
		t.Fatal("no findings on the module's VPC")
	}
}

func TestBrokenFilesAreReportedAndTheRestEvaluated(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.tf"), []byte("resource \"aws_s3_bucket\" {\n  bucket = \n"), 0o644)
	os.WriteFile(filepath.Join(dir, "good.tf"), []byte("resource \"aws_ebs_volume\" \"v\" {\n  encrypted = false\n}\n"), 0o644)
	cfg, err := LoadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Error(), "bad.tf") {
		t.Fatalf("errors %v", cfg.Errors)
	}
	if got := findings(t, cfg); !slices.Contains(got, "VGL-CLOUD-050 aws_ebs_volume.v") {
		t.Fatalf("good file not evaluated: %v", got)
	}
}

func TestExpansionIsBounded(t *testing.T) {
	dir := t.TempDir()
	src := `resource "aws_security_group" "g" {
  count = 1000
  dynamic "ingress" {
    for_each = range(1000)
    content {
      dynamic "x" {
        for_each = range(1000)
        content { from_port = 1 }
      }
    }
  }
}
`
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644)
	cfg, err := LoadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Errors) == 0 || !strings.Contains(cfg.Errors[0].Error(), "expand to more than") {
		t.Fatalf("errors %v", cfg.Errors)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("variable \"a\" { default = 1 }\nlocals { b = var.a + 1 }\nresource \"aws_ebs_volume\" \"v\" { count = local.b\n encrypted = count.index == 0 }\n"))
	f.Add([]byte("resource \"aws_security_group\" \"g\" {\n dynamic \"ingress\" {\n for_each = [1]\n content { from_port = ingress.value }\n }\n}\n"))
	f.Add([]byte("module \"m\" { source = \"./\" }\n"))
	checks := cloudChecks(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadDir(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		cloud.Evaluate(context.Background(), checks, Adapt(cfg), "", "terraform", nil)
	})
}

func FuzzPlan(f *testing.F) {
	data, _ := os.ReadFile("testdata/plan/plan.json")
	f.Add(data)
	f.Add([]byte(`{"format_version":"1.0","planned_values":{"root_module":{}}}`))
	checks := cloudChecks(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Plan("plan.json", data)
		if err != nil {
			return
		}
		cloud.Evaluate(context.Background(), checks, Adapt(cfg), "", "terraform", nil)
	})
}

// findingsIn loads hcl as a one-file root module and returns the "CHECK
// address" lines of the checks from first to last (ids, inclusive), sorted.
func findingsIn(t *testing.T, hcl, first, last string) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range findings(t, cfg) {
		if id, _, _ := strings.Cut(f, " "); id >= first && id <= last {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}
