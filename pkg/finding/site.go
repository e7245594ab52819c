package finding

import vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"

// Site is where a finding is and what tells it apart from the other
// findings of its check there. The one finding constructor
// (checks.Check.NewFinding) fills it in and computes the fingerprint from
// it, so no scanner spells a fingerprint of its own.
type Site struct {
	// Scanner is the name of the scanner that found it.
	Scanner string
	// Resource is the resource shown with the finding.
	Resource *vigilv1.Resource
	// Location is the place shown with the finding (path, lines, snippet).
	Location *vigilv1.Location
	// Identity is the resource the fingerprint names when it is not
	// Resource: an image by digest alone, whatever name it was pulled by.
	Identity *vigilv1.Resource
	// Path is the path the fingerprint names. It is given apart from
	// Location.Path because the shown path may carry what must not change
	// the identity (a commit, a registry name).
	Path string
	// Key tells apart the findings of one check at one resource and path
	// (a field path, a rule and secret hash, a package version).
	Key string
}

// Fingerprint is the identity of a finding of checkID at the site.
func (s Site) Fingerprint(checkID string) string {
	id := s.Identity
	if id == nil {
		id = s.Resource
	}
	return Fingerprint(checkID, id, s.Path, s.Key)
}
