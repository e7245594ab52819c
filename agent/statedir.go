package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// LegacyDataDir is where agents before this release kept their state:
// relative to whatever folder they were started from.
const LegacyDataDir = "vigil-agent-data"

// DefaultDataDir is where an agent keeps its state when no --data-dir is
// given, following the platform's conventions and never the current
// folder: the folder systemd made for the service (STATE_DIRECTORY), then
// /var/lib/vigil-agent when running as root, then the user's state folder
// ($XDG_STATE_HOME, by default ~/.local/state) with vigil-agent in it.
func DefaultDataDir() (string, error) {
	return defaultDataDir(os.Getenv, os.Geteuid(), os.UserHomeDir)
}

func defaultDataDir(getenv func(string) string, euid int, home func() (string, error)) (string, error) {
	// systemd's StateDirectory= may list several folders, colon-separated.
	if dirs := getenv("STATE_DIRECTORY"); dirs != "" {
		if first, _, _ := strings.Cut(dirs, ":"); filepath.IsAbs(first) {
			return first, nil
		}
	}
	if euid == 0 {
		return "/var/lib/vigil-agent", nil
	}
	// The XDG base directory rules ignore a relative value.
	if x := getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "vigil-agent"), nil
	}
	h, err := home()
	if err != nil || !filepath.IsAbs(h) {
		return "", errors.New("no state folder for the agent: HOME is not set and neither are XDG_STATE_HOME or STATE_DIRECTORY; give --data-dir")
	}
	return filepath.Join(h, ".local", "state", "vigil-agent"), nil
}
