package lockfile

import (
	"encoding/json"
	"strings"

	"github.com/BurntSushi/toml"
	"sigs.k8s.io/yaml"
)

// ParsePnpmLock returns the packages of a pnpm-lock.yaml (lockfile versions
// 5 to 9). Direct dependencies are those of the root importer.
func ParsePnpmLock(data []byte) ([]Package, error) {
	var lock struct {
		LockfileVersion any                       `json:"lockfileVersion"`
		Dependencies    map[string]any            `json:"dependencies"`
		DevDependencies map[string]any            `json:"devDependencies"`
		Importers       map[string]map[string]any `json:"importers"`
		Packages        map[string]any            `json:"packages"`
	}
	if err := yaml.Unmarshal(data, &lock); err != nil {
		return nil, err
	}
	direct := map[string]bool{}
	for name := range lock.Dependencies {
		direct[name] = true
	}
	for name := range lock.DevDependencies {
		direct[name] = true
	}
	if root, ok := lock.Importers["."]; ok {
		for _, section := range []string{"dependencies", "devDependencies", "optionalDependencies"} {
			if deps, ok := root[section].(map[string]any); ok {
				for name := range deps {
					direct[name] = true
				}
			}
		}
	}
	v5 := strings.HasPrefix(strings.Trim(jsonString(lock.LockfileVersion), "'\""), "5")
	var out []Package
	for key := range lock.Packages {
		name, version, ok := pnpmKey(key, v5)
		if !ok {
			continue
		}
		out = append(out, Package{Ecosystem: "npm", Name: name, Version: version, Direct: direct[name], DirectKnown: true,
			Line: lineOf(data, key+":")})
	}
	sortPackages(out)
	return out, nil
}

// pnpmKey splits a packages key: "/name/1.2.3" (v5), "/name@1.2.3" (v6),
// "name@1.2.3" (v9), scoped names and peer suffixes "(peer@1)" included.
func pnpmKey(key string, v5 bool) (name, version string, ok bool) {
	key = strings.TrimPrefix(key, "/")
	if i := strings.IndexByte(key, '('); i > 0 {
		key = key[:i]
	}
	if v5 {
		i := strings.LastIndexByte(key, '/')
		if i <= 0 {
			return "", "", false
		}
		version = key[i+1:]
		if j := strings.IndexByte(version, '_'); j > 0 {
			version = version[:j] // v5 peer suffix
		}
		return key[:i], version, true
	}
	i := strings.LastIndexByte(key, '@')
	if i <= 0 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ParseComposerLock returns the packages of a PHP composer.lock. It lists
// runtime and development packages alike and does not say which are direct.
func ParseComposerLock(data []byte) ([]Package, error) {
	var lock struct {
		Packages    []composerPackage `json:"packages"`
		PackagesDev []composerPackage `json:"packages-dev"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, err
	}
	var out []Package
	for _, p := range append(lock.Packages, lock.PackagesDev...) {
		if p.Name == "" || p.Version == "" || strings.HasPrefix(p.Version, "dev-") {
			continue
		}
		out = append(out, Package{Ecosystem: "Packagist", Name: p.Name, Version: strings.TrimPrefix(p.Version, "v"),
			Line: lineOf(data, `"name": "`+p.Name+`"`)})
	}
	sortPackages(out)
	return out, nil
}

type composerPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ParseCargoLock returns the crates of a Cargo.lock that come from a
// registry (workspace and path crates have no source and are skipped).
func ParseCargoLock(data []byte) ([]Package, error) {
	var lock struct {
		Package []struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
			Source  string `toml:"source"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(data), &lock); err != nil {
		return nil, err
	}
	var out []Package
	for _, p := range lock.Package {
		if p.Source == "" || !strings.HasPrefix(p.Source, "registry+") {
			continue
		}
		out = append(out, Package{Ecosystem: "crates.io", Name: p.Name, Version: p.Version,
			Line: lineOf(data, "name = \""+p.Name+"\"\nversion = \""+p.Version+"\"")})
	}
	sortPackages(out)
	return out, nil
}
