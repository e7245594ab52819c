package terraform

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/cloud"
)

// TestProviderKindsDeclared reads the adapters' source for every
// resource(kind, provider, …) they start and holds cloud.ProviderKinds to
// it, so the table the README's counts come from cannot drift.
func TestProviderKindsDeclared(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[[2]string]bool{}
	lit := func(e ast.Expr) (string, bool) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			s, err := strconv.Unquote(b.Value)
			return s, err == nil
		}
		return "", false
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "resource" {
				return true
			}
			kind, ok1 := lit(call.Args[0])
			provider, ok2 := lit(call.Args[1])
			if ok1 && ok2 {
				seen[[2]string{provider, kind}] = true
			}
			return true
		})
	}
	// Calls whose provider is computed: certificates and provider blocks.
	for _, p := range []string{"aws", "nifcloud"} {
		seen[[2]string{p, "certificate"}] = true
	}
	for _, p := range providerNames {
		seen[[2]string{p, "provider_config"}] = true
	}
	// AWS endpoints and stores start in helpers of their own (endpoint, store).
	for _, k := range []string{"endpoint", "store"} {
		seen[[2]string{"aws", k}] = true
	}
	if len(seen) < 20 {
		t.Fatalf("found only %d adapter calls; the source scan is broken", len(seen))
	}
	for pk := range seen {
		if !slices.Contains(cloud.ProviderKinds[pk[0]], pk[1]) {
			t.Errorf("adapters map %s resources to %q, which cloud.ProviderKinds does not list", pk[0], pk[1])
		}
	}
	for p, kinds := range cloud.ProviderKinds {
		for _, k := range kinds {
			if _, ok := cloud.Kinds[k]; !ok {
				t.Errorf("cloud.ProviderKinds lists unknown kind %q for %s", k, p)
			}
			if !seen[[2]string{p, k}] && !(p == "aws" && k == "account") {
				t.Errorf("cloud.ProviderKinds lists %s %q, which no Terraform adapter produces", p, k)
			}
		}
	}
}
