package vuln

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A bundle is one zip file of OSV records, deduplicated by id, with a
// manifest saying where they came from and when: what `vigil db import`
// writes, what a server hands its agents, and what Open reads like any
// other zip of records. Layout:
//
//	MANIFEST (JSON, see Manifest; no .json suffix, so Open skips it)
//	osv/<ecosystem>/<id>.json
const manifestName = "MANIFEST"

// Manifest describes a bundle.
type Manifest struct {
	// Format is the bundle layout's version (1).
	Format int `json:"format"`
	// Created is when the bundle was made: the age of its data.
	Created time.Time `json:"created"`
	// Sources are the folders and zips read, with what each gave.
	Sources []Source `json:"sources"`
	// Records counts the records kept; Ecosystems, per ecosystem, the
	// records that affect a package of it.
	Records    int            `json:"records"`
	Ecosystems map[string]int `json:"ecosystems"`
	// Skipped lists the records that could not be read, with the reason.
	Skipped []string `json:"skipped,omitempty"`
}

// Source is one input of a bundle.
type Source struct {
	Path    string `json:"path"`
	Records int    `json:"records"`
}

// Walk calls fn with each OSV record file under path (a folder searched
// recursively for *.json and *.zip, or one zip), by name. Files that
// cannot be read are passed to bad; the walk goes on.
func Walk(path string, fn func(name string, data []byte), bad func(error)) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("vulnerability data: %w", err)
	}
	if !st.IsDir() {
		return walkZip(path, fn, bad)
	}
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			bad(err)
		case d.IsDir():
		case strings.HasSuffix(p, ".json"):
			data, err := readRecord(p, func() (io.ReadCloser, error) { return os.Open(p) })
			if err != nil {
				bad(err)
				return nil
			}
			fn(p, data)
		case strings.HasSuffix(p, ".zip"):
			if err := walkZip(p, fn, bad); err != nil {
				bad(err)
			}
		}
		return nil
	})
}

func walkZip(path string, fn func(name string, data []byte), bad func(error)) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("vulnerability data %s: %w", path, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		name := path + "!" + f.Name
		data, err := readRecord(name, f.Open)
		if err != nil {
			bad(err)
			continue
		}
		fn(name, data)
	}
	return nil
}

// readRecord reads one record file, refusing one over MaxRecordSize.
func readRecord(name string, open func() (io.ReadCloser, error)) ([]byte, error) {
	rc, err := open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxRecordSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxRecordSize {
		return nil, fmt.Errorf("%s: record larger than %d bytes", name, MaxRecordSize)
	}
	return data, nil
}

// WriteBundle reads OSV records from each source and writes them to w as
// a bundle made at now. A record whose id an earlier source gave is left
// out (list the freshest source first); withdrawn records are kept out.
// A record that does not parse is listed in the manifest, not fatal; a
// source that cannot be opened is.
func WriteBundle(w io.Writer, sources []string, now time.Time) (*Manifest, error) {
	m := &Manifest{Format: 1, Created: now.UTC(), Ecosystems: map[string]int{}}
	zw := zip.NewWriter(w)
	seen := map[string]bool{}
	var werr error
	for _, src := range sources {
		n := 0
		err := Walk(src, func(name string, data []byte) {
			e := &Entry{}
			if err := json.Unmarshal(data, e); err != nil || e.ID == "" {
				m.Skipped = append(m.Skipped, fmt.Sprintf("%s: not an OSV record", name))
				return
			}
			if e.Withdrawn != "" || seen[e.ID] {
				return
			}
			seen[e.ID] = true
			eco := "unknown"
			ecos := map[string]bool{}
			for _, a := range e.Affected {
				if a.Package.Ecosystem != "" && !ecos[a.Package.Ecosystem] {
					ecos[a.Package.Ecosystem] = true
					m.Ecosystems[a.Package.Ecosystem]++
					if eco == "unknown" {
						eco = a.Package.Ecosystem
					}
				}
			}
			f, err := zw.Create("osv/" + safeName(eco) + "/" + safeName(e.ID) + ".json")
			if err == nil {
				_, err = f.Write(data)
			}
			if err != nil && werr == nil {
				werr = err
			}
			n++
			m.Records++
		}, func(err error) { m.Skipped = append(m.Skipped, err.Error()) })
		if err != nil {
			return nil, err
		}
		m.Sources = append(m.Sources, Source{Path: src, Records: n})
	}
	if werr != nil {
		return nil, fmt.Errorf("write bundle: %w", werr)
	}
	mf, err := zw.Create(manifestName)
	if err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	if err := json.NewEncoder(mf).Encode(m); err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	return m, nil
}

// WriteBundleFile writes the bundle of sources to path, whole or not at
// all (through path.part), and refuses sources that hold no record.
func WriteBundleFile(path string, sources []string, now time.Time) (*Manifest, error) {
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	m, err := WriteBundle(f, sources, now)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if m.Records == 0 {
		return nil, fmt.Errorf("no OSV records in %v", sources)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return m, nil
}

// safeName keeps an ecosystem or id usable as one path element of a zip.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

// ErrNoManifest is returned for a zip that is not a bundle.
var ErrNoManifest = errors.New("not a vulnerability bundle (no MANIFEST)")

// ReadManifest returns the manifest of the bundle at path.
func ReadManifest(path string) (*Manifest, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != manifestName {
			continue
		}
		data, err := readRecord(path+"!"+f.Name, f.Open)
		if err != nil {
			return nil, err
		}
		m, err := parseManifest(data)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", path, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("bundle %s: %w", path, ErrNoManifest)
}

// parseManifest reads a manifest, refusing one of a format this code does
// not know or without its creation time.
func parseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Format != 1 {
		return nil, fmt.Errorf("manifest: format %d, this build reads 1", m.Format)
	}
	if m.Created.IsZero() {
		return nil, errors.New("manifest: no creation time")
	}
	return m, nil
}

// Digest is the hex SHA-256 of data: a bundle's version.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// DigestFile is Digest of a file's content, read in a stream.
func DigestFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// EcosystemNames returns the manifest's ecosystems sorted by name.
func (m *Manifest) EcosystemNames() []string {
	out := make([]string, 0, len(m.Ecosystems))
	for e := range m.Ecosystems {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}
