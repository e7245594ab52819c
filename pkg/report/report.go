// Package report writes scan reports and stored findings as tables, JSON
// (protobuf JSON with proto field names) and SARIF 2.1.0.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
)

// JSONOptions is the protobuf JSON encoding used for every JSON output:
// proto field names, enums by name, empty lists present.
var JSONOptions = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// WriteJSON writes one message as indented protobuf JSON and a newline.
// The encoder's output is re-indented so the bytes are stable.
func WriteJSON(w io.Writer, m proto.Message) error {
	b, err := JSONOptions.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// Table writes a scan report as an aligned table followed by its errors.
func Table(w io.Writer, rep *vigilv1.ScanReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tCHECK\tRESOURCE\tLOCATION\tMESSAGE")
	exempt := 0
	for _, f := range rep.Findings {
		msg := oneLine(f.Message)
		if e := f.Exemption; e != nil {
			exempt++
			msg = "[exempt: " + oneLine(e.Reason) + until(e) + "] " + msg
		}
		loc := location(f.Location)
		if n := len(f.Evidence); n > 0 {
			loc += fmt.Sprintf(" (+%d more)", n)
		}
		Row(tw, strings.ToUpper(finding.SeverityName(f.Severity)), f.CheckId, ResourceName(f.Resource), loc, msg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d findings", len(rep.Findings))
	if exempt > 0 {
		fmt.Fprintf(w, " (%d exempt by annotation)", exempt)
	}
	fmt.Fprintln(w)
	section := func(title string, es []*vigilv1.ScanError, reason bool) {
		if len(es) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		for _, e := range es {
			// Errors usually start with the path; it is printed once.
			msg := oneLine(strings.TrimPrefix(e.Error, e.Path+": "))
			if reason && e.Reason != 0 {
				fmt.Fprintf(w, "  %s: %s: %s\n", Text(e.Path), pipeline.ReasonName(e.Reason), Text(msg))
			} else {
				fmt.Fprintf(w, "  %s: %s\n", Text(e.Path), Text(msg))
			}
		}
	}
	section("targets not scanned", rep.FailedTargets, false)
	section("not assessed", rep.GetCoverage().GetNotAssessed(), true)
	section("notices", rep.Errors, false)
	if cs := rep.GetCoverage().GetChecksNotRun(); len(cs) > 0 {
		fmt.Fprintln(w, "checks that could not run:")
		for _, c := range cs {
			fmt.Fprintf(w, "  %s on %d unit(s): %s\n", Text(c.CheckId), c.Units, Text(oneLine(c.Detail)))
		}
	}
	_, err := fmt.Fprintln(w, CoverageLine(rep))
	return err
}

// CoverageLine is the last line of a table: what the scan assessed.
func CoverageLine(rep *vigilv1.ScanReport) string {
	c := rep.GetCoverage()
	kind := c.GetUnitKind()
	if kind == "" {
		kind = "unit"
	}
	line := fmt.Sprintf("assessed %d of %d %s; %d not assessed", c.GetUnitsAssessed(), c.GetUnitsAttempted(), plural(kind, c.GetUnitsAttempted()), c.GetUnitsNotAssessed())
	if n := len(rep.GetFailedTargets()); n > 0 {
		line += fmt.Sprintf("; %d %s not scanned", n, plural("target", uint64(n)))
	}
	if c.GetUnitsNotAssessed() > 0 || len(rep.GetFailedTargets()) > 0 {
		line += " (see --format json)"
	}
	return line
}

// plural adds an s to a kind of unit for any count but one.
func plural(kind string, n uint64) string {
	if n == 1 {
		return kind
	}
	return kind + "s"
}

// ResourceName renders a resource as kind/namespace/name.
func ResourceName(r *vigilv1.Resource) string {
	if r == nil {
		return ""
	}
	parts := []string{}
	if r.Kind != "" {
		parts = append(parts, r.Kind)
	}
	if r.Namespace != "" {
		parts = append(parts, r.Namespace)
	}
	if r.Name != "" && r.Name != r.Uri {
		parts = append(parts, r.Name)
	}
	if len(parts) == 0 {
		return r.Uri
	}
	return strings.Join(parts, "/")
}

func location(l *vigilv1.Location) string {
	if l == nil {
		return ""
	}
	if l.StartLine > 0 {
		return fmt.Sprintf("%s:%d", l.Path, l.StartLine)
	}
	return l.Path
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// StoredTable writes stored findings as a table.
func StoredTable(w io.Writer, fs []*vigilv1.StoredFinding) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tSEVERITY\tCHECK\tTENANT\tRESOURCE\tLOCATION\tSEEN\tID")
	for _, s := range fs {
		f := s.Finding
		Row(tw, strings.ToUpper(finding.StatusName(s.Status)), strings.ToUpper(finding.SeverityName(f.GetSeverity())), f.GetCheckId(),
			f.GetResource().GetTenant(), ResourceName(f.GetResource()), location(f.GetLocation()), s.TimesSeen, s.Id)
	}
	return tw.Flush()
}

func until(e *vigilv1.Exemption) string {
	if e.Expires == nil {
		return ""
	}
	return ", until " + e.Expires.AsTime().UTC().Format("2006-01-02")
}
