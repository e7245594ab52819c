package report

import (
	"bytes"
	"strings"
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

func TestTextEscapesWhatATerminalWouldObey(t *testing.T) {
	for in, want := range map[string]string{
		"web":                       "web",
		"caf\u00e9":                 "caf\u00e9",
		"a\x1b[2J\x1b]0;pwned\x07b": `a\x1b[2J\x1b]0;pwned\x07b`,
		"row\nFAKE\tROW":            `row\nFAKE\tROW`,
		"evil\u202egnp.exe":         `evil\u202egnp.exe`,
		"bad\xffbyte":               `bad\xffbyte`,
		"c1\u009bcsi":               `c1\u009bcsi`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

// A resource named with escape sequences and line breaks cannot reach the
// terminal or forge a row of the table.
func TestTableEscapesHostileFields(t *testing.T) {
	rep := &vigilv1.ScanReport{Findings: []*vigilv1.Finding{{CheckId: "VGL-CLUSTER-001", Severity: vigilv1.Severity_SEVERITY_HIGH,
		Message:  "privileged\x1b[31m",
		Resource: &vigilv1.Resource{Kind: "Pod", Name: "web\x1b]0;owned\x07\nCRITICAL\tVGL-FAKE"},
		Location: &vigilv1.Location{Path: "p\x1b[2J.yaml", StartLine: 3}}}}
	var out bytes.Buffer
	if err := Table(&out, rep, Style{}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Fatalf("control characters reach the terminal:\n%q", out.String())
	}
	if strings.Count(out.String(), "VGL-") != 2 || !strings.Contains(out.String(), `\nCRITICAL\tVGL-FAKE`) {
		t.Fatalf("a forged row:\n%s", out.String())
	}
}
