// Package tree is the source of files and directory trees on disk: every
// file is a unit, read by each file scanner that matches it, and OCI
// layouts inside are scanned as images. It is the catch-all: any target no
// other source claims is a path.
package tree

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// skipDirs are never descended into.
var skipDirs = map[string]bool{".git": true, "node_modules": true, ".terraform": true}

// walkScanner names the ledger entries of folders the walk could not enter.
const walkScanner = "walk"

// Source scans a path with every file scanner.
type Source struct {
	Files []source.FileScanner
	// Layouts scans the OCI layouts found in the tree; without it they
	// are not assessed.
	Layouts source.Source
	// LayoutScanner is the scanner a layout that could not be read is
	// accounted to.
	LayoutScanner string
	// Budget bounds the memory of scans in flight (nil: unbounded).
	Budget *source.Budget
}

// Name is "tree".
func (Source) Name() string { return "tree" }

// Match claims every target.
func (Source) Match(string) bool { return true }

// Normalize cleans the path, so "./a/" and "a" are one scope.
func (Source) Normalize(target string) string { return filepath.Clean(target) }

// job is one file for one scanner.
type job struct {
	path string // where the file is read from
	name string // what findings call it
	fs   source.FileScanner
}

// walked is what a walk of a tree found to scan.
type walked struct {
	namer   namer
	files   []source.FileScanner
	jobs    []job
	layouts []string
	ignore  *ignore
}

// Scan walks the target and scans what it found: files one by one on
// every core, then each set scanner over all its files, then the layouts.
// A target inside a git repository is named by the repository (see
// namer), so a moved checkout keeps its scope and fingerprints. A path
// that does not exist fails the target.
func (s Source) Scan(ctx context.Context, res *source.Result, target, tenant string) error {
	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	nm, identity, err := naming(ctx, target)
	if err != nil {
		// The tree is still scanned, under its path.
		res.Ledger.Record(walkScanner, pipeline.Repository, filepath.ToSlash(target), pipeline.AsNotice(err))
	}
	if identity != "" {
		res.Identity = identity
	}
	w, err := s.walk(res.Ledger, target, info.IsDir(), nm)
	if err != nil {
		return err
	}
	s.scanFiles(ctx, res, w.jobs, tenant)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.scanSets(ctx, res, w.jobs, nm.name(target), tenant); err != nil {
		return err
	}
	for _, l := range w.layouts {
		if s.Layouts == nil {
			res.Ledger.NotAssessed(s.LayoutScanner, pipeline.Image, filepath.ToSlash(l), pipeline.UnsupportedFormat, "no image source to read an OCI layout")
			continue
		}
		if err := s.Layouts.Scan(ctx, res, filepath.ToSlash(l), tenant); err != nil {
			if ctx.Err() != nil {
				return err
			}
			res.Ledger.NotAssessed(s.LayoutScanner, pipeline.Image, filepath.ToSlash(l), pipeline.Classify(err), err.Error())
		}
	}
	res.Exempt = func(f *vigilv1.Finding) bool { return w.ignore.fingerprints[f.Fingerprint] }
	return nil
}

// walk lists the files of a tree that some scanner reads. A folder that
// cannot be entered is a unit not assessed.
func (s Source) walk(ledger *pipeline.Ledger, target string, dir bool, nm namer) (*walked, error) {
	w := &walked{namer: nm, files: s.Files, ignore: &ignore{}}
	if !dir {
		w.add(target)
		return w, nil
	}
	ig, err := loadIgnore(target)
	if err != nil {
		ledger.Record(walkScanner, pipeline.File, filepath.ToSlash(filepath.Join(target, IgnoreFile)), pipeline.AsNotice(err))
	}
	w.ignore = ig
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == target {
				return err // the target itself cannot be read
			}
			ledger.Record(walkScanner, pipeline.File, nm.name(p), err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		return w.visit(target, p, d)
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", target, err)
	}
	return w, nil
}

// add lists the file at p for every scanner that reads it.
func (w *walked) add(p string) {
	var name string
	for _, f := range w.files {
		if f.Match(p) {
			if name == "" {
				name = w.namer.name(p)
			}
			w.jobs = append(w.jobs, job{path: p, name: name, fs: f})
		}
	}
}

// visit takes one readable entry of the walk: ignored paths and skipped
// folders are not entered, an OCI layout is kept whole as an image, and a
// regular file is listed for its scanners.
func (w *walked) visit(root, p string, d fs.DirEntry) error {
	if rel, _ := filepath.Rel(root, p); p != root && w.ignore.skips(filepath.ToSlash(rel)) {
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	if d.IsDir() {
		if p != root && skipDirs[d.Name()] {
			return fs.SkipDir
		}
		if image.IsLayout(p) {
			w.layouts = append(w.layouts, p)
			return fs.SkipDir
		}
		return nil
	}
	if d.Type().IsRegular() {
		w.add(p)
	}
	return nil
}
