package pipeline

import (
	"slices"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Finish is the one path the findings of a scan leave by, after the one
// constructor (checks.Check.NewFinding) built and fingerprinted them.
// groups are the findings per analyzer; secrets what the analyzers noted
// as secret (nil for none). In this order: a secret a check reports and
// the secret rules match again in the same file is kept as the check's
// finding alone (fold); the secrets every finding shows
// by its form are learned; every occurrence of every secret is masked in
// every string of every finding and in the ledger's texts (ledger may be
// nil); the snippet of a secret finding is redacted; every string is made
// valid UTF-8; a finding exempt by the target's own ignore rules (exempt,
// nil for none) is dropped; one finding is kept per fingerprint. It
// rewrites groups in place.
func Finish(groups map[string][]*vigilv1.Finding, exempt func(*vigilv1.Finding) bool, secrets *Secrets, ledger *Ledger) {
	if secrets == nil {
		secrets = &Secrets{}
	}
	secrets.fold(groups)
	for _, fs := range groups {
		for _, f := range fs {
			secrets.Learn(f)
		}
	}
	redact := secrets.redactor()
	if ledger != nil && redact != nil {
		ledger.redact(redact)
	}
	for name, fs := range groups {
		for _, f := range fs {
			if redact != nil {
				// The identities are hashes of the finding, not text about
				// it; every other string is made valid and masked.
				fp, sh := f.Fingerprint, f.SecretHash
				finding.MapStrings(f, func(s string) string { return redact(strings.ToValidUTF8(s, "\uFFFD")) })
				f.Fingerprint, f.SecretHash = fp, sh
			} else {
				finding.Sanitize(f)
			}
			finding.RedactSecrets(f)
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
		groups[name] = Unique(fs)
	}
}

// Unique drops findings whose fingerprint came before (the same file
// reached through two targets, one weakness of a service seen at two
// URLs, or one field reported twice), keeping the first; the places the
// dropped ones were seen join its evidence. It reuses the backing array
// of fs.
func Unique(fs []*vigilv1.Finding) []*vigilv1.Finding {
	seen := make(map[string]*vigilv1.Finding, len(fs))
	out := fs[:0]
	for _, f := range fs {
		if first := seen[f.Fingerprint]; first != nil {
			addEvidence(first, f.GetLocation().GetPath())
			for _, e := range f.Evidence {
				addEvidence(first, e)
			}
			continue
		}
		seen[f.Fingerprint] = f
		out = append(out, f)
	}
	return out
}

// MaxEvidence bounds the evidence a finding carries.
const MaxEvidence = 20

// addEvidence adds a place to f's evidence unless it is f's own location,
// is there already, or the evidence is full.
func addEvidence(f *vigilv1.Finding, place string) {
	if place == "" || place == f.GetLocation().GetPath() || len(f.Evidence) >= MaxEvidence || slices.Contains(f.Evidence, place) {
		return
	}
	f.Evidence = append(f.Evidence, place)
}
