// Package config fills command-line flags from the environment and a YAML
// file, so every binary is configured the same way: a flag given on the
// command line wins, then VIGIL_<FLAG_NAME>, then the file's <flag-name> key.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/pkg/telemetry"
)

// EnvName is the environment variable for a flag: --nats-url → VIGIL_NATS_URL.
func EnvName(flag string) string {
	return "VIGIL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Apply sets every flag of fs that was not given on the command line from
// the environment, then from the YAML file at path (when not empty). Keys
// of the file are flag names; lists may be YAML sequences.
func Apply(fs *pflag.FlagSet, path string) error {
	file := map[string]any{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := yaml.Unmarshal(data, &file); err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
		for k := range file {
			if fs.Lookup(k) == nil {
				return fmt.Errorf("config file %s: unknown setting %q", path, k)
			}
		}
	}
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", EnvName(f.Name), err))
			}
			f.Changed = true
			return
		}
		v, ok := file[f.Name]
		if !ok {
			return
		}
		vals := []string{fmt.Sprint(v)}
		if list, isList := v.([]any); isList {
			vals = vals[:0]
			for _, e := range list {
				vals = append(vals, fmt.Sprint(e))
			}
		}
		for _, s := range vals {
			if err := f.Value.Set(s); err != nil {
				errs = append(errs, fmt.Sprintf("config file %s: %s: %v", path, f.Name, err))
			}
		}
		f.Changed = true
	})
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Common holds the settings every Vigil binary has: the config file, the
// log level and --version.
type Common struct {
	File     string
	LogLevel string
	Version  bool
}

// Bind adds --config, --log-level and --version to fs.
func (c *Common) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&c.File, "config", os.Getenv("VIGIL_CONFIG"), "YAML file with settings named like the flags")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
}

// Load parses args into fs and fills unset flags from the environment and
// the config file. It returns the JSON logger on stderr, or done when only
// the version was asked for (it has been written to out).
func (c *Common) Load(fs *pflag.FlagSet, args []string, out io.Writer, version string) (logger *slog.Logger, done bool, err error) {
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if c.Version {
		fmt.Fprintln(out, version)
		return nil, true, nil
	}
	if err := Apply(fs, c.File); err != nil {
		return nil, false, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, false, fmt.Errorf("log level: %w", err)
	}
	// Records logged with a context carry its trace and span ids.
	logger = slog.New(telemetry.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	slog.SetDefault(logger)
	return logger, false, nil
}
