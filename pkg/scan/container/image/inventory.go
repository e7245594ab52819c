package image

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/vigilsec/vigil/pkg/lockfile"
	"github.com/vigilsec/vigil/pkg/sbom"
)

// The inventory types are the neutral bill-of-materials types, so that
// reports read them without importing the scanner.
type (
	Package   = sbom.Package
	OS        = sbom.OS
	Inventory = sbom.Inventory
)

// Files the inventory reads, by path.
const (
	dpkgStatus    = "var/lib/dpkg/status"
	dpkgStatusDir = "var/lib/dpkg/status.d/"
	apkInstalled  = "lib/apk/db/installed"
)

// inventoryFile reports whether the inventory reads a file's content.
func inventoryFile(p string) bool {
	switch p {
	case dpkgStatus, apkInstalled, "etc/os-release", "usr/lib/os-release":
		return true
	}
	if strings.HasPrefix(p, dpkgStatusDir) && !strings.HasSuffix(p, ".md5sums") {
		return true
	}
	_, ok, _ := lockfile.ParseFile(path.Base(p), nil)
	return ok
}

// parseOSRelease reads the KEY=value lines of os-release.
func parseOSRelease(data []byte) OS {
	var o OS
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			o.ID = strings.ToLower(v)
		case "VERSION_ID":
			o.VersionID = v
		case "VERSION":
			o.Version = v
		case "PRETTY_NAME":
			o.Name = v
		}
	}
	return o
}

// parseDpkgStatus returns the installed packages of a dpkg status file
// (paragraphs of "Field: value" lines; continuation lines start with a
// space).
func parseDpkgStatus(file string, data []byte) ([]Package, error) {
	var out []Package
	cur := map[string]string{}
	flush := func() {
		defer func() { cur = map[string]string{} }()
		name, version := cur["Package"], cur["Version"]
		if name == "" || version == "" {
			return
		}
		if st := cur["Status"]; st != "" && !strings.HasSuffix(st, " installed") {
			return // removed, config files only, half-installed
		}
		p := Package{Name: name, Version: version, Type: "deb", Path: file, Arch: cur["Architecture"], Source: name}
		if src := cur["Source"]; src != "" {
			// "Source: openssl (3.0.11-1~deb12u2)": a binary package
			// built from a source of another version.
			s, rest, _ := strings.Cut(src, " ")
			p.Source = s
			if v := strings.Trim(strings.TrimSpace(rest), "()"); v != "" {
				p.SourceVersion = v
			}
		}
		out = append(out, p)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	key := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
			key = ""
		case line[0] == ' ' || line[0] == '\t':
			if key == "" {
				return out, fmt.Errorf("%s: continuation line before any field", file)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return out, fmt.Errorf("%s: line %q is not a field", file, truncate(line))
			}
			key = k
			cur[k] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", file, err)
	}
	flush()
	return out, nil
}

// parseApkInstalled returns the packages of apk's installed database
// ("P:name", "V:version", "o:origin" lines, a blank line between packages).
func parseApkInstalled(file string, data []byte) ([]Package, error) {
	var out []Package
	var cur Package
	flush := func() {
		if cur.Name != "" && cur.Version != "" {
			if cur.Source == "" {
				cur.Source = cur.Name
			}
			cur.Type, cur.Path = "apk", file
			out = append(out, cur)
		}
		cur = Package{}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			return out, fmt.Errorf("%s: line %q is not a field", file, truncate(line))
		}
		v := line[2:]
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'o':
			cur.Source = v
		case 'A':
			cur.Arch = v
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", file, err)
	}
	flush()
	return out, nil
}

// goBinary returns the modules a Go binary was built from, the standard
// library as "stdlib" included; ok is false when data is not a Go binary.
func goBinary(file string, data []byte) ([]Package, bool) {
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		return nil, false
	}
	var out []Package
	if v := strings.TrimPrefix(bi.GoVersion, "go"); v != "" {
		// Experiments and toolchain suffixes ("1.22.1 X:nocoverageredesign").
		v, _, _ = strings.Cut(v, " ")
		out = append(out, Package{Ecosystem: "Go", Name: "stdlib", Version: "v" + v, Type: "golang", Path: file})
	}
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		if m.Version == "" || m.Version == "(devel)" {
			continue
		}
		out = append(out, Package{Ecosystem: "Go", Name: m.Path, Version: m.Version, Type: "golang", Path: file})
	}
	return out, true
}

// purlTypes maps OSV ecosystems of lockfiles to package URL types.
var purlTypes = map[string]string{"npm": "npm", "Go": "golang", "crates.io": "cargo", "Packagist": "composer"}

// lockfilePackages returns the packages of a dependency file inside the image.
func lockfilePackages(file string, data []byte) ([]Package, error) {
	pkgs, _, err := lockfile.ParseFile(path.Base(file), data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := make([]Package, 0, len(pkgs))
	for _, p := range pkgs {
		out = append(out, Package{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version, Type: purlTypes[p.Ecosystem], Path: file})
	}
	return out, nil
}

// finish sets the distribution's ecosystem on its packages and sorts them.
func finish(inv *Inventory) {
	eco := inv.OS.Ecosystem()
	for i := range inv.Packages {
		p := &inv.Packages[i]
		if p.OSPackage() {
			p.Ecosystem = eco
		}
	}
	sort.SliceStable(inv.Packages, func(i, j int) bool {
		a, b := inv.Packages[i], inv.Packages[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Path < b.Path
	})
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
