package agent

import (
	"errors"
	"testing"
)

func TestDefaultDataDir(t *testing.T) {
	home := func() (string, error) { return "/home/ann", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	for _, c := range []struct {
		name string
		env  map[string]string
		euid int
		home func() (string, error)
		want string
	}{
		{"systemd service", map[string]string{"STATE_DIRECTORY": "/var/lib/vigil-agent-2:/var/lib/other", "XDG_STATE_HOME": "/x"}, 1000, home, "/var/lib/vigil-agent-2"},
		{"root", nil, 0, home, "/var/lib/vigil-agent"},
		{"root with XDG set still uses the system folder", map[string]string{"XDG_STATE_HOME": "/root/.state"}, 0, home, "/var/lib/vigil-agent"},
		{"user with XDG_STATE_HOME", map[string]string{"XDG_STATE_HOME": "/srv/state"}, 1000, home, "/srv/state/vigil-agent"},
		{"relative XDG_STATE_HOME is ignored", map[string]string{"XDG_STATE_HOME": "state"}, 1000, home, "/home/ann/.local/state/vigil-agent"},
		{"relative STATE_DIRECTORY is ignored", map[string]string{"STATE_DIRECTORY": "rel"}, 1000, home, "/home/ann/.local/state/vigil-agent"},
		{"user", nil, 1000, home, "/home/ann/.local/state/vigil-agent"},
		{"no home", nil, 1000, noHome, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := defaultDataDir(func(k string) string { return c.env[k] }, c.euid, c.home)
			if c.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
