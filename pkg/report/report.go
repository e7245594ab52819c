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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(finding.SeverityName(f.Severity)), f.CheckId,
			ResourceName(f.Resource), location(f.Location), msg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d findings", len(rep.Findings))
	if exempt > 0 {
		fmt.Fprintf(w, " (%d exempt by annotation)", exempt)
	}
	if len(rep.Errors) > 0 {
		fmt.Fprintf(w, ", %d errors:\n", len(rep.Errors))
		for _, e := range rep.Errors {
			fmt.Fprintf(w, "  %s: %s\n", e.Path, e.Error)
		}
		return nil
	}
	_, err := fmt.Fprintln(w)
	return err
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", strings.ToUpper(finding.StatusName(s.Status)),
			strings.ToUpper(finding.SeverityName(f.GetSeverity())), f.GetCheckId(), f.GetResource().GetTenant(),
			ResourceName(f.GetResource()), location(f.GetLocation()), s.TimesSeen, s.Id)
	}
	return tw.Flush()
}

func until(e *vigilv1.Exemption) string {
	if e.Expires == nil {
		return ""
	}
	return ", until " + e.Expires.AsTime().UTC().Format("2006-01-02")
}
