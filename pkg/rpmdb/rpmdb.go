// Package rpmdb reads the database of installed packages that rpm keeps on
// RPM-based systems, in each of its storage formats: SQLite (rpmdb.sqlite:
// RHEL, Alma and Rocky 9 and later, Fedora 33 and later, Amazon Linux 2023),
// Berkeley DB hash (Packages: RHEL and CentOS 7 and 8, Amazon Linux 2) and
// NDB (Packages.db: SUSE). Each format stores one header blob per package;
// ParseHeader reads the fields a vulnerability match needs from it.
package rpmdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
)

// Format is a storage format of the rpm database.
type Format int

// The formats, by the file that holds the package headers.
const (
	SQLite   Format = iota + 1 // rpmdb.sqlite
	Berkeley                   // Packages
	NDB                        // Packages.db
)

func (f Format) String() string {
	switch f {
	case SQLite:
		return "sqlite"
	case Berkeley:
		return "berkeley db"
	case NDB:
		return "ndb"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Dirs are the folders rpm keeps its database in, relative to the root:
// the historical one and the one of newer distributions (Fedora 36 and
// later, RHEL 10), which link the first to it.
var Dirs = []string{"var/lib/rpm/", "usr/lib/sysimage/rpm/"}

// FormatOf returns the format of the database file at p (slash-separated,
// relative to the root); ok is false when p is not one.
func FormatOf(p string) (f Format, ok bool) {
	dir, base := path.Split(p)
	known := false
	for _, d := range Dirs {
		known = known || dir == d
	}
	if !known {
		return 0, false
	}
	switch base {
	case "rpmdb.sqlite":
		return SQLite, true
	case "Packages":
		return Berkeley, true
	case "Packages.db":
		return NDB, true
	}
	return 0, false
}

// Package is one installed package, as its header records it.
type Package struct {
	Name    string
	Version string
	Release string
	// Epoch is 0 when the package has none, which rpm orders the same.
	Epoch    int
	HasEpoch bool
	Arch     string
	// SourceRPM is the file name of the source package it was built from
	// ("openssl-3.0.7-24.el9.src.rpm").
	SourceRPM string
	Vendor    string
	// Modularity is the module stream label of a package built in one
	// ("nodejs:20:9040020240807145403:rhel9").
	Modularity string
}

// EVR is the package's version as rpm compares it: "[epoch:]version-release".
func (p Package) EVR() string {
	v := p.Version + "-" + p.Release
	if p.HasEpoch {
		v = strconv.Itoa(p.Epoch) + ":" + v
	}
	return v
}

// SourceName is the name of the source package, read from SourceRPM
// ("name-version-release.src.rpm"); the package's own name when the header
// names none.
func (p Package) SourceName() string {
	s := p.SourceRPM
	for _, suf := range []string{".src.rpm", ".nosrc.rpm"} {
		s = strings.TrimSuffix(s, suf)
	}
	for range 2 {
		i := strings.LastIndexByte(s, '-')
		if i <= 0 {
			return p.Name
		}
		s = s[:i]
	}
	return s
}

// MaxFileBytes bounds a database file read by Open.
const MaxFileBytes = 1 << 30

// Open reads the packages of the database file at name, in format f.
// Headers that do not parse are returned as errors beside the packages
// that do; an error that stops the whole file is returned alone.
func Open(ctx context.Context, name string, f Format) ([]Package, error) {
	file, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, over the %d byte limit", name, st.Size(), MaxFileBytes)
	}
	var blobs [][]byte
	switch f {
	case SQLite:
		blobs, err = readSQLite(ctx, name)
	case Berkeley:
		blobs, err = readBerkeley(ctx, file, st.Size())
	case NDB:
		blobs, err = readNDB(ctx, file, st.Size())
	default:
		return nil, fmt.Errorf("%s: unknown rpm database format %d", name, f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, f, err)
	}
	pkgs, err := parseAll(blobs)
	if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return pkgs, err
}

// parseAll parses header blobs, skipping the public keys rpm stores as
// pseudo-packages.
func parseAll(blobs [][]byte) ([]Package, error) {
	out := make([]Package, 0, len(blobs))
	var errs []error
	for i, b := range blobs {
		p, err := ParseHeader(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("package header %d: %w", i+1, err))
			continue
		}
		if p.Name == "gpg-pubkey" {
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}
