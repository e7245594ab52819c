package cluster

import (
	"fmt"
	"path"
	"strings"
)

// commandLine is a container's command line as control-plane checks read
// it: the component (the executable's base name, or the image's when the
// command is left to the image) and its --flags. A flag given twice keeps
// the last value, as the components' flag parsing does.
type commandLine struct {
	component string
	flags     map[string]any
	// paths maps a flag to the field path of the list element that sets it.
	paths map[string]string
}

// parseCommandLine reads command and args of a container spec.
func parseCommandLine(c map[string]any, containerPath string) commandLine {
	cl := commandLine{flags: map[string]any{}, paths: map[string]string{}}
	command, _ := c["command"].([]any)
	args, _ := c["args"].([]any)
	if len(command) > 0 {
		if s, ok := command[0].(string); ok {
			cl.component = path.Base(s)
		}
	} else if img, ok := c["image"].(string); ok {
		repo, _, _ := strings.Cut(img, "@")
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		cl.component = path.Base(repo)
	}
	read := func(list []any, field string, skipFirst bool) {
		for i := 0; i < len(list); i++ {
			if skipFirst && i == 0 {
				continue
			}
			tok, ok := list[i].(string)
			if !ok || !strings.HasPrefix(tok, "--") || len(tok) == 2 {
				continue
			}
			name, value, hasValue := strings.Cut(tok[2:], "=")
			cl.paths[name] = fmt.Sprintf("%s.%s[%d]", containerPath, field, i)
			if !hasValue {
				value = "true"
				if i+1 < len(list) {
					if next, ok := list[i+1].(string); ok && !strings.HasPrefix(next, "-") {
						value = next
						i++
					}
				}
			}
			cl.flags[name] = value
		}
	}
	read(command, "command", true)
	read(args, "args", false)
	return cl
}
