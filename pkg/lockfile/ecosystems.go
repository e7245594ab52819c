package lockfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	"sigs.k8s.io/yaml"
)

// ParseYarnLock returns the packages of a yarn.lock: the classic v1 format
// ("name@range:" headers with an indented version) and the YAML of yarn 2
// and later (keys "name@npm:range", a __metadata entry).
func ParseYarnLock(data []byte) ([]Package, error) {
	if bytes.Contains(data, []byte("__metadata:")) {
		var lock map[string]any
		if err := yaml.Unmarshal(data, &lock); err != nil {
			return nil, err
		}
		var out []Package
		for key, v := range lock {
			entry, ok := v.(map[string]any)
			if key == "__metadata" || !ok {
				continue
			}
			version, _ := entry["version"].(string)
			first, _, _ := strings.Cut(key, ",")
			name := yarnName(strings.TrimSpace(first))
			if strings.Contains(first, "@workspace:") || strings.Contains(first, "@link:") || strings.Contains(first, "@portal:") || version == "" {
				continue
			}
			out = append(out, Package{Ecosystem: "npm", Name: name, Version: version, Line: lineOf(data, first)})
		}
		sortPackages(out)
		return out, nil
	}
	var out []Package
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	name, headerLine := "", 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line[0] != ' ' && strings.HasSuffix(line, ":"):
			first, _, _ := strings.Cut(strings.TrimSuffix(line, ":"), ",")
			name, headerLine = yarnName(strings.Trim(strings.TrimSpace(first), `"`)), n
		case name != "" && strings.HasPrefix(line, "  version "):
			v := strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "  version ")), `"`)
			out = append(out, Package{Ecosystem: "npm", Name: name, Version: v, Line: headerLine})
			name = ""
		}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	if len(out) == 0 && len(bytes.TrimSpace(data)) > 0 && !bytes.Contains(data, []byte("yarn lockfile")) {
		return nil, fmt.Errorf("no package entries; not a yarn lockfile")
	}
	sortPackages(out)
	return out, nil
}

// yarnName cuts the range from "name@range" ("@scope/name@npm:^1").
func yarnName(spec string) string {
	if i := strings.LastIndex(spec, "@"); i > 0 {
		return spec[:i]
	}
	return spec
}

// requirementLine is "name[extras]==version" with optional markers.
var requirementLine = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9.!+_-]+)`)

// ParseRequirements returns the pinned packages (==, ===) of a pip
// requirements file; unpinned lines, options and includes are skipped.
func ParseRequirements(data []byte) ([]Package, error) {
	var out []Package
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-") {
			continue
		}
		if m := requirementLine.FindStringSubmatch(line); m != nil {
			out = append(out, Package{Ecosystem: "PyPI", Name: m[1], Version: m[2], Line: n})
		}
	}
	return out, sc.Err()
}

// ParsePipfileLock returns the packages of a Pipfile.lock (default and
// develop sections).
func ParsePipfileLock(data []byte) ([]Package, error) {
	var lock map[string]json.RawMessage
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, err
	}
	if _, ok := lock["_meta"]; !ok {
		return nil, fmt.Errorf("no _meta section; not a Pipfile.lock")
	}
	var out []Package
	for _, section := range []string{"default", "develop"} {
		var pkgs map[string]struct {
			Version string `json:"version"`
		}
		if raw, ok := lock[section]; ok {
			if err := json.Unmarshal(raw, &pkgs); err != nil {
				return nil, fmt.Errorf("%s: %w", section, err)
			}
		}
		for name, p := range pkgs {
			v := strings.TrimPrefix(strings.TrimPrefix(p.Version, "==="), "==")
			if v == "" || v == p.Version && strings.ContainsAny(v, "<>~*") {
				continue
			}
			out = append(out, Package{Ecosystem: "PyPI", Name: name, Version: v, Line: lineOf(data, `"`+name+`": {`)})
		}
	}
	sortPackages(out)
	return out, nil
}

// ParsePythonTOMLLock returns the packages of a poetry.lock or uv.lock
// ([[package]] tables with name and version); the project itself (an
// editable or virtual source in uv.lock) is left out.
func ParsePythonTOMLLock(data []byte) ([]Package, error) {
	var lock struct {
		Package []struct {
			Name    string         `toml:"name"`
			Version string         `toml:"version"`
			Source  map[string]any `toml:"source"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(data), &lock); err != nil {
		return nil, err
	}
	var out []Package
	for _, p := range lock.Package {
		if p.Name == "" || p.Version == "" || p.Source["editable"] != nil || p.Source["virtual"] != nil {
			continue
		}
		out = append(out, Package{Ecosystem: "PyPI", Name: p.Name, Version: p.Version, Line: lineOf(data, `name = "`+p.Name+`"`)})
	}
	sortPackages(out)
	return out, nil
}

// gemSpec is a "    name (version)" line of a Gemfile.lock's specs.
var gemSpec = regexp.MustCompile(`^ {4}([A-Za-z0-9._-]+) \(([^)]+)\)$`)

// ParseGemfileLock returns the gems of a Gemfile.lock's GEM specs; the
// DEPENDENCIES section marks the direct ones.
func ParseGemfileLock(data []byte) ([]Package, error) {
	var out []Package
	direct := map[string]bool{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line != "" && line[0] != ' ' {
			section = strings.TrimSpace(line)
			continue
		}
		switch section {
		case "GEM", "GIT", "PATH":
			if m := gemSpec.FindStringSubmatch(line); m != nil {
				v, _, _ := strings.Cut(m[2], "-") // platform suffix: 1.13.10-x86_64-linux
				out = append(out, Package{Ecosystem: "RubyGems", Name: m[1], Version: v, Line: n})
			}
		case "DEPENDENCIES":
			name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			direct[strings.TrimSuffix(name, "!")] = true
		}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	for i := range out {
		out[i].Direct, out[i].DirectKnown = direct[out[i].Name], len(direct) > 0
	}
	return out, nil
}

// ParseGradleLockfile returns the modules of a gradle.lockfile
// ("group:artifact:version=configurations").
func ParseGradleLockfile(data []byte) ([]Package, error) {
	var out []Package
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "empty=") {
			continue
		}
		coord, _, _ := strings.Cut(line, "=")
		parts := strings.Split(coord, ":")
		if len(parts) != 3 {
			return out, fmt.Errorf("line %d: %q is not group:artifact:version", n, coord)
		}
		out = append(out, Package{Ecosystem: "Maven", Name: parts[0] + ":" + parts[1], Version: parts[2], Line: n})
	}
	return out, sc.Err()
}

type pomDependency struct {
	GroupID    string `xml:"groupId"`
	ArtifactID string `xml:"artifactId"`
	Version    string `xml:"version"`
	Scope      string `xml:"scope"`
}

type pomProject struct {
	GroupID string `xml:"groupId"`
	Version string `xml:"version"`
	Parent  struct {
		GroupID string `xml:"groupId"`
		Version string `xml:"version"`
	} `xml:"parent"`
	Properties struct {
		Entries []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"properties"`
	Dependencies         []pomDependency `xml:"dependencies>dependency"`
	DependencyManagement []pomDependency `xml:"dependencyManagement>dependencies>dependency"`
}

var pomProperty = regexp.MustCompile(`\$\{([^}]+)\}`)

// ParsePomXML returns the dependencies a pom.xml declares with a version
// (its own or from dependencyManagement), properties substituted.
// Inherited and imported versions from other poms are not resolved.
func ParsePomXML(data []byte) ([]Package, error) {
	var p pomProject
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	props := map[string]string{"project.version": p.Version, "project.groupId": p.GroupID,
		"project.parent.version": p.Parent.Version, "project.parent.groupId": p.Parent.GroupID}
	if props["project.version"] == "" {
		props["project.version"] = p.Parent.Version
	}
	if props["project.groupId"] == "" {
		props["project.groupId"] = p.Parent.GroupID
	}
	for _, e := range p.Properties.Entries {
		props[e.XMLName.Local] = strings.TrimSpace(e.Value)
	}
	subst := func(s string) string {
		for i := 0; i < 5 && strings.Contains(s, "${"); i++ {
			s = pomProperty.ReplaceAllStringFunc(s, func(m string) string {
				if v, ok := props[m[2:len(m)-1]]; ok {
					return v
				}
				return m
			})
		}
		return strings.TrimSpace(s)
	}
	managed := map[string]string{}
	for _, d := range p.DependencyManagement {
		managed[subst(d.GroupID)+":"+subst(d.ArtifactID)] = subst(d.Version)
	}
	var out []Package
	seen := map[string]bool{}
	for _, list := range [][]pomDependency{p.Dependencies, p.DependencyManagement} {
		for _, d := range list {
			name := subst(d.GroupID) + ":" + subst(d.ArtifactID)
			v := subst(d.Version)
			if v == "" {
				v = managed[name]
			}
			if v == "" || strings.Contains(v, "${") || strings.ContainsAny(v, "[](),") || seen[name+"@"+v] {
				continue // unresolved, or a version range
			}
			seen[name+"@"+v] = true
			out = append(out, Package{Ecosystem: "Maven", Name: name, Version: v, Direct: true, DirectKnown: true,
				Line: lineOf(data, "<artifactId>"+d.ArtifactID+"</artifactId>")})
		}
	}
	return out, nil
}

// ParseNuGetLock returns the packages of a packages.lock.json.
func ParseNuGetLock(data []byte) ([]Package, error) {
	var lock struct {
		Dependencies map[string]map[string]struct {
			Type     string `json:"type"`
			Resolved string `json:"resolved"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, err
	}
	var out []Package
	seen := map[string]bool{}
	for _, deps := range lock.Dependencies {
		for name, d := range deps {
			if d.Resolved == "" || d.Type == "Project" || seen[name+"@"+d.Resolved] {
				continue
			}
			seen[name+"@"+d.Resolved] = true
			out = append(out, Package{Ecosystem: "NuGet", Name: name, Version: d.Resolved, Direct: d.Type == "Direct",
				DirectKnown: true, Line: lineOf(data, `"`+name+`": {`)})
		}
	}
	sortPackages(out)
	return out, nil
}

// ParseConanLock returns the packages of a conan.lock: graph_lock nodes
// (Conan 1) or requires lists (Conan 2) of "name/version[@user/channel][#rev]".
func ParseConanLock(data []byte) ([]Package, error) {
	var lock struct {
		GraphLock struct {
			Nodes map[string]struct {
				Ref string `json:"ref"`
			} `json:"nodes"`
		} `json:"graph_lock"`
		Requires      []string `json:"requires"`
		BuildRequires []string `json:"build_requires"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, err
	}
	refs := append(lock.Requires, lock.BuildRequires...)
	for _, n := range lock.GraphLock.Nodes {
		if n.Ref != "" {
			refs = append(refs, n.Ref)
		}
	}
	var out []Package
	for _, ref := range refs {
		ref, _, _ = strings.Cut(ref, "#")
		ref, _, _ = strings.Cut(ref, "@")
		name, version, ok := strings.Cut(ref, "/")
		if !ok || name == "" || version == "" {
			continue
		}
		out = append(out, Package{Ecosystem: "ConanCenter", Name: name, Version: version, Line: lineOf(data, `"`+name+"/"+version)})
	}
	sortPackages(out)
	return out, nil
}

// ParseBunLock returns the packages of a bun.lock (JSON with trailing
// commas): "packages" maps a key to ["name@version", …]; direct
// dependencies are those of the root workspace.
func ParseBunLock(data []byte) ([]Package, error) {
	var lock struct {
		Workspaces map[string]struct {
			Dependencies    map[string]string `json:"dependencies"`
			DevDependencies map[string]string `json:"devDependencies"`
		} `json:"workspaces"`
		Packages map[string][]json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(stripTrailingCommas(data), &lock); err != nil {
		return nil, err
	}
	root := lock.Workspaces[""]
	var out []Package
	for key, entry := range lock.Packages {
		if len(entry) == 0 {
			continue
		}
		var spec string
		if json.Unmarshal(entry[0], &spec) != nil {
			continue
		}
		i := strings.LastIndex(spec, "@")
		if i <= 0 {
			continue
		}
		name, version := spec[:i], spec[i+1:]
		if strings.Contains(version, ":") {
			continue // workspace:, link:, git and file sources
		}
		_, dep := root.Dependencies[name]
		_, dev := root.DevDependencies[name]
		out = append(out, Package{Ecosystem: "npm", Name: name, Version: version, Direct: key == name && (dep || dev),
			DirectKnown: true, Line: lineOf(data, `"`+key+`": [`)})
	}
	sortPackages(out)
	return out, nil
}

// stripTrailingCommas removes commas before a closing bracket or brace,
// outside strings, turning JSONC-style lockfiles into JSON.
func stripTrailingCommas(data []byte) []byte {
	out := make([]byte, 0, len(data))
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
		}
		if c == ',' {
			j := i + 1
			for j < len(data) && (data[j] == ' ' || data[j] == '\n' || data[j] == '\r' || data[j] == '\t') {
				j++
			}
			if j < len(data) && (data[j] == '}' || data[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}
