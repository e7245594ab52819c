// Package version holds the build version.
//
// The release line lives in the VERSION file beside this one: it is the tag
// of the images and of the deployment manifests. A release build stamps the
// exact version (git describe of its tag) with
//
//	-ldflags -X github.com/vigilsec/vigil/pkg/version.Version=0.4.0
//
// and any other build says it is a development build of the release line,
// with the commit it was built from when the go command recorded one.
package version

import (
	_ "embed"
	"runtime/debug"
	"strings"
)

//go:embed VERSION
var release string

// Release is the release line of this source tree, as the images and the
// deployment manifests are tagged.
var Release = strings.TrimSpace(release)

// Version is the version of this build: what a release build stamped, else
// Release-dev with the commit as build metadata (0.4.0-dev+3f2a1bc0e9d1).
var Version string

func init() {
	if Version == "" {
		Version = develop(debug.ReadBuildInfo())
	}
}

// develop is the version of a build that was not stamped.
func develop(info *debug.BuildInfo, ok bool) string {
	v := Release + "-dev"
	if !ok {
		return v
	}
	var rev string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	v += "+" + rev[:min(12, len(rev))]
	if dirty {
		v += ".dirty"
	}
	return v
}
