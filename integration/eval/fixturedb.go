package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// fixtureEcosystems maps the bucket prefixes of the advisory fixture of
// trivy-sca-fixtures to OSV ecosystems.
var fixtureEcosystems = map[string]string{"pip": "PyPI", "npm": "npm", "go": "Go", "maven": "Maven", "composer": "Packagist",
	"nuget": "NuGet", "cargo": "crates.io", "conan": "ConanCenter", "rubygems": "RubyGems"}

// convertFixtureDB writes the corpus's advisory fixture (buckets of
// affected version ranges) as OSV records into dir, so the corpus is
// scored against the advisories its labels were made with.
func convertFixtureDB(src, dir string) (int, error) {
	files, _ := filepath.Glob(filepath.Join(src, "*.yaml"))
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return n, err
		}
		var buckets []struct {
			Bucket string `json:"bucket"`
			Pairs  []struct {
				Bucket string `json:"bucket"`
				Pairs  []struct {
					Key   string `json:"key"`
					Value struct {
						VulnerableVersions []string `json:"VulnerableVersions"`
					} `json:"value"`
				} `json:"pairs"`
			} `json:"pairs"`
		}
		if err := yaml.Unmarshal(data, &buckets); err != nil {
			return n, fmt.Errorf("%s: %w", f, err)
		}
		for _, b := range buckets {
			prefix, _, _ := strings.Cut(b.Bucket, "::")
			eco, ok := fixtureEcosystems[prefix]
			if !ok {
				continue
			}
			for _, pkg := range b.Pairs {
				for _, adv := range pkg.Pairs {
					var ranges []map[string]any
					for _, expr := range adv.Value.VulnerableVersions {
						ranges = append(ranges, map[string]any{"type": "ECOSYSTEM", "events": rangeEvents(expr)})
					}
					rec := map[string]any{"id": adv.Key, "summary": adv.Key + " (advisory fixture)",
						"affected": []any{map[string]any{"package": map[string]string{"ecosystem": eco, "name": pkg.Bucket}, "ranges": ranges}}}
					out, _ := json.Marshal(rec)
					name := fmt.Sprintf("%s-%s-%d.json", prefix, adv.Key, n)
					if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
						return n, err
					}
					n++
				}
			}
		}
	}
	return n, nil
}

var constraint = regexp.MustCompile(`^(>=|<=|>|<|=)?\s*v?(.+)$`)

// rangeEvents turns ">= 1.0, < 2.0", "< 3", "<= 1.2" or a Maven range
// "[1.0,2.0)" into OSV events.
func rangeEvents(expr string) []map[string]string {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "[") || strings.HasPrefix(expr, "(") {
		lo, hi, _ := strings.Cut(strings.Trim(expr, "[]()"), ",")
		ev := []map[string]string{{"introduced": orZero(strings.TrimSpace(lo))}}
		if hi = strings.TrimSpace(hi); hi != "" {
			if strings.HasSuffix(expr, "]") {
				ev = append(ev, map[string]string{"last_affected": hi})
			} else {
				ev = append(ev, map[string]string{"fixed": hi})
			}
		}
		return ev
	}
	introduced := "0"
	var end map[string]string
	for _, part := range strings.Split(expr, ",") {
		m := constraint.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			continue
		}
		switch m[1] {
		case ">=", ">":
			introduced = m[2]
		case "<":
			end = map[string]string{"fixed": m[2]}
		case "<=", "=", "":
			end = map[string]string{"last_affected": m[2]}
		}
	}
	ev := []map[string]string{{"introduced": introduced}}
	if end != nil {
		ev = append(ev, end)
	}
	return ev
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
