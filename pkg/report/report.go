// Package report writes scan reports and stored findings as tables, JSON
// (protobuf JSON with proto field names) and SARIF 2.1.0.
package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/ocsf"
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

// Table writes a scan report as a table, most severe first, followed by
// its errors and what it could not assess.
func Table(w io.Writer, rep *vigilv1.ScanReport, st Style) error {
	g := &grid{cols: []column{{head: "SEVERITY", severity: true}, {head: "CHECK"}, {head: "TITLE", flex: true}, {head: "RESOURCE", flex: true}, {head: "LOCATION", flex: true}}}
	if st.Wide {
		g.cols = append(g.cols, column{head: "MESSAGE", flex: true})
	}
	fs := slices.Clone(rep.Findings)
	slices.SortStableFunc(fs, bySeverity)
	exempt := 0
	for _, f := range fs {
		if f.Exemption != nil {
			exempt++
		}
		loc := location(f.Location)
		if n := len(f.Evidence); n > 0 {
			loc += fmt.Sprintf(" (+%d more)", n)
		}
		cells := []string{strings.ToUpper(finding.SeverityName(f.Severity)), f.CheckId, Title(f), resourceCell(f), loc}
		if st.Wide {
			cells = append(cells, oneLine(f.Message))
		}
		g.add(cells...)
	}
	if err := g.write(w, st); err != nil {
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

// oneLine puts text on one line; wrapping is the table's.
func oneLine(s string) string {
	return strings.ReplaceAll(s, "\n", " ")
}

// StoredTable writes stored findings as a table, in the order given. Its
// ID column is the fingerprint's first ShortID digits, which findings get
// accepts; --wide shows the whole finding id and every column.
func StoredTable(w io.Writer, fs []*vigilv1.StoredFinding, st Style) error {
	g := &grid{cols: []column{{head: "ID"}, {head: "SEVERITY", severity: true}, {head: "STATUS"}, {head: "TITLE", flex: true}, {head: "RESOURCE", flex: true}, {head: "LOCATION", flex: true}}}
	if st.Wide {
		g.cols = append(g.cols, column{head: "CHECK"}, column{head: "TENANT"}, column{head: "AGENT"}, column{head: "FIRST SEEN"}, column{head: "SEEN"}, column{head: "MESSAGE", flex: true})
	}
	for _, s := range fs {
		f := s.GetFinding()
		id := f.GetFingerprint()
		if st.Wide {
			id = s.GetId()
		} else if len(id) > ShortID {
			id = id[:ShortID]
		}
		cells := []string{id, strings.ToUpper(finding.SeverityName(f.GetSeverity())), strings.ToUpper(finding.StatusName(s.GetStatus())),
			Title(f), resourceCell(f), location(f.GetLocation())}
		if st.Wide {
			cells = append(cells, f.GetCheckId(), f.GetResource().GetTenant(), s.GetScope().GetAgent(),
				s.GetFirstSeen().AsTime().UTC().Format("2006-01-02 15:04"), fmt.Sprint(s.GetTimesSeen()), oneLine(f.GetMessage()))
		}
		g.add(cells...)
	}
	return g.write(w, st)
}

// ShortID is how many digits of a fingerprint a table shows as its id.
const ShortID = 12

// bySeverity orders findings most severe first, then by check, resource
// and place.
func bySeverity(a, b *vigilv1.Finding) int {
	return cmp.Or(cmp.Compare(b.GetSeverity(), a.GetSeverity()), cmp.Compare(a.GetCheckId(), b.GetCheckId()),
		cmp.Compare(ResourceName(a.GetResource()), ResourceName(b.GetResource())),
		cmp.Compare(a.GetLocation().GetPath(), b.GetLocation().GetPath()), cmp.Compare(a.GetLocation().GetStartLine(), b.GetLocation().GetStartLine()))
}

// SortStored orders stored findings as tables show them: most severe
// first, then by check, resource and place.
func SortStored(fs []*vigilv1.StoredFinding) {
	slices.SortStableFunc(fs, func(a, b *vigilv1.StoredFinding) int { return bySeverity(a.GetFinding(), b.GetFinding()) })
}

// Title is what a table row says a finding is: for a vulnerable package
// its advisory (a CVE where the advisory has one) and the fixed version;
// otherwise the check's title (its message when it has none); an
// exemption declared at the source is marked in front.
func Title(f *vigilv1.Finding) string {
	t := f.GetTitle()
	if p := f.GetPackage(); p != nil {
		t = advisoryOf(f)
		switch {
		case p.GetFixedVersion() != "":
			t += ", fixed in " + p.GetFixedVersion()
		default:
			t += ", no fix yet"
		}
	}
	if t == "" {
		t = f.GetMessage()
	}
	if e := f.GetExemption(); e != nil {
		t = "[exempt: " + e.GetReason() + until(e) + "] " + t
	}
	return oneLine(t)
}

// advisoryOf is the advisory a package finding names: its CVE when it has
// one, else its first advisory id.
func advisoryOf(f *vigilv1.Finding) string {
	first := ""
	for _, r := range f.GetReferences() {
		if !ocsf.IsAdvisory(r) {
			continue
		}
		if strings.HasPrefix(r, "CVE-") {
			return r
		}
		if first == "" {
			first = r
		}
	}
	if first == "" {
		first = f.GetCheckId()
	}
	return first
}

// resourceCell is a row's resource: a package as name@version, anything
// else as kind/namespace/name.
func resourceCell(f *vigilv1.Finding) string {
	if p := f.GetPackage(); p != nil {
		return p.GetName() + "@" + p.GetVersion()
	}
	return ResourceName(f.GetResource())
}

func until(e *vigilv1.Exemption) string {
	if e.Expires == nil {
		return ""
	}
	return ", until " + e.Expires.AsTime().UTC().Format("2006-01-02")
}
