package agent_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/server"
)

// One tree configured by a relative path and by its absolute path is one
// scope: the server holds one set of findings, not two.
func TestRelativeAndAbsolutePathAreOneScope(t *testing.T) {
	srv := serve(t)

	root := t.TempDir()
	dir := filepath.Join(root, "manifests")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n"), 0o644)
	t.Chdir(root)
	data := t.TempDir() // one agent, restarted with the other spelling
	for i, target := range []string{"./manifests/", dir} {
		scanOnce(t, srv, data, uint64(i+1), target)
	}
	time.Sleep(200 * time.Millisecond)
	cov, err := srv.Store().Coverage(&vigilv1.ListCoverageRequest{Tenant: "acme", Scanner: "kubernetes"}, nil, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(cov.Scopes) != 1 || cov.Scopes[0].Scope.Target != dir {
		t.Fatalf("scopes %v, want one, named %s", cov.Scopes, dir)
	}
	all, _ := srv.Store().Summarize(&vigilv1.SummarizeFindingsRequest{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN, vigilv1.Status_STATUS_RESOLVED, vigilv1.Status_STATUS_REOPENED}})
	open, _ := srv.Store().Summarize(&vigilv1.SummarizeFindingsRequest{})
	if all.Total != open.Total || open.Total == 0 {
		t.Errorf("%d findings stored, %d open: the second spelling resolved or duplicated the first's", all.Total, open.Total)
	}
}

// scanOnce runs agent a1 of tenant acme once over targets, with its data
// in data, and waits until the server has applied scans scans in all.
func scanOnce(t *testing.T, srv *server.Server, data string, scans uint64, targets ...string) {
	t.Helper()
	a, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Tenant: "acme", ID: "a1", Spec: agent.Spec{Targets: targets}, Scanner: worker.Local{Logger: quiet}, Once: true, DataDir: data, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.Stats().Scans < scans && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// A checkout moved to another folder is the same repository: its scope and
// its findings' ids stay, and nothing is resolved or reopened.
func TestMovedCloneKeepsFindingIDs(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	srv := serve(t)

	base := t.TempDir()
	clone := filepath.Join(base, "a", "app")
	dir := filepath.Join(clone, "manifests")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"remote", "add", "origin", "git@github.com:acme/app.git"}} {
		if out, err := exec.Command("git", append([]string{"-C", clone}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	moved := filepath.Join(base, "b", "elsewhere")
	os.MkdirAll(filepath.Dir(moved), 0o755)

	data := t.TempDir()
	ids := map[string]bool{}
	for i, target := range []string{dir, filepath.Join(moved, "manifests")} {
		if i == 1 {
			if err := os.Rename(clone, moved); err != nil {
				t.Fatal(err)
			}
		}
		scanOnce(t, srv, data, uint64(i+1), target)
		list, _, err := srv.Store().List(&vigilv1.FindingFilter{Tenant: "acme", Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN, vigilv1.Status_STATUS_RESOLVED, vigilv1.Status_STATUS_REOPENED}}, 1000, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			t.Fatalf("scan %d: no findings stored", i+1)
		}
		for _, f := range list {
			if f.Status != vigilv1.Status_STATUS_OPEN {
				t.Errorf("scan %d: %s is %s, want open", i+1, f.Finding.CheckId, f.Status)
			}
			if f.Finding.Location.GetPath() != "manifests/pod.yaml" {
				t.Errorf("scan %d: path %q, want the path in the repository", i+1, f.Finding.Location.GetPath())
			}
			if i == 0 {
				ids[f.Finding.Fingerprint] = true
			} else if !ids[f.Finding.Fingerprint] {
				t.Errorf("scan 2: %s has a new id %s", f.Finding.CheckId, f.Finding.Fingerprint)
			}
		}
	}
	cov, err := srv.Store().Coverage(&vigilv1.ListCoverageRequest{Tenant: "acme", Scanner: "kubernetes"}, nil, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(cov.Scopes) != 1 || cov.Scopes[0].Scope.Target != "repo://github.com/acme/app//manifests" {
		t.Fatalf("scopes %v, want one named by the repository", cov.Scopes)
	}
}

// A target taken out of an agent's configuration is retired by the
// agent's next complete round: its findings leave the open ones, resolved
// as retired, while the kept target's stay.
func TestDroppedTargetIsRetired(t *testing.T) {
	srv := serve(t)
	base := t.TempDir()
	var dirs []string
	for _, name := range []string{"kept", "dropped"} {
		dir := filepath.Join(base, name)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: "+name+"}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n"), 0o644)
		dirs = append(dirs, dir)
	}
	data := t.TempDir()
	open := func() map[string]int {
		list, _, err := srv.Store().List(&vigilv1.FindingFilter{Tenant: "acme", Statuses: []vigilv1.Status{vigilv1.Status_STATUS_OPEN}}, 1000, "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, f := range list {
			out[filepath.Base(filepath.Dir(f.Finding.Location.Path))]++
		}
		return out
	}
	scanOnce(t, srv, data, 1, dirs...)
	deadline := time.Now().Add(20 * time.Second)
	for open()["dropped"] == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	before := open()
	if before["kept"] == 0 || before["dropped"] == 0 {
		t.Fatalf("open findings by target after the first run: %v", before)
	}
	scans := srv.Stats().Scans
	scanOnce(t, srv, data, scans+1, dirs[0])
	deadline = time.Now().Add(20 * time.Second)
	for open()["dropped"] != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	after := open()
	if after["dropped"] != 0 || after["kept"] != before["kept"] {
		t.Fatalf("open findings by target after the target was dropped: %v, want only the kept target's %d", after, before["kept"])
	}
	list, _, _ := srv.Store().List(&vigilv1.FindingFilter{Tenant: "acme", Statuses: []vigilv1.Status{vigilv1.Status_STATUS_RESOLVED}}, 1000, "")
	for _, f := range list {
		if f.Resolution != "retired" {
			t.Errorf("%s resolved as %q, want retired", f.Finding.Location.Path, f.Resolution)
		}
	}
	if len(list) != before["dropped"] {
		t.Errorf("%d resolved, want the dropped target's %d", len(list), before["dropped"])
	}
}
