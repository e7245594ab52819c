// Package checks is the check engine: CEL checks defined in YAML packs,
// compiled once at start-up and evaluated many times by the scanners.
//
// A pack is a YAML file with a list of checks. Each check names the input it
// reads ("kubernetes", "dockerfile"), optionally the object kinds it applies
// to and an iterator ("each") that the scanner expands, a CEL expression that
// is true when the check fails, and the field that the finding points at.
package checks

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Check is one compiled check.
type Check struct {
	ID          string
	Pillar      vigilv1.Pillar
	Severity    vigilv1.Severity
	Title       string
	Description string
	Remediation string
	References  []string
	Tags        []string
	// Input is the kind of document the check reads.
	Input string
	// Kinds restricts a Kubernetes check to these object kinds; "workload"
	// stands for every pod-bearing kind of the cluster's users and
	// "control-plane" for the control plane's static pods (see AppliesTo).
	Kinds []string
	// Each names the iterator the scanner expands: for Kubernetes
	// "pod", "container", "volume", "rule", "subject" or "port"; for Dockerfiles
	// "instruction" or "stage". Empty means once per object or file.
	Each string
	// Field is the path of the offending field relative to the iterated
	// element (or the object), for pointing at a line. For containers,
	// "flag:NAME" points at the command-line element that sets --NAME, or
	// at the command when the flag is absent.
	Field string
	// Source is the pack the check came from.
	Source string
	// Reads are the attributes of the resource a cloud check's expression
	// reads, in order of appearance: a finding points at the first one
	// its resource's source sets.
	Reads []string
	// Expr is the check's CEL expression as written.
	Expr string
	// Subsumes are checks on the same element whose failures follow from
	// this one's (a wildcard rule grants whatever a narrower check looks
	// for): when both fail on one element, Fold keeps this check's finding.
	Subsumes []string

	expr    cel.Program
	message cel.Program
	secrets cel.Program
}

// Spec is the YAML form of a check.
type Spec struct {
	ID          string   `json:"id"`
	Pillar      string   `json:"pillar"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	References  []string `json:"references,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Input       string   `json:"input"`
	Kinds       []string `json:"kinds,omitempty"`
	Each        string   `json:"each,omitempty"`
	Field       string   `json:"field,omitempty"`
	// Expr is a CEL expression that is true when the check fails.
	Expr string `json:"expr"`
	// Message is an optional CEL expression giving the finding's message.
	Message string `json:"message,omitempty"`
	// Secrets is an optional CEL expression giving, when the check fails,
	// the values that are credentials (list of strings): the scan masks
	// their every occurrence, in every finding.
	Secrets string `json:"secrets,omitempty"`
	// Subsumes lists checks of the same input and iterator, defined in the
	// same pack or an earlier one, that this check's failure includes.
	Subsumes []string `json:"subsumes,omitempty"`
}

// Pack is the YAML form of a pack file.
type Pack struct {
	Checks []Spec `json:"checks"`
}

var idPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]*-[A-Z][A-Z0-9]*-[0-9]{3,}$`)

var iterators = map[string][]string{
	"kubernetes":  {"", "pod", "container", "volume", "rule", "subject", "port", "binding", "isolation", "namespace"},
	"dockerfile":  {"", "instruction", "stage"},
	"certificate": {""},
	// An image's configuration: each environment variable, each exposed port.
	"image": {"", "env", "port"},
	// A running process read from /proc.
	"process": {""},
	// A cloud resource in the normalised model (pkg/cloud), from IaC or a
	// provider's API; kinds restricts the resource kinds.
	"cloud": {""},
	// Checks whose logic is Go code (dependency vulnerabilities, secrets,
	// SAST); the pack holds their metadata and no expression.
	"analyzer": {""},
}

// compile validates a spec and compiles its programs.
func compile(env *cel.Env, s Spec, source string) (*Check, error) {
	if !idPattern.MatchString(s.ID) {
		return nil, fmt.Errorf("check %q: id must look like VGL-CLUSTER-001", s.ID)
	}
	pillar, err := finding.ParsePillar(s.Pillar)
	if err != nil || pillar == vigilv1.Pillar_PILLAR_UNSPECIFIED {
		return nil, fmt.Errorf("check %s: pillar %q: must be code, container, cluster or cloud", s.ID, s.Pillar)
	}
	sev, err := finding.ParseSeverity(s.Severity)
	if err != nil || sev == vigilv1.Severity_SEVERITY_UNSPECIFIED {
		return nil, fmt.Errorf("check %s: severity %q: must be info, low, medium, high or critical", s.ID, s.Severity)
	}
	its, ok := iterators[s.Input]
	if !ok {
		return nil, fmt.Errorf("check %s: unknown input %q", s.ID, s.Input)
	}
	validEach := false
	for _, e := range its {
		validEach = validEach || e == s.Each
	}
	if !validEach {
		return nil, fmt.Errorf("check %s: input %s has no iterator %q (want one of %s)", s.ID, s.Input, s.Each, strings.Join(its[1:], ", "))
	}
	if strings.TrimSpace(s.Title) == "" {
		return nil, fmt.Errorf("check %s: title is empty", s.ID)
	}
	c := &Check{
		ID: s.ID, Pillar: pillar, Severity: sev, Title: s.Title, Description: s.Description,
		Remediation: s.Remediation, References: s.References, Tags: s.Tags, Input: s.Input,
		Kinds: s.Kinds, Each: s.Each, Field: s.Field, Source: source, Subsumes: s.Subsumes, Reads: reads(s.Expr), Expr: s.Expr,
	}
	if s.Input == "analyzer" {
		if s.Expr != "" || s.Message != "" || s.Secrets != "" {
			return nil, fmt.Errorf("check %s: analyzer checks have no expr or message", s.ID)
		}
		return c, nil
	}
	c.expr, err = program(env, s.Expr, cel.BoolType)
	if err != nil {
		return nil, fmt.Errorf("check %s: expr: %w", s.ID, err)
	}
	if s.Message != "" {
		c.message, err = program(env, s.Message, cel.StringType)
		if err != nil {
			return nil, fmt.Errorf("check %s: message: %w", s.ID, err)
		}
	}
	if s.Secrets != "" {
		c.secrets, err = program(env, s.Secrets, cel.ListType(cel.StringType))
		if err != nil {
			return nil, fmt.Errorf("check %s: secrets: %w", s.ID, err)
		}
	}
	return c, nil
}

func program(env *cel.Env, src string, want *cel.Type) (cel.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	out := ast.OutputType()
	if !out.IsExactType(want) && !out.IsExactType(cel.DynType) &&
		!(want.Kind() == types.ListKind && out.IsExactType(cel.ListType(cel.DynType))) {
		return nil, fmt.Errorf("expression has type %s, want %s", out, want)
	}
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize))
}

// Fails evaluates the check against vars and reports whether it fails.
// Analyzer checks have no expression and never fail here.
func (c *Check) Fails(vars map[string]any) (bool, error) {
	if c.expr == nil {
		return false, nil
	}
	out, _, err := c.expr.Eval(activation(vars))
	if err != nil {
		return false, fmt.Errorf("check %s: %w", c.ID, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("check %s: expression returned %T, not bool", c.ID, out.Value())
	}
	return b, nil
}

// Message renders the finding message; it falls back to the title.
func (c *Check) Message(vars map[string]any) string {
	if c.message == nil {
		return c.Title
	}
	out, _, err := c.message.Eval(activation(vars))
	if err != nil {
		return c.Title
	}
	if s, ok := out.Value().(string); ok && s != "" {
		return s
	}
	return c.Title
}

// Secrets returns the credential values a failing check's element holds
// (none when the check declares no secrets expression, or it fails).
func (c *Check) Secrets(vars map[string]any) []string {
	if c.secrets == nil {
		return nil
	}
	out, _, err := c.secrets.Eval(activation(vars))
	if err != nil {
		return nil
	}
	native, err := out.ConvertToNative(reflect.TypeOf([]string{}))
	if err != nil {
		return nil
	}
	vs, _ := native.([]string)
	return vs
}

// Pod is how a Kubernetes object runs containers, for AppliesTo.
type Pod int

const (
	// NoPod is an object without a pod template.
	NoPod Pod = iota
	// Workload is a pod-bearing object of the cluster's users.
	Workload
	// ControlPlane is a static pod of the control plane (kube-apiserver,
	// etcd, …), which needs the host by design.
	ControlPlane
)

// AppliesTo reports whether a Kubernetes check applies to an object of
// kind that runs pods as pod says. "workload" in Kinds stands for every
// pod-bearing kind but the control plane's static pods, and a kind named
// outright (Pod) matches it; only "control-plane" matches those static
// pods. A check without Kinds applies to every object.
func (c *Check) AppliesTo(kind string, pod Pod) bool {
	if len(c.Kinds) == 0 {
		return true
	}
	for _, k := range c.Kinds {
		switch {
		case pod == ControlPlane:
			if k == "control-plane" {
				return true
			}
		case k == kind || (k == "workload" && pod == Workload):
			return true
		}
	}
	return false
}

// NewFinding is the one constructor of findings: the check's metadata, the
// message and the site, with the fingerprint computed from the site.
// Redaction, exemptions and deduplication follow in pipeline.Finish.
func (c *Check) NewFinding(message string, at finding.Site) *vigilv1.Finding {
	return &vigilv1.Finding{
		Fingerprint: at.Fingerprint(c.ID),
		Scanner:     at.Scanner,
		Resource:    at.Resource,
		Location:    at.Location,
		CheckId:     c.ID,
		Pillar:      c.Pillar,
		Severity:    c.Severity,
		Title:       c.Title,
		Message:     message,
		References:  append([]string(nil), c.References...),
		Tags:        append([]string(nil), c.Tags...),
		Remediation: c.Remediation,
	}
}

// resourceAttr is a read of a resource attribute in an expression.
var resourceAttr = regexp.MustCompile(`\bresource\.\??([a-z][a-z0-9_]*)`)

// reads lists the resource attributes an expression reads, each once, in
// order; the resource's identity (kind, type, address, …) is not one.
func reads(expr string) []string {
	var out []string
	for _, m := range resourceAttr.FindAllStringSubmatch(expr, -1) {
		switch a := m[1]; a {
		case "kind", "provider", "type", "address", "name":
		default:
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}
