package sast

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// The packages of one target load a batch at a time, whatever their
// number: folders of one module in batches of its own, loose folders under
// an overlay module at their common parent; and every package of every
// batch is analyzed.
func TestPackagesLoadInBoundedBatches(t *testing.T) {
	root := t.TempDir()
	const loose = MaxBatch + 7
	var dirs []string
	for i := range loose {
		d := filepath.Join(root, "samples", fmt.Sprintf("s%03d", i))
		write(t, filepath.Join(d, "main.go"), "package main\n\nimport \"crypto/md5\"\n\nfunc main() { _ = md5.Sum(nil) }\n")
		dirs = append(dirs, d)
	}
	mod := filepath.Join(root, "svc")
	write(t, filepath.Join(mod, "go.mod"), "module example.com/svc\n\ngo 1.22\n")
	for i := range 3 {
		d := filepath.Join(mod, fmt.Sprintf("p%d", i))
		write(t, filepath.Join(d, "p.go"), fmt.Sprintf("package p%d\n\nimport \"crypto/sha1\"\n\nfunc H() { _ = sha1.Sum(nil) }\n", i))
		dirs = append(dirs, d)
	}

	us, err := units(dirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 3 {
		t.Fatalf("%d load units, want 3 (the module, and the loose folders in two batches)", len(us))
	}
	for _, u := range us {
		if len(u.patterns) > MaxBatch {
			t.Errorf("unit %s loads %d folders, more than %d", u.dir, len(u.patterns), MaxBatch)
		}
		if u.overlay != nil && u.dir != filepath.Join(root, "samples") {
			t.Errorf("loose folders loaded under %s, want their common parent", u.dir)
		}
	}

	results, errs := Analyze(context.Background(), dirs)
	for _, e := range errs {
		t.Errorf("analyze: %v", e)
	}
	files := map[string]bool{}
	for _, r := range results {
		if r.Check == CheckWeakCrypto {
			files[r.Position.Filename] = true
		}
	}
	if len(files) != loose+3 {
		t.Fatalf("weak hash found in %d files, want %d: a batch was lost", len(files), loose+3)
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A folder the go command refuses (a path with '@' is not a package
// path) makes it give up on its whole list: the other folders of the
// batch are still analyzed, and that one is reported by name.
func TestUnloadableFolderDoesNotSinkItsBatch(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.test/app\n\ngo 1.22\n")
	write(t, filepath.Join(root, "good/good.go"), "package good\n\nimport \"crypto/md5\"\n\nfunc H() { _ = md5.Sum(nil) }\n")
	write(t, filepath.Join(root, "mods/lib@v1.0.0/lib.go"), "package lib\n\nfunc R() {}\n")
	write(t, filepath.Join(root, "also/also.go"), "package also\n\nimport \"crypto/sha1\"\n\nfunc H() { _ = sha1.Sum(nil) }\n")
	bad := filepath.Join(root, "mods/lib@v1.0.0")
	dirs := []string{filepath.Join(root, "also"), filepath.Join(root, "good"), bad}
	results, errs := Analyze(context.Background(), dirs)
	got := map[string]bool{}
	for _, r := range results {
		got[filepath.Base(filepath.Dir(r.Position.Filename))] = true
	}
	if !got["good"] || !got["also"] {
		t.Errorf("findings in %v, want good and also analyzed", got)
	}
	named := false
	for _, e := range errs {
		named = named || strings.Contains(e.Error(), "lib@v1.0.0")
	}
	if !named {
		t.Errorf("the folder that cannot load is not reported: %v", errs)
	}
}

// The go command can also drop folders without any error (offline, a
// module of the build list missing from the cache): unloaded names the
// folders no package answers, which are then loaded one by one.
func TestUnloadedNamesSilentDrops(t *testing.T) {
	u := unit{dir: "/m", patterns: []string{"./a", "./b", "./c/d"}}
	got := u.unloaded([]*packages.Package{{Dir: "/m/a"}, {Dir: "/m/c/d"}})
	if len(got) != 1 || got[0] != "./b" {
		t.Errorf("unloaded %v, want [./b]", got)
	}
}

// A folder with more Go source than MaxBatchSource loads in a batch of its
// own; small folders share one up to MaxBatch.
func TestLargeFolderIsABatchOfItsOwn(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.test/m\n\ngo 1.22\n")
	var dirs []string
	for _, name := range []string{"a", "b", "big", "c"} {
		body := "package " + name + "\n"
		if name == "big" {
			body += "var Table = []string{\n" + strings.Repeat("\t\"an entry of a generated table\",\n", MaxBatchSource/30) + "}\n"
		}
		write(t, filepath.Join(root, name, name+".go"), body)
		dirs = append(dirs, filepath.Join(root, name))
	}
	us, err := units(dirs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range us {
		got = append(got, strings.Join(u.patterns, " "))
	}
	if strings.Join(got, " | ") != "./a ./b | ./big | ./c" {
		t.Errorf("batches %q", got)
	}
}
