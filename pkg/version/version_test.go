package version

import (
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"golang.org/x/mod/semver"
)

func TestReleaseIsSemver(t *testing.T) {
	if !semver.IsValid("v"+Release) || semver.Prerelease("v"+Release) != "" || semver.Build("v"+Release) != "" {
		t.Fatalf("VERSION %q is not a release version like 1.2.3", Release)
	}
	if !semver.IsValid("v" + Version) {
		t.Fatalf("Version %q is not semver", Version)
	}
}

func TestDevelopVersion(t *testing.T) {
	for _, c := range []struct {
		settings []debug.BuildSetting
		ok       bool
		want     string
	}{
		{nil, false, Release + "-dev"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "3f2a1bc0e9d1aa55"}, {Key: "vcs.modified", Value: "false"}}, true, Release + "-dev+3f2a1bc0e9d1"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "3f2a1bc"}, {Key: "vcs.modified", Value: "true"}}, true, Release + "-dev+3f2a1bc.dirty"},
	} {
		got := develop(&debug.BuildInfo{Settings: c.settings}, c.ok)
		if got != c.want || !semver.IsValid("v"+got) {
			t.Errorf("develop(%v) = %q, want %q (semver)", c.settings, got, c.want)
		}
		// A development build sorts before its release.
		if semver.Compare("v"+got, "v"+Release) >= 0 {
			t.Errorf("%q does not sort before the release %q", got, Release)
		}
	}
}

// A release tag on the checked-out commit must name the same version as
// the VERSION file, or images, manifests and binaries would disagree.
func TestTagMatchesRelease(t *testing.T) {
	out, err := exec.Command("git", "describe", "--tags", "--exact-match", "--match", "v[0-9]*").Output()
	if err != nil {
		t.Skip("no release tag on this commit")
	}
	if tag := strings.TrimSpace(string(out)); tag != "v"+Release {
		t.Fatalf("commit tagged %s, VERSION says %s", tag, Release)
	}
}
