package code

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/secret"
)

// HardcodedSecret is the check of the secret scanner.
const HardcodedSecret = "VGL-CODE-010"

// Secrets finds credentials in any text file.
type Secrets struct {
	Scanner *secret.Scanner
	Check   *checks.Check
}

// NewSecrets returns a secret scanner whose hashes are keyed with key.
func NewSecrets(cat *checks.Catalog, key []byte) *Secrets {
	c, _ := cat.Get(HardcodedSecret)
	return &Secrets{Scanner: secret.New(key), Check: c}
}

// Name is the scanner name used in scopes.
func (s *Secrets) Name() string { return "secrets" }

// Describe declares the analyzer: version 1 is its first declared version.
func (s *Secrets) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: s.Name(), Version: 1, Reads: []string{pipeline.File, pipeline.Repository}}
}

// binaryExts are never text; their content is not searched.
var binaryExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".ico": true, ".bmp": true,
	".webp": true, ".svgz": true, ".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true, ".zip": true,
	".gz": true, ".tgz": true, ".bz2": true, ".xz": true, ".zst": true, ".7z": true, ".rar": true, ".tar": true, ".jar": true,
	".war": true, ".class": true, ".so": true, ".dylib": true, ".dll": true, ".exe": true, ".o": true, ".a": true, ".pyc": true,
	".pdf": true, ".mp3": true, ".mp4": true, ".mov": true, ".avi": true, ".wasm": true, ".db": true, ".sqlite": true,
	".bin": true, ".dat": true, ".p12": true, ".pfx": true, ".jks": true, ".keystore": true}

// lockfileNames hold checksums and URLs, never credentials.
var lockfileNames = map[string]bool{"go.sum": true, "package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true,
	"Cargo.lock": true, "composer.lock": true, "Gemfile.lock": true, "poetry.lock": true, "Pipfile.lock": true}

// vendoredDirs hold third-party code copied in by a package manager; its
// credentials are test fixtures of other projects.
var vendoredDirs = []string{"vendor", "node_modules", "bower_components", "site-packages", "dist-packages", ".venv"}

// Match selects files that may hold text, outside vendored folders.
// Binary content is recognised later, by a NUL byte in its first 8 KiB.
func (s *Secrets) Match(path string) bool {
	base := filepath.Base(path)
	if lockfileNames[base] || strings.HasSuffix(base, ".min.js") || strings.HasSuffix(base, ".map") {
		return false
	}
	for _, part := range strings.Split(filepath.ToSlash(filepath.Dir(path)), "/") {
		if slices.Contains(vendoredDirs, part) {
			return false
		}
	}
	return !binaryExts[strings.ToLower(filepath.Ext(path))]
}

// ScanFile reports each credential of one file held in memory.
func (s *Secrets) ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	return s.ScanStream(ctx, path, bytes.NewReader(data), tenant)
}

// ScanStream reports each credential of a file read from r a window at a
// time, so files of any size are searched in bounded memory. Binary content
// (a NUL byte early on) is skipped.
func (s *Secrets) ScanStream(ctx context.Context, path string, r io.Reader, tenant string) ([]*vigilv1.Finding, error) {
	if s.Check == nil {
		return nil, nil
	}
	var out []*vigilv1.Finding
	nth := map[string]int{}
	err := s.Scanner.ScanReader(path, ctxReader{ctx, r}, func(m secret.Match) {
		// Each place a secret appears is a finding; the occurrence number
		// keeps the identities apart without tying them to line numbers.
		key := m.Rule.ID + "/" + m.Hash
		nth[key]++
		out = append(out, s.fileFinding(ctx, path, tenant, m, nth[key]))
	})
	return out, err
}

// ctxReader stops a long read when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// fileFinding builds the finding of the nth occurrence of a secret in a
// file: the rule and place, a redacted line and the keyed hash, never the
// credential.
func (s *Secrets) fileFinding(ctx context.Context, path, tenant string, m secret.Match, nth int) *vigilv1.Finding {
	return s.finding(ctx, fmt.Sprintf("%s on line %d (rule %s)", m.Rule.Title, m.Line, m.Rule.ID), m, nth, finding.Site{
		Scanner:  s.Name(),
		Resource: &vigilv1.Resource{Tenant: tenant, Provider: "filesystem", Kind: "File", Name: path, Uri: path},
		Location: &vigilv1.Location{Path: path},
		Path:     path,
	})
}

// finding builds the finding of a match at a site whose resource and
// path are set; the lines, the redacted snippet and the key come from the
// match. Each place a secret appears is a finding: the occurrence number
// (nth, from 1) keeps their identities apart without tying them to lines.
// The credential joins the scan's secrets, so its every other occurrence
// is masked too.
func (s *Secrets) finding(ctx context.Context, message string, m secret.Match, nth int, at finding.Site) *vigilv1.Finding {
	at.Location.StartLine, at.Location.EndLine, at.Location.Snippet = int32(m.Line), int32(max(m.EndLine, m.Line)), m.Redacted
	at.Key = m.Rule.ID + "/" + m.Hash
	if nth > 1 {
		at.Key += fmt.Sprintf("#%d", nth)
	}
	f := s.Check.NewFinding(message, at)
	f.SecretHash = m.Hash
	pipeline.NoteSecretOf(ctx, f, m.Value, m.Rule.ID)
	return f
}
