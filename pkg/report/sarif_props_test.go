package report

import (
	"testing"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

func TestResultPropertiesCarryReachability(t *testing.T) {
	f := &vigilv1.Finding{CvssScore: 7.5, CvssVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
		Reachability: vigilv1.Reachability_REACHABILITY_REACHABLE, ReachabilityDetail: "main.main → yaml.Unmarshal"}
	p := resultProperties(f)
	if p["reachability"] != "reachable" || p["reachabilityDetail"] != "main.main → yaml.Unmarshal" || p["cvssScore"] != float32(7.5) {
		t.Errorf("properties %v", p)
	}
	if p := resultProperties(&vigilv1.Finding{}); p != nil {
		t.Errorf("a finding without vulnerability details has properties %v", p)
	}
}
