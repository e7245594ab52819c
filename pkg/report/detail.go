package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// FindingDetail writes one stored finding in full: what and where it is,
// its description, remediation and references, its package, its lifecycle
// and every scope that holds its fingerprint. Long text wraps to the
// style's width.
func FindingDetail(w io.Writer, sf *vigilv1.StoredFinding, occurrences []*vigilv1.StoredFinding, st Style) error {
	f := sf.GetFinding()
	var b strings.Builder
	sev := strings.ToUpper(finding.SeverityName(f.GetSeverity()))
	if code := severityColor[sev]; st.Color && code != "" {
		sev = code + sev + "\x1b[0m"
	}
	fmt.Fprintf(&b, "%s  %s  %s\n", sev, Text(f.GetCheckId()), Text(Title(f)))
	g := &grid{cols: []column{{head: ""}, {head: "", flex: true}}}
	field := func(name, value string) {
		if value != "" {
			g.add(name, value)
		}
	}
	field("ID", sf.GetId())
	field("Fingerprint", f.GetFingerprint())
	field("Status", strings.ToUpper(finding.StatusName(sf.GetStatus()))+resolution(sf))
	field("Pillar", finding.PillarName(f.GetPillar()))
	field("Tenant", f.GetResource().GetTenant())
	field("Account", f.GetResource().GetAccount())
	field("Resource", ResourceName(f.GetResource()))
	field("Location", location(f.GetLocation()))
	if p := f.GetPackage(); p != nil {
		fixed := p.GetFixedVersion()
		if fixed == "" {
			fixed = "no fix known"
		}
		field("Package", fmt.Sprintf("%s %s (%s), fixed in %s", p.GetName(), p.GetVersion(), p.GetEcosystem(), fixed))
	}
	if f.GetCvssScore() > 0 {
		field("CVSS", fmt.Sprintf("%.1f %s", f.GetCvssScore(), f.GetCvssVector()))
	}
	if r := f.GetReachability(); r != vigilv1.Reachability_REACHABILITY_UNSPECIFIED {
		field("Reachability", strings.ToLower(strings.TrimPrefix(r.String(), "REACHABILITY_"))+": "+f.GetReachabilityDetail())
	}
	field("Scanner", f.GetScanner())
	if s := sf.GetSuppression(); s != nil {
		field("Suppressed", s.GetReason()+" ("+s.GetAuthor()+until(&vigilv1.Exemption{Expires: s.GetExpires()})+")")
	}
	field("Seen", fmt.Sprintf("%d %s, first %s, last %s", sf.GetTimesSeen(), plural("time", sf.GetTimesSeen()), when(sf.GetFirstSeen().AsTime()), when(sf.GetLastSeen().AsTime())))
	plain := Style{Width: st.Width}
	if err := g.writeBody(&b, plain); err != nil {
		return err
	}
	section := func(title string, lines ...string) {
		if len(lines) == 0 || (len(lines) == 1 && lines[0] == "") {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, l := range lines {
			for _, part := range wrap(Text(l), max(st.Width-2, 0)) {
				fmt.Fprintf(&b, "  %s\n", part)
			}
		}
	}
	section("Description", f.GetMessage())
	section("Evidence", f.GetEvidence()...)
	section("Remediation", f.GetRemediation())
	section("References", f.GetReferences()...)
	history := []string{fmt.Sprintf("%s  opened", when(sf.GetFirstSeen().AsTime()))}
	for _, t := range sf.GetHistory() {
		line := when(t.GetTime().AsTime()) + "  " + strings.ToLower(strings.TrimPrefix(t.GetType().String(), "EVENT_TYPE_"))
		if t.GetDetail() != "" {
			line += ": " + t.GetDetail()
		}
		history = append(history, line)
	}
	section("History", history...)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(occurrences) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nSeen by %d %s:\n", len(occurrences), plural("scope", uint64(len(occurrences))))
	og := &grid{cols: []column{{head: "AGENT"}, {head: "SCANNER"}, {head: "TARGET", flex: true}, {head: "STATUS"}, {head: "FIRST SEEN"}, {head: "LAST SEEN"}, {head: "ID"}}}
	for _, o := range occurrences {
		id := o.GetId()
		if !st.Wide && len(id) > ShortID {
			id = id[:ShortID] + "…"
		}
		og.add(o.GetScope().GetAgent(), o.GetScope().GetScanner(), o.GetScope().GetTarget(), strings.ToUpper(finding.StatusName(o.GetStatus())),
			when(o.GetFirstSeen().AsTime()), when(o.GetLastSeen().AsTime()), id)
	}
	return og.write(w, Style{Width: st.Width, Wide: st.Wide})
}

// resolution is how a resolved finding came to be resolved.
func resolution(sf *vigilv1.StoredFinding) string {
	if sf.GetStatus() != vigilv1.Status_STATUS_RESOLVED {
		return ""
	}
	if r := sf.GetResolution(); r != "" {
		return " (" + r + ")"
	}
	return " (no longer reported)"
}

func when(t time.Time) string {
	if t.Unix() <= 0 {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
