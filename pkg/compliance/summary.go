package compliance

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/cloud"
)

var (
	providerIs    = regexp.MustCompile(`resource\.provider\s*==\s*'([a-z]+)'`)
	providerIn    = regexp.MustCompile(`resource\.provider\s+in\s*\[([^\]]*)\]`)
	providerIsNot = regexp.MustCompile(`resource\.provider\s*!=\s*'([a-z]+)'`)
)

// AppliesTo reports whether a cloud check can fire on a provider's
// resources: it reads a kind the provider's resources map to, and its
// expression does not limit itself to other providers.
func AppliesTo(c *checks.Check, provider string) bool {
	if c.Input != "cloud" {
		return false
	}
	kinds := cloud.ProviderKinds[provider]
	if !slices.ContainsFunc(c.Kinds, func(k string) bool { return slices.Contains(kinds, k) }) {
		return false
	}
	var only []string
	for _, m := range providerIs.FindAllStringSubmatch(c.Expr, -1) {
		only = append(only, m[1])
	}
	for _, m := range providerIn.FindAllStringSubmatch(c.Expr, -1) {
		for _, p := range strings.Split(m[1], ",") {
			only = append(only, strings.Trim(strings.TrimSpace(p), "'\""))
		}
	}
	if len(only) > 0 && !slices.Contains(only, provider) {
		return false
	}
	for _, m := range providerIsNot.FindAllStringSubmatch(c.Expr, -1) {
		if m[1] == provider {
			return false
		}
	}
	return true
}

// referenceFramework names the framework of a reference: "CIS-AWS-1.4" is
// CIS-AWS, "AWS-FSBP-S3.1" AWS-FSBP, "CWE-311" CWE.
func referenceFramework(ref string) string {
	i := strings.LastIndex(ref, "-")
	if i <= 0 {
		return ref
	}
	return ref[:i]
}

// Summary renders the README's tables of check counts, computed from the
// catalog and the frameworks: checks per input, cloud checks per provider,
// checks citing each framework, and each framework file's coverage.
func Summary(cat *checks.Catalog, fws []*Framework) string {
	var b strings.Builder
	inputs := map[string]int{}
	for _, c := range cat.All() {
		inputs[c.Input]++
	}
	b.WriteString("| input | checks |\n|---|---|\n")
	for _, in := range sortedKeys(inputs) {
		fmt.Fprintf(&b, "| %s | %d |\n", in, inputs[in])
	}
	b.WriteString("\n| cloud provider | checks that apply |\n|---|---|\n")
	providers := make([]string, 0, len(cloud.ProviderKinds))
	for p := range cloud.ProviderKinds {
		providers = append(providers, p)
	}
	sort.Strings(providers)
	for _, p := range providers {
		n := 0
		for _, c := range cat.All() {
			if AppliesTo(c, p) {
				n++
			}
		}
		fmt.Fprintf(&b, "| %s | %d |\n", p, n)
	}
	cites := map[string]int{}
	for _, c := range cat.All() {
		seen := map[string]bool{}
		for _, r := range c.References {
			if f := referenceFramework(r); !seen[f] {
				seen[f] = true
				cites[f]++
			}
		}
	}
	b.WriteString("\n| framework cited in references | checks |\n|---|---|\n")
	for _, f := range sortedKeys(cites) {
		if cites[f] > 1 {
			fmt.Fprintf(&b, "| %s | %d |\n", f, cites[f])
		}
	}
	b.WriteString("\n| compliance mapping | controls | assessed by checks | manual (with reason) | distinct checks |\n|---|---|---|---|---|\n")
	for _, f := range fws {
		auto, manual := f.Counts()
		fmt.Fprintf(&b, "| %s %s (`%s`) | %d | %d | %d | %d |\n", f.Name, f.Version, f.ID, auto+manual, auto, manual, len(f.Checks()))
	}
	return b.String()
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
