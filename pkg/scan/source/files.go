package source

import (
	"context"
	"fmt"
	"io"
	"os"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// FileScanner analyzes one kind of file.
type FileScanner interface {
	// Name identifies the scanner in scopes ("kubernetes", "dockerfile").
	Name() string
	// Describe declares the analyzer's version, the units it reads and
	// what it needs.
	pipeline.Describer
	// Match reports whether the scanner reads the file at path.
	Match(path string) bool
	// ScanFile returns the findings of one file. An error names the file
	// and the reason; findings returned with it are kept.
	ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error)
}

// SetScanner is a FileScanner with checks over all its files of a target
// at once (a binding and its role, workloads and the policies that select
// them).
type SetScanner interface {
	FileScanner
	ScanSet(ctx context.Context, files []pipeline.Content, tenant string) ([]*vigilv1.Finding, error)
}

// StreamScanner is a FileScanner that also reads a file as a stream, in
// bounded memory; files larger than MaxFileSize are given to it that way.
type StreamScanner interface {
	FileScanner
	ScanStream(ctx context.Context, path string, r io.Reader, tenant string) ([]*vigilv1.Finding, error)
}

// MaxFileSize is the largest file a scanner reads whole into memory.
const MaxFileSize = 16 << 20

// ReadFile reads a file of at most MaxFileSize bytes; a larger one is not
// assessed as too large.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, pipeline.NotAssessed(pipeline.TooLarge, fmt.Errorf("%s: file is larger than %d bytes; skipped", path, MaxFileSize))
	}
	return data, nil
}

// ScanFile runs one file scanner over the file at path, which findings
// name as name: as a stream when the scanner reads streams, else whole. A
// scanner's panic on the file is the file's error, so it cannot end the
// scan of the others.
func ScanFile(ctx context.Context, fsc FileScanner, path, name, tenant string) (out []*vigilv1.Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, pipeline.NotAssessed(pipeline.AnalyzerFailed, fmt.Errorf("%s: %s scanner failed: %v", name, fsc.Name(), r))
		}
	}()
	if ss, ok := fsc.(StreamScanner); ok {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ss.ScanStream(ctx, name, f, tenant)
	}
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return fsc.ScanFile(ctx, name, data, tenant)
}
