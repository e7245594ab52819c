package container

import (
	"path"
	"strings"
)

// installs reads the package installs of a RUN's commands (argv lists):
// per install, the package manager, the packages named, and those named
// without a version. A package given as a file, a URL or a shell variable
// is not judged; nor is an install that reads its packages from a lock
// or requirements file.
func installs(commands []any) []any {
	var out []any
	for _, c := range commands {
		argv, _ := c.([]any)
		words := make([]string, 0, len(argv))
		for _, w := range argv {
			if s, ok := w.(string); ok {
				words = append(words, s)
			}
		}
		if in, ok := install(words); ok {
			out = append(out, in)
		}
	}
	return out
}

// managers are the install verbs of the package managers read, with the
// options of each that take a value (the value is not a package) and the
// test of a pinned package.
var managers = map[string]struct {
	verbs  []string
	valued []string
	pinned func(pkg string) bool
}{
	"apt-get": {[]string{"install"}, []string{"-o", "-t", "-c", "--option", "--target-release", "--default-release", "--config-file"}, aptPinned},
	"apt":     {[]string{"install"}, []string{"-o", "-t", "-c", "--option", "--target-release", "--default-release", "--config-file"}, aptPinned},
	"apk":     {[]string{"add"}, []string{"-t", "--virtual", "-X", "--repository", "-p", "--root", "--arch", "--keys-dir"}, apkPinned},
	"pip":     {[]string{"install"}, []string{"-i", "--index-url", "--extra-index-url", "-t", "--target", "--prefix", "--root", "--trusted-host", "-f", "--find-links", "--platform", "--python-version", "--implementation", "--abi", "--src", "--log", "--cache-dir", "--progress-bar", "--upgrade-strategy"}, pipPinned},
	"npm":     {[]string{"install", "i", "add"}, []string{"--prefix", "--registry", "--cache", "--tag", "-w", "--workspace"}, npmPinned},
	"gem":     {[]string{"install"}, []string{"-i", "--install-dir", "-n", "--bindir", "--source", "-s", "-P", "--trust-policy"}, gemPinned},
}

// install reads one command line; ok is false when it installs nothing
// judged.
func install(words []string) (map[string]any, bool) {
	words = unwrap(words)
	if len(words) < 2 {
		return nil, false
	}
	name := path.Base(words[0])
	switch {
	case strings.HasPrefix(name, "pip") && strings.TrimLeft(name[3:], "0123456789.") == "":
		name = "pip"
	case strings.HasPrefix(name, "python") && len(words) > 3 && words[1] == "-m" && strings.HasPrefix(words[2], "pip"):
		name, words = "pip", words[2:]
	}
	m, ok := managers[name]
	if !ok {
		return nil, false
	}
	verb := -1
	for i, w := range words[1:] {
		if !strings.HasPrefix(w, "-") {
			for _, v := range m.verbs {
				if w == v {
					verb = i + 1
				}
			}
			break // the first word that is not an option is the verb
		}
	}
	if verb < 0 {
		return nil, false
	}
	packages, unpinned := []any{}, []any{}
	for i := verb + 1; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") {
			switch {
			case name == "pip" && (w == "-r" || w == "--requirement" || w == "-c" || w == "--constraint" || w == "-e" || w == "--editable"):
				return nil, false // the versions are in a file, or the package is a folder
			case name == "gem" && (w == "-v" || w == "--version" || strings.HasPrefix(w, "--version=")):
				return nil, false // a version for the gems named
			}
			if !strings.Contains(w, "=") && contains(m.valued, w) {
				i++ // the option's value
			}
			continue
		}
		scoped := name == "npm" && strings.HasPrefix(w, "@") && strings.Count(w, "/") == 1 // @scope/name
		if strings.ContainsAny(w, "$`") || (strings.Contains(w, "/") && !scoped) {
			continue // a variable, a file, a URL or a path: not a name to pin
		}
		packages = append(packages, w)
		if !m.pinned(w) {
			unpinned = append(unpinned, w)
		}
	}
	if len(packages) == 0 {
		return nil, false
	}
	return map[string]any{"manager": name, "packages": packages, "unpinned": unpinned}, true
}

// unwrap drops the words that run a command as someone or somewhere else
// (sudo, env VAR=x, nice, time).
func unwrap(words []string) []string {
	for len(words) > 0 {
		switch path.Base(words[0]) {
		case "sudo", "nice", "nohup", "time", "command":
			words = words[1:]
			for len(words) > 0 && strings.HasPrefix(words[0], "-") {
				words = words[1:]
			}
		case "env":
			words = words[1:]
			for len(words) > 0 && (strings.HasPrefix(words[0], "-") || strings.Contains(words[0], "=")) {
				words = words[1:]
			}
		default:
			return words
		}
	}
	return words
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// aptPinned: name=version.
func aptPinned(p string) bool { return strings.Contains(p, "=") }

// apkPinned: name=version, name~version, or a range.
func apkPinned(p string) bool { return strings.ContainsAny(p, "=~<>") }

// pipPinned: a version specifier, or a direct reference (name @ URL).
func pipPinned(p string) bool {
	return strings.ContainsAny(p, "=<>~@") || strings.HasSuffix(p, ".whl") || strings.HasSuffix(p, ".tar.gz")
}

// npmPinned: name@version (a scope's @ comes first: @scope/name@1.2).
func npmPinned(p string) bool { return strings.LastIndex(p, "@") > 0 }

// gemPinned: name:version.
func gemPinned(p string) bool { return strings.Contains(p, ":") }
