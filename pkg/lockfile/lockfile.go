// Package lockfile reads the packages that dependency files pin: go.mod and
// go.sum, npm, pnpm, yarn and bun lockfiles, Python requirements, Pipfile,
// poetry and uv locks, Gemfile.lock, Gradle lockfiles, Maven POMs, NuGet,
// Conan and Cargo locks. The dependency scanner matches them against
// vulnerability data; the image scanner reads them inside images.
package lockfile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// parsers maps a dependency file's name to its parser.
var parsers = map[string]func(path string, data []byte) ([]Package, error){
	"go.mod":             ParseGoMod,
	"package-lock.json":  func(_ string, data []byte) ([]Package, error) { return ParsePackageLock(data) },
	"pnpm-lock.yaml":     func(_ string, data []byte) ([]Package, error) { return ParsePnpmLock(data) },
	"composer.lock":      func(_ string, data []byte) ([]Package, error) { return ParseComposerLock(data) },
	"Cargo.lock":         func(_ string, data []byte) ([]Package, error) { return ParseCargoLock(data) },
	"yarn.lock":          func(_ string, data []byte) ([]Package, error) { return ParseYarnLock(data) },
	"requirements.txt":   func(_ string, data []byte) ([]Package, error) { return ParseRequirements(data) },
	"Pipfile.lock":       func(_ string, data []byte) ([]Package, error) { return ParsePipfileLock(data) },
	"poetry.lock":        func(_ string, data []byte) ([]Package, error) { return ParsePythonTOMLLock(data) },
	"uv.lock":            func(_ string, data []byte) ([]Package, error) { return ParsePythonTOMLLock(data) },
	"Gemfile.lock":       func(_ string, data []byte) ([]Package, error) { return ParseGemfileLock(data) },
	"gradle.lockfile":    func(_ string, data []byte) ([]Package, error) { return ParseGradleLockfile(data) },
	"pom.xml":            func(_ string, data []byte) ([]Package, error) { return ParsePomXML(data) },
	"packages.lock.json": func(_ string, data []byte) ([]Package, error) { return ParseNuGetLock(data) },
	"bun.lock":           func(_ string, data []byte) ([]Package, error) { return ParseBunLock(data) },
	"conan.lock":         func(_ string, data []byte) ([]Package, error) { return ParseConanLock(data) },
}

// ParserFor picks the parser of a dependency file by its base name;
// requirements files may carry a suffix (requirements-dev.txt).
func ParserFor(base string) (func(path string, data []byte) ([]Package, error), bool) {
	if p, ok := parsers[base]; ok {
		return p, true
	}
	if strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt") {
		return parsers["requirements.txt"], true
	}
	return nil, false
}

// ParseFile parses a dependency file chosen by its base name; ok is false
// when the name is not a dependency file this package reads.
func ParseFile(path string, data []byte) (pkgs []Package, ok bool, err error) {
	parse, ok := ParserFor(filepath.Base(path))
	if !ok {
		return nil, false, nil
	}
	pkgs, err = parse(path, data)
	return pkgs, true, err
}

// Package is one dependency pinned by a file.
type Package struct {
	Ecosystem string
	Name      string
	Version   string
	Direct    bool
	// DirectKnown is false where the format does not say (lockfile v1).
	DirectKnown bool
	Line        int
}

// ParseGoMod returns the modules a go.mod requires, with replacements by
// module version applied (local directory replacements are not packages).
func ParseGoMod(path string, data []byte) ([]Package, error) {
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, err
	}
	replaced := map[string]modfile.Replace{}
	for _, r := range f.Replace {
		replaced[r.Old.Path+"@"+r.Old.Version] = *r
		if r.Old.Version == "" {
			replaced[r.Old.Path] = *r
		}
	}
	var out []Package
	for _, r := range f.Require {
		name, version := r.Mod.Path, r.Mod.Version
		rep, ok := replaced[name+"@"+version]
		if !ok {
			rep, ok = replaced[name]
		}
		if ok {
			if rep.New.Version == "" {
				continue // replaced by a local directory
			}
			name, version = rep.New.Path, rep.New.Version
		}
		line := 0
		if r.Syntax != nil {
			line = r.Syntax.Start.Line
		}
		out = append(out, Package{Ecosystem: "Go", Name: name, Version: version, Direct: !r.Indirect, DirectKnown: true, Line: line})
	}
	// Before Go 1.17 a go.mod lists only direct requirements; the modules
	// the build also downloads are those go.sum has content hashes for.
	if f.Go != nil && semver.Compare("v"+f.Go.Version, "v1.17") < 0 {
		if sum, err := os.ReadFile(filepath.Join(filepath.Dir(path), "go.sum")); err == nil {
			out = append(out, goSumModules(sum, out)...)
		}
	}
	return out, nil
}

// goSumModules returns the highest version of each module go.sum holds
// content (not only go.mod) hashes for, leaving out those in have.
func goSumModules(sum []byte, have []Package) []Package {
	listed := map[string]bool{}
	for _, p := range have {
		listed[p.Name] = true
	}
	best := map[string]string{}
	for _, line := range strings.Split(string(sum), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || strings.HasSuffix(f[1], "/go.mod") || listed[f[0]] {
			continue
		}
		if v := best[f[0]]; v == "" || semver.Compare(f[1], v) > 0 {
			best[f[0]] = f[1]
		}
	}
	var out []Package
	for name, v := range best {
		out = append(out, Package{Ecosystem: "Go", Name: name, Version: v, DirectKnown: true})
	}
	sortPackages(out)
	return out
}

// ParsePackageLock returns the packages of an npm package-lock.json,
// lockfile versions 1 to 3. Direct dependencies are those the root package
// declares.
func ParsePackageLock(data []byte) ([]Package, error) {
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Version         string            `json:"version"`
			Link            bool              `json:"link"`
			Dependencies    map[string]string `json:"dependencies"`
			DevDependencies map[string]string `json:"devDependencies"`
		} `json:"packages"`
		Dependencies map[string]lockV1Dep `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, err
	}
	var out []Package
	if len(lock.Packages) > 0 {
		root := lock.Packages[""]
		for path, p := range lock.Packages {
			if path == "" || p.Link || p.Version == "" {
				continue
			}
			i := strings.LastIndex(path, "node_modules/")
			if i < 0 {
				continue // a workspace folder, not an installed package
			}
			name := path[i+len("node_modules/"):]
			topLevel := i == 0
			_, dep := root.Dependencies[name]
			_, dev := root.DevDependencies[name]
			out = append(out, Package{Ecosystem: "npm", Name: name, Version: p.Version, Direct: topLevel && (dep || dev), DirectKnown: true,
				Line: lineOf(data, `"`+path+`"`)})
		}
	} else {
		var walk func(deps map[string]lockV1Dep)
		walk = func(deps map[string]lockV1Dep) {
			for name, d := range deps {
				if d.Version != "" && !strings.HasPrefix(d.Version, "file:") {
					// Version 1 hoists transitive packages to the top level
					// too, so it cannot tell direct ones apart.
					out = append(out, Package{Ecosystem: "npm", Name: name, Version: d.Version, Line: lineOf(data, `"`+name+`": {`)})
				}
				walk(d.Dependencies)
			}
		}
		walk(lock.Dependencies)
	}
	sortPackages(out)
	return out, nil
}

func sortPackages(out []Package) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
}

type lockV1Dep struct {
	Version      string               `json:"version"`
	Dependencies map[string]lockV1Dep `json:"dependencies"`
}

// lineOf is the 1-based line of the first occurrence of s, 0 when absent.
func lineOf(data []byte, s string) int {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// Names are the file names that have a parser, sorted; requirements files
// also match with a suffix (requirements-dev.txt).
func Names() []string {
	out := make([]string, 0, len(parsers))
	for n := range parsers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
