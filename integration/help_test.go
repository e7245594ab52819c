package integration

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every binary and every vigil-server command answers --help with its
// usage and exit status 0, and an unknown flag with a failure.
func TestHelpExitsZero(t *testing.T) {
	out, err := exec.Command(bins.server, "no-such-command").CombinedOutput()
	_, list, ok := strings.Cut(string(out), "commands: ")
	if err == nil || !ok {
		t.Fatalf("vigil-server no-such-command: %v, %s", err, out)
	}
	runs := [][]string{
		{bins.vigil, "--help"},
		{bins.vigil, "findings", "--help"},
		{bins.agent, "--help"},
		{filepath.Join(filepath.Dir(bins.agent), "vigil-agent-scan"), "--help"},
		{bins.server, "--help"},
	}
	for _, c := range strings.Split(strings.TrimSpace(list), ", ") {
		runs = append(runs, []string{bins.server, c, "--help"})
	}
	for _, r := range runs {
		name := filepath.Base(r[0]) + " " + strings.Join(r[1:], " ")
		out, err := exec.Command(r[0], r[1:]...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
			continue
		}
		if !strings.Contains(string(out), "--") {
			t.Errorf("%s printed no flags:\n%s", name, out)
		}
		bad := append(append([]string(nil), r[1:len(r)-1]...), "--no-such-flag")
		var exit *exec.ExitError
		if _, err := exec.Command(r[0], bad...).CombinedOutput(); !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("%s with an unknown flag: %v, want a non-zero exit", name, err)
		}
	}
}
