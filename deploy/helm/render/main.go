// Command render prints the manifests of the Vigil chart as Helm renders
// them, with Helm's own library: what make dogfood scans, and what the
// tests submit to a kube-apiserver.
//
//	go run ./deploy/helm/render [--namespace vigil] [--set key=value]... [CHART]
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("render", pflag.ContinueOnError)
	namespace := fs.String("namespace", "vigil", "the release's namespace")
	sets := fs.StringArray("set", nil, "a value, as helm --set takes it (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := "deploy/helm/vigil"
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	chrt, err := loader.Load(dir)
	if err != nil {
		return fmt.Errorf("load %s: %w", dir, err)
	}
	vals := map[string]any{}
	for _, s := range *sets {
		if err := strvals.ParseInto(s, vals); err != nil {
			return fmt.Errorf("--set %s: %w", s, err)
		}
	}
	top, err := util.ToRenderValues(chrt, vals, common.ReleaseOptions{Name: "vigil", Namespace: *namespace, IsInstall: true}, nil)
	if err != nil {
		return err
	}
	out, err := engine.Render(chrt, top)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(out))
	for name := range out {
		if strings.HasSuffix(name, ".yaml") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		body := strings.TrimSpace(out[name])
		if body == "" {
			continue
		}
		fmt.Printf("---\n# Source: %s\n%s\n", name, body)
	}
	return nil
}
