package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// SARIF 2.1.0 object model, the subset code-scanning tools read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
	// Extensions are the analyzers that ran, each a tool component with
	// its own version (SARIF 2.1.0 §3.18.3).
	Extensions []sarifComponent `json:"extensions,omitempty"`
}

type sarifComponent struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	RelatedLocations    []sarifLocation   `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	// Suppressions records an exemption declared at the source (SARIF
	// 2.1.0 §3.35): the result stays, marked as accepted.
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	// Properties carry what SARIF has no field for: the CVSS score and
	// vector of a vulnerability, and whether the program reaches it.
	Properties map[string]any `json:"properties,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation struct {
		URI string `json:"uri"`
	} `json:"artifactLocation"`
	Region *sarifRegion `json:"region,omitempty"`
}

type sarifRegion struct {
	StartLine int32      `json:"startLine"`
	EndLine   int32      `json:"endLine,omitempty"`
	Snippet   *sarifText `json:"snippet,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

// SARIF writes a scan report as SARIF 2.1.0. Rules come from the catalog
// when it knows the check, else from the finding itself.
func SARIF(w io.Writer, rep *vigilv1.ScanReport, cat *checks.Catalog, version string) error {
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: "vigil", InformationURI: "https://github.com/vigilsec/vigil", Version: version, Rules: []sarifRule{}}},
		Results:     []sarifResult{},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true, ToolExecutionNotifications: []sarifNotification{}}},
	}
	for _, a := range rep.GetAnalyzers() {
		name, v, _ := strings.Cut(a, "/")
		run.Tool.Extensions = append(run.Tool.Extensions, sarifComponent{Name: name, Version: strings.TrimPrefix(v, "v")})
	}
	ruleIndex := map[string]int{}
	for _, f := range rep.Findings {
		idx, ok := ruleIndex[f.CheckId]
		if !ok {
			idx = len(run.Tool.Driver.Rules)
			ruleIndex[f.CheckId] = idx
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, ruleFor(f, cat))
		}
		loc := sarifLocation{}
		loc.PhysicalLocation.ArtifactLocation.URI = strings.TrimPrefix(f.GetLocation().GetPath(), "./")
		if l := f.GetLocation(); l.GetStartLine() > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: l.StartLine, EndLine: l.EndLine}
			if l.Snippet != "" {
				loc.PhysicalLocation.Region.Snippet = &sarifText{Text: l.Snippet}
			}
		}
		r := sarifResult{
			RuleID: f.CheckId, RuleIndex: idx, Level: level(f.Severity), Message: sarifText{Text: f.Message},
			Locations:           []sarifLocation{loc},
			PartialFingerprints: map[string]string{"vigilFingerprint/v1": f.Fingerprint},
		}
		for _, e := range f.Evidence {
			rl := sarifLocation{}
			rl.PhysicalLocation.ArtifactLocation.URI = strings.TrimPrefix(e, "./")
			r.RelatedLocations = append(r.RelatedLocations, rl)
		}
		if e := f.Exemption; e != nil {
			r.Suppressions = []sarifSuppression{{Kind: "inSource", Justification: e.Reason}}
		}
		r.Properties = resultProperties(f)
		run.Results = append(run.Results, r)
	}
	inv := &run.Invocations[0]
	note := func(level string, e *vigilv1.ScanError, text string) {
		n := sarifNotification{Level: level, Message: sarifText{Text: text}}
		l := sarifLocation{}
		l.PhysicalLocation.ArtifactLocation.URI = strings.TrimPrefix(e.Path, "./")
		n.Locations = []sarifLocation{l}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	// A target or a unit that could not be assessed makes the run
	// unsuccessful: code scanning must not show it as a clean pass.
	for _, e := range rep.FailedTargets {
		inv.ExecutionSuccessful = false
		note("error", e, "target not scanned: "+e.Error)
	}
	for _, e := range rep.GetCoverage().GetNotAssessed() {
		inv.ExecutionSuccessful = false
		note("error", e, "not assessed ("+pipeline.ReasonName(e.Reason)+"): "+e.Error)
	}
	if c := rep.GetCoverage(); c.GetUnitsNotAssessed() > uint64(len(c.GetNotAssessed())) {
		inv.ExecutionSuccessful = false
	}
	for _, c := range rep.GetCoverage().GetChecksNotRun() {
		inv.ExecutionSuccessful = false
		n := sarifNotification{Level: "error", Message: sarifText{Text: fmt.Sprintf("check %s could not run on %d unit(s) (%s): %s",
			c.CheckId, c.Units, pipeline.ReasonName(c.Reason), c.Detail)}}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	for _, e := range rep.Errors {
		note("warning", e, e.Error)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func ruleFor(f *vigilv1.Finding, cat *checks.Catalog) sarifRule {
	r := sarifRule{
		ID: f.CheckId, Name: f.CheckId, ShortDescription: sarifText{Text: f.Title}, FullDescription: sarifText{Text: f.Title},
		Help:                 sarifText{Text: f.Remediation},
		DefaultConfiguration: map[string]any{"level": level(f.Severity)},
		Properties:           map[string]any{"tags": append([]string{"security"}, f.Tags...), "security-severity": securitySeverity(f.Severity)},
	}
	if cat != nil {
		if c, ok := cat.Get(f.CheckId); ok && c.Description != "" {
			r.FullDescription = sarifText{Text: c.Description}
		}
	}
	if r.Help.Text == "" {
		r.Help.Text = f.Title
	}
	return r
}

func level(s vigilv1.Severity) string {
	switch {
	case s >= vigilv1.Severity_SEVERITY_HIGH:
		return "error"
	case s == vigilv1.Severity_SEVERITY_MEDIUM:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity maps severities onto the CVSS-like scale code scanning
// uses to rank results.
func securitySeverity(s vigilv1.Severity) string {
	switch s {
	case vigilv1.Severity_SEVERITY_CRITICAL:
		return "9.5"
	case vigilv1.Severity_SEVERITY_HIGH:
		return "8.0"
	case vigilv1.Severity_SEVERITY_MEDIUM:
		return "5.5"
	case vigilv1.Severity_SEVERITY_LOW:
		return "3.0"
	}
	return "0.0"
}

// resultProperties are a result's vulnerability details, nil for a
// finding without any.
func resultProperties(f *vigilv1.Finding) map[string]any {
	p := map[string]any{}
	if f.CvssVector != "" {
		p["cvssScore"], p["cvssVector"] = f.CvssScore, f.CvssVector
	}
	switch f.Reachability {
	case vigilv1.Reachability_REACHABILITY_REACHABLE:
		p["reachability"] = "reachable"
	case vigilv1.Reachability_REACHABILITY_NOT_REACHABLE:
		p["reachability"] = "not-reachable"
	case vigilv1.Reachability_REACHABILITY_UNKNOWN:
		p["reachability"] = "unknown"
	}
	if f.ReachabilityDetail != "" {
		p["reachabilityDetail"] = f.ReachabilityDetail
	}
	if len(p) == 0 {
		return nil
	}
	return p
}
