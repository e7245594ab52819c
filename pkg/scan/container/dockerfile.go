// Package container scans what containers are built from: Dockerfiles,
// parsed with BuildKit's parser. Its subpackages read images (image),
// verify their signatures (signature) and judge running container
// processes (proc).
package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// MaxDockerfileSize bounds the size of one Dockerfile.
const MaxDockerfileSize = 4 << 20

// Dockerfiles evaluates the "dockerfile" checks of a catalog over
// Dockerfiles and Containerfiles, parsed with BuildKit's parser.
type Dockerfiles struct {
	Checks []*checks.Check
}

// NewDockerfiles returns a Dockerfile scanner using the catalog's checks.
func NewDockerfiles(cat *checks.Catalog) *Dockerfiles {
	return &Dockerfiles{Checks: cat.ForInput("dockerfile")}
}

// Name is the scanner name used in scopes.
func (d *Dockerfiles) Name() string { return "dockerfile" }

// Describe declares the analyzer: version 1 is its first declared version.
func (d *Dockerfiles) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: d.Name(), Version: 1, Reads: []string{pipeline.File}}
}

// Match selects Dockerfile, Containerfile, Dockerfile.* , *.Dockerfile and
// *.dockerfile.
func (d *Dockerfiles) Match(path string) bool {
	base := strings.ToLower(filepath.Base(path))
	for _, n := range []string{"dockerfile", "containerfile"} {
		if base == n || strings.HasPrefix(base, n+".") || strings.HasSuffix(base, "."+n) {
			return true
		}
	}
	return false
}

// ScanFile parses one Dockerfile and evaluates the checks.
func (d *Dockerfiles) ScanFile(ctx context.Context, path string, data []byte, tenant string) ([]*vigilv1.Finding, error) {
	if len(data) > MaxDockerfileSize {
		return nil, pipeline.NotAssessed(pipeline.TooLarge, fmt.Errorf("%s: Dockerfile is %d bytes, over the %d byte limit", path, len(data), MaxDockerfileSize))
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, pipeline.NotAssessed(pipeline.ParseError, fmt.Errorf("%s: %w", path, err))
	}
	model := buildModel(res.AST)
	if len(model.stages) == 0 {
		return nil, pipeline.NotAssessed(pipeline.ParseError, fmt.Errorf("%s: no FROM instruction", path))
	}
	lines := bytes.Split(data, []byte("\n"))
	resource := &vigilv1.Resource{Tenant: tenant, Provider: "dockerfile", Kind: "Dockerfile", Name: path, Uri: path}
	var out []*vigilv1.Finding
	var errs []error
	for _, c := range d.Checks {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		for _, el := range model.elements(c.Each) {
			fails, err := c.Fails(el.vars)
			if err != nil {
				errs = append(errs, &pipeline.CheckError{Check: c.ID, Err: fmt.Errorf("%s: line %d: %w", path, el.start, err)})
				continue
			}
			if !fails {
				continue
			}
			start, end := el.start, el.end
			if c.Field != "" {
				if st, ok := el.vars["stage"].(map[string]any); ok && c.Each == "stage" {
					if l, ok := st[c.Field].(int64); ok && l > 0 {
						start, end = int(l), int(l)
					}
				}
			}
			f := c.NewFinding(c.Message(el.vars), finding.Site{
				Scanner:  d.Name(),
				Resource: resource,
				Location: &vigilv1.Location{Path: path, StartLine: int32(start), EndLine: int32(end), Snippet: finding.Snippet(lines, start)},
				Path:     path,
				Key:      el.key,
			})
			for _, v := range c.Secrets(el.vars) {
				pipeline.NoteSecretOf(ctx, f, v, "")
			}
			out = append(out, f)
		}
	}
	return out, errors.Join(errs...)
}

type model struct {
	file   map[string]any
	stages []map[string]any
	insts  []map[string]any
}

type element struct {
	vars       map[string]any
	start, end int
	key        string
}

func (m *model) elements(each string) []element {
	vars := func(stage, inst map[string]any) map[string]any {
		// Variables left unset read as null (see checks.activation).
		v := map[string]any{"dockerfile": m.file}
		if stage != nil {
			v["stage"] = stage
		}
		if inst != nil {
			v["instruction"] = inst
		}
		return v
	}
	var out []element
	switch each {
	case "":
		out = append(out, element{vars: vars(m.stages[len(m.stages)-1], nil), start: 1, end: 1, key: "file"})
	case "stage":
		for _, s := range m.stages {
			l := int(s["line"].(int64))
			out = append(out, element{vars: vars(s, nil), start: l, end: l, key: "stage:" + s["key"].(string)})
		}
	case "instruction":
		for _, in := range m.insts {
			st := m.stages[in["stage"].(int64)]
			out = append(out, element{vars: vars(st, in), start: int(in["line"].(int64)), end: int(in["end_line"].(int64)),
				key: "instruction:" + st["key"].(string) + ":" + in["original"].(string)})
		}
	}
	return out
}

// buildModel turns the BuildKit AST into the maps checks read:
//
//	instruction: cmd, args, flags, original, line, end_line, json, stage,
//	             kv (ENV/LABEL/ARG pairs), commands (RUN argv lists), pipes,
//	             installs (package installs: manager, packages, unpinned)
//	stage: index, name, base, base_stage, final, user, user_line, line,
//	       has_healthcheck, instructions
//	dockerfile: stages, args (global ARG defaults)
func buildModel(ast *parser.Node) *model {
	b := &modelBuilder{m: &model{}, globalArgs: map[string]string{}, stageIndex: map[string]int{}}
	for _, n := range ast.Children {
		b.add(n)
	}
	return b.finish()
}

// modelBuilder builds the model one instruction at a time.
type modelBuilder struct {
	m          *model
	globalArgs map[string]string
	stageIndex map[string]int // by name and by index
	cur        map[string]any // the stage being read, nil before the first FROM
}

func (b *modelBuilder) add(n *parser.Node) {
	inst := instruction(n)
	cmd, args := inst["cmd"].(string), inst["args"].([]any)
	if cmd == "FROM" {
		b.from(n, args)
	}
	if b.cur == nil {
		if cmd == "ARG" {
			for _, kv := range inst["kv"].([]any) {
				p := kv.(map[string]any)
				b.globalArgs[p["key"].(string)] = p["value"].(string)
			}
		}
		b.m.insts = append(b.m.insts, inst)
		return
	}
	cur := b.cur
	inst["stage"] = cur["index"]
	switch cmd {
	case "USER":
		if len(args) > 0 {
			cur["user"] = expandArgs(args[0].(string), b.globalArgs)
			cur["user_line"] = int64(n.StartLine)
		}
	case "HEALTHCHECK":
		cur["has_healthcheck"] = !(len(args) > 0 && strings.EqualFold(args[0].(string), "NONE"))
	}
	cur["instructions"] = append(cur["instructions"].([]any), inst)
	b.m.insts = append(b.m.insts, inst)
}

// from starts a stage; one built on an earlier stage inherits its user and
// health check.
func (b *modelBuilder) from(n *parser.Node, args []any) {
	base, name := "", ""
	if len(args) > 0 {
		base = expandArgs(args[0].(string), b.globalArgs)
	}
	if len(args) >= 3 && strings.EqualFold(args[1].(string), "AS") {
		name = strings.ToLower(args[2].(string))
	}
	idx := len(b.m.stages)
	parentIdx, baseStage := b.stageIndex[strings.ToLower(base)]
	cur := map[string]any{
		"index": int64(idx), "name": name, "base": base, "base_stage": baseStage,
		"final": false, "user": "", "user_line": int64(0), "line": int64(n.StartLine),
		"has_healthcheck": false, "instructions": []any{}, "key": fmt.Sprintf("%d:%s", idx, name),
	}
	if baseStage {
		parent := b.m.stages[parentIdx]
		cur["user"], cur["user_line"] = parent["user"], parent["user_line"]
		cur["has_healthcheck"] = parent["has_healthcheck"]
	}
	if name != "" {
		b.stageIndex[name] = idx
	}
	b.stageIndex[strconv.Itoa(idx)] = idx
	b.m.stages = append(b.m.stages, cur)
	b.cur = cur
}

func (b *modelBuilder) finish() *model {
	m := b.m
	stages := make([]any, len(m.stages))
	for i, s := range m.stages {
		stages[i] = s
	}
	if len(m.stages) > 0 {
		m.stages[len(m.stages)-1]["final"] = true
	}
	// Instructions before the first FROM (global ARGs) belong to stage 0 for
	// evaluation purposes.
	for _, in := range m.insts {
		if in["stage"].(int64) < 0 && len(m.stages) > 0 {
			in["stage"] = int64(0)
		}
	}
	ga := map[string]any{}
	for k, v := range b.globalArgs {
		ga[k] = v
	}
	m.file = map[string]any{"stages": stages, "args": ga}
	return m
}

// instruction is the model of one instruction, apart from its stage.
func instruction(n *parser.Node) map[string]any {
	cmd := strings.ToUpper(n.Value)
	var args []any
	for x := n.Next; x != nil; x = x.Next {
		args = append(args, x.Value)
	}
	inst := map[string]any{
		"cmd": cmd, "args": args, "flags": toAny(n.Flags), "original": n.Original,
		"line": int64(n.StartLine), "end_line": int64(n.EndLine), "json": n.Attributes["json"],
		"kv": []any{}, "commands": []any{}, "pipes": []any{}, "stage": int64(-1), "script": "", "installs": []any{},
	}
	switch cmd {
	case "ADD", "COPY":
		// Paths may be quoted; the builder strips the quotes.
		for i, a := range args {
			args[i] = unquote(a.(string))
		}
	case "ENV", "LABEL":
		inst["kv"] = triples(args)
	case "ARG":
		inst["kv"] = argPairs(args)
	case "RUN":
		script := runScript(n, args)
		inst["script"] = script
		inst["commands"], inst["pipes"] = shellCommands(script)
		if in := installs(inst["commands"].([]any)); in != nil {
			inst["installs"] = in
		}
	}
	return inst
}

// runScript is the shell script a RUN instruction runs, heredocs included.
func runScript(n *parser.Node, args []any) string {
	var script string
	if n.Attributes["json"] {
		script = shellJoin(args)
	} else {
		parts := make([]string, 0, len(args))
		for _, a := range args {
			parts = append(parts, a.(string))
		}
		script = strings.Join(parts, " ")
	}
	for _, h := range n.Heredocs {
		script += "\n" + h.Content
	}
	return script
}

// triples decodes ENV and LABEL arguments, which BuildKit gives as
// key, value, separator triples.
func triples(args []any) []any {
	out := []any{}
	for i := 0; i+1 < len(args); i += 3 {
		out = append(out, map[string]any{"key": args[i].(string), "value": unquote(args[i+1].(string))})
	}
	return out
}

func argPairs(args []any) []any {
	out := []any{}
	for _, a := range args {
		k, v, has := strings.Cut(a.(string), "=")
		out = append(out, map[string]any{"key": k, "value": unquote(v), "has_value": has})
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s[1:len(s)-1], `"`, `\"`) + `"`); err == nil {
			return u
		}
		return s[1 : len(s)-1]
	}
	return s
}

// expandArgs substitutes ${NAME} and $NAME with global ARG defaults; unknown
// names are left as they are.
func expandArgs(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	for k, v := range vars {
		if v == "" {
			continue
		}
		s = strings.ReplaceAll(s, "${"+k+"}", v)
		s = strings.ReplaceAll(s, "$"+k, v)
	}
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func shellJoin(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = strconv.Quote(a.(string))
	}
	return strings.Join(parts, " ")
}
