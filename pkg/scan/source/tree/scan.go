package tree

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// scanFiles runs the per-file jobs on every core, each file's memory
// reserved from the budget first.
func (s Source) scanFiles(ctx context.Context, res *source.Result, jobs []job, tenant string) {
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
				release, err := s.Budget.Reserve(ctx, source.FileCost(j.fs, s.sizeOf(j.path)))
				if err != nil {
					continue // the context ended; the caller reports it
				}
				began := time.Now()
				fs, err := source.ScanFile(ctx, j.fs, j.path, j.name, tenant)
				release()
				results[i] = out{findings: fs, took: time.Since(began)}
				res.Ledger.Record(j.fs.Name(), pipeline.File, j.name, err)
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
func (s Source) sizeOf(path string) int64 {
	if s.Budget == nil {
		return 0
	}
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}

// scanSets runs the checks of each set scanner over all its files at
// once. Files are read again, one at a time, as the set scanner asks.
func (s Source) scanSets(ctx context.Context, res *source.Result, jobs []job, target, tenant string) error {
	for _, fsc := range s.Files {
		ss, ok := fsc.(source.SetScanner)
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
			c := pipeline.Content{Path: j.name, Read: func() ([]byte, error) { return source.ReadFile(path) }}
			if local := filepath.ToSlash(path); local != j.name {
				c.Local = path
			}
			files = append(files, c)
		}
		if len(files) == 0 {
			continue
		}
		release, err := s.Budget.Reserve(ctx, source.SetCost(fsc.Name(), total))
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
