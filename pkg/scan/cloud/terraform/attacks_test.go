package terraform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Deeply nested and oversized configuration ends in an error or a result,
// quickly, never a crash.
func TestHostileTerraform(t *testing.T) {
	cases := map[string]string{
		"deep tuple":        "locals { x = " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + " }\n",
		"deep object":       "locals { x = " + strings.Repeat("{a = ", 50_000) + "1" + strings.Repeat("}", 50_000) + " }\n",
		"deep parentheses":  "locals { x = " + strings.Repeat("(", 100_000) + "1" + strings.Repeat(")", 100_000) + " }\n",
		"huge line":         "locals { x = \"" + strings.Repeat("A", 20<<20) + "\" }\n",
		"invalid UTF-8":     "resource \"aws_s3_bucket\" \"b\xff\" { bucket = \"\xfe\" }\n",
		"self reference":    "locals {\n a = local.b\n b = local.a\n}\nresource \"aws_ebs_volume\" \"v\" { count = local.a }\n",
		"exponential count": "variable \"n\" { default = 1000000000 }\nresource \"aws_ebs_volume\" \"v\" { count = var.n }\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			done := make(chan struct{})
			go func() {
				defer close(done)
				cfg, err := LoadDir(context.Background(), dir)
				if err != nil {
					t.Logf("%s: %v", name, err)
					return
				}
				rs := Adapt(cfg)
				t.Logf("%s: %d resources, errors %v", name, len(rs), cfg.Errors)
				if strings.HasPrefix(name, "deep") && (len(cfg.Errors) == 0 || !strings.Contains(cfg.Errors[0].Error(), "nest")) {
					t.Errorf("%s: errors %v, want the nesting limit", name, cfg.Errors)
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s does not finish", name)
			}
			t.Logf("%s took %v", name, time.Since(start).Round(time.Millisecond))
		})
	}
}

func TestHostilePlan(t *testing.T) {
	deep := `{"format_version":"1.0","planned_values":{"root_module":{"resources":[{"address":"a.b","type":"aws_s3_bucket","name":"b","values":` +
		strings.Repeat(`{"a":`, 20_000) + "1" + strings.Repeat("}", 20_000) + `}]}}}`
	if _, err := Plan("plan.json", []byte(deep)); err == nil {
		t.Log("deep plan accepted (within the JSON depth limit)")
	}
	if _, err := Plan("plan.json", []byte(`{"planned_values":`+strings.Repeat("[", 200_000))); err == nil {
		t.Fatal("truncated deep plan accepted")
	}
}
