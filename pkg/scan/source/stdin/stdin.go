// Package stdin is the source of manifests piped on standard input ("-"),
// from helm template or kustomize build: one stream read as one file.
package stdin

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// Target is the target name that reads standard input.
const Target = "-"

// Source reads manifests from In (os.Stdin when nil) and gives them to
// every file scanner that reads YAML.
type Source struct {
	Files []source.FileScanner
	In    io.Reader
}

// Name is "stdin".
func (Source) Name() string { return "stdin" }

// Match reports whether target is "-".
func (Source) Match(target string) bool { return target == Target }

// Normalize returns the target as given.
func (Source) Normalize(target string) string { return target }

// Scan reads the stream once and scans it as the file "-".
func (s Source) Scan(ctx context.Context, res *source.Result, _, tenant string) error {
	r := s.In
	if r == nil {
		r = os.Stdin
	}
	data, err := io.ReadAll(io.LimitReader(r, source.MaxFileSize+1))
	if err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	for _, fsc := range s.Files {
		if !fsc.Match("stdin.yaml") {
			continue
		}
		if len(data) > source.MaxFileSize {
			res.Ledger.NotAssessed(fsc.Name(), pipeline.File, Target, pipeline.TooLarge, fmt.Sprintf("stdin: more than %d bytes", source.MaxFileSize))
			continue
		}
		fs, err := fsc.ScanFile(ctx, Target, data, tenant)
		res.Ledger.Record(fsc.Name(), pipeline.File, Target, err)
		if ss, ok := fsc.(source.SetScanner); ok {
			set, err := ss.ScanSet(ctx, []pipeline.Content{{Path: Target, Data: data}}, tenant)
			res.Ledger.RecordSet(fsc.Name(), pipeline.File, Target, err)
			fs = append(fs, set...)
		}
		res.Findings[fsc.Name()] = fs
	}
	return nil
}
