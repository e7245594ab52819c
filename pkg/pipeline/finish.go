package pipeline

import (
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Finish is the one path findings leave a scan by, after the one
// constructor (checks.Check.NewFinding) built and fingerprinted them. In
// this order: the snippet of a secret finding is redacted, every string is
// made valid UTF-8, a finding exempt by the target's own ignore rules
// (exempt, nil for none) is dropped, and one finding is kept per
// fingerprint. It reuses the backing array of fs.
func Finish(fs []*vigilv1.Finding, exempt func(*vigilv1.Finding) bool) []*vigilv1.Finding {
	for _, f := range fs {
		finding.RedactSecrets(f)
		finding.Sanitize(f)
	}
	if exempt != nil {
		kept := fs[:0]
		for _, f := range fs {
			if !exempt(f) {
				kept = append(kept, f)
			}
		}
		fs = kept
	}
	return Unique(fs)
}

// Unique drops findings whose fingerprint came before (the same file
// reached through two targets, or one field reported twice), keeping the
// first. It reuses the backing array of fs.
func Unique(fs []*vigilv1.Finding) []*vigilv1.Finding {
	seen := make(map[string]bool, len(fs))
	out := fs[:0]
	for _, f := range fs {
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		out = append(out, f)
	}
	return out
}
