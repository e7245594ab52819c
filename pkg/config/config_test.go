package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func flags() (*pflag.FlagSet, *string, *string, *[]string, *int) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	url := fs.String("nats-url", "default", "")
	tenant := fs.String("tenant", "", "")
	targets := fs.StringSlice("target", nil, "")
	n := fs.Int("full-every", 24, "")
	return fs, url, tenant, targets, n
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "agent.yaml")
	os.WriteFile(file, []byte("nats-url: nats://file:4222\ntenant: file-tenant\ntarget: [/a, /b]\nfull-every: 6\n"), 0o600)
	t.Setenv("VIGIL_TENANT", "env-tenant")
	fs, url, tenant, targets, n := flags()
	if err := fs.Parse([]string{"--nats-url", "nats://flag:4222"}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(fs, file); err != nil {
		t.Fatal(err)
	}
	if *url != "nats://flag:4222" || *tenant != "env-tenant" || strings.Join(*targets, ",") != "/a,/b" || *n != 6 {
		t.Fatalf("got url=%s tenant=%s targets=%v full-every=%d", *url, *tenant, *targets, *n)
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "u.yaml")
	os.WriteFile(unknown, []byte("nats-ulr: x\n"), 0o600)
	fs, _, _, _, _ := flags()
	if err := Apply(fs, unknown); err == nil || !strings.Contains(err.Error(), "nats-ulr") {
		t.Fatalf("unknown key: %v", err)
	}
	badType := filepath.Join(dir, "b.yaml")
	os.WriteFile(badType, []byte("full-every: many\n"), 0o600)
	fs, _, _, _, _ = flags()
	if err := Apply(fs, badType); err == nil || !strings.Contains(err.Error(), "full-every") {
		t.Fatalf("bad value: %v", err)
	}
	fs, _, _, _, _ = flags()
	if err := Apply(fs, filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

func FuzzApply(f *testing.F) {
	f.Add([]byte("nats-url: x\ntarget: [a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, data, 0o600)
		fs, _, _, _, _ := flags()
		Apply(fs, p)
	})
}
