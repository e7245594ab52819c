package scan

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
)

// job is one file for one scanner.
type job struct {
	path string
	fs   FileScanner
}

// walked is what a walk of a tree found to scan.
type walked struct {
	jobs    []job
	layouts []string
	ignore  *ignore
}

// tree scans one file or directory tree: every file is a unit, read by
// each scanner that matches it; OCI layouts inside are scanned as images.
func (s *Scanner) tree(ctx context.Context, res *Result, target, tenant string) error {
	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	w, err := s.walk(res.Ledger, target, info.IsDir())
	if err != nil {
		return err
	}
	s.scanFiles(ctx, res, w.jobs, tenant)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.scanSets(ctx, res, w.jobs, target, tenant); err != nil {
		return err
	}
	for _, l := range w.layouts {
		if err := s.image(ctx, res, filepath.ToSlash(l), tenant); err != nil {
			if ctx.Err() != nil {
				return err
			}
			res.Ledger.NotAssessed(s.images.Name(), pipeline.Image, filepath.ToSlash(l), pipeline.Classify(err), err.Error())
		}
	}
	res.exempt = func(f *vigilv1.Finding) bool { return w.ignore.fingerprints[f.Fingerprint] }
	return nil
}

// walk lists the files of a tree that some scanner reads. A folder that
// cannot be entered is a unit not assessed.
func (s *Scanner) walk(ledger *pipeline.Ledger, target string, dir bool) (*walked, error) {
	w := &walked{ignore: &ignore{}}
	add := func(p string) {
		for _, f := range s.files {
			if f.Match(p) {
				w.jobs = append(w.jobs, job{p, f})
			}
		}
	}
	if !dir {
		add(target)
		return w, nil
	}
	ig, err := loadIgnore(target)
	if err != nil {
		ledger.Record("walk", pipeline.File, filepath.ToSlash(filepath.Join(target, IgnoreFile)), pipeline.AsNotice(err))
	}
	w.ignore = ig
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == target {
				return err // the target itself cannot be read
			}
			ledger.Record("walk", pipeline.File, filepath.ToSlash(p), err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if rel, _ := filepath.Rel(target, p); p != target && ig.skips(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != target && skipDirs[d.Name()] {
				return fs.SkipDir
			}
			if image.IsLayout(p) {
				w.layouts = append(w.layouts, p)
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			add(p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", target, err)
	}
	return w, nil
}

// scanFiles runs the per-file jobs on every core, each file's memory
// reserved from the budget first.
func (s *Scanner) scanFiles(ctx context.Context, res *Result, jobs []job, tenant string) {
	type out struct {
		findings []*vigilv1.Finding
		took     time.Duration
	}
	results := make([]out, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				release, err := s.budget.reserve(ctx, fileCost(j.fs, s.sizeOf(j.path)))
				if err != nil {
					continue // the context ended; the caller reports it
				}
				began := time.Now()
				fs, err := scanFile(ctx, j.fs, j.path, tenant)
				release()
				results[i] = out{findings: fs, took: time.Since(began)}
				res.Ledger.Record(j.fs.Name(), pipeline.File, filepath.ToSlash(j.path), err)
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	for i, r := range results {
		name := jobs[i].fs.Name()
		res.Durations[name] += r.took
		res.Findings[name] = append(res.Findings[name], r.findings...)
	}
}

// sizeOf is a file's size when a budget needs it, else 0: without a
// budget no file is stat'ed twice.
func (s *Scanner) sizeOf(path string) int64 {
	if s.budget == nil {
		return 0
	}
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}

// scanSets runs the checks of each set scanner over all its files at
// once. Files are read again, one at a time, as the set scanner asks.
func (s *Scanner) scanSets(ctx context.Context, res *Result, jobs []job, target, tenant string) error {
	for _, fsc := range s.files {
		ss, ok := fsc.(SetScanner)
		if !ok {
			continue
		}
		var total int64
		var files []pipeline.Content
		for _, j := range jobs {
			if j.fs != fsc {
				continue
			}
			total += s.sizeOf(j.path)
			path := j.path
			files = append(files, pipeline.Content{Path: filepath.ToSlash(path), Read: func() ([]byte, error) { return readFile(path) }})
		}
		if len(files) == 0 {
			continue
		}
		release, err := s.budget.reserve(ctx, setCost(fsc.Name(), total))
		if err != nil {
			return err
		}
		began := time.Now()
		fs, err := ss.ScanSet(ctx, files, tenant)
		res.Durations[fsc.Name()] += time.Since(began)
		release()
		res.Ledger.RecordSet(fsc.Name(), pipeline.File, filepath.ToSlash(target), err)
		res.Findings[fsc.Name()] = append(res.Findings[fsc.Name()], fs...)
	}
	return nil
}
