package store

import (
	"encoding/hex"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// view turns a record into the StoredFinding clients see, deriving last
// seen and times seen from the scope for present findings.
func view(key []byte, rec *vigilv1.FindingRecord, sr *vigilv1.ScopeRecord) *vigilv1.StoredFinding {
	r := proto.Clone(rec).(*vigilv1.FindingRecord)
	if present(r.Stored.Status) {
		fillSeen(r, sr)
	}
	r.Stored.Id = hex.EncodeToString(key)
	return r.Stored
}

// fillSeen sets last seen and times seen of a present finding from its
// scope: it was reported by every completed scan since it (re)opened.
func fillSeen(r *vigilv1.FindingRecord, sr *vigilv1.ScopeRecord) {
	s := r.Stored
	var scans uint64
	if sr != nil {
		scans = sr.Scans
	}
	if scans+1 > r.SinceScan {
		s.TimesSeen = scans + 1 - r.SinceScan
	} else {
		s.TimesSeen = 0
	}
	if s.TimesSeen == 0 {
		s.TimesSeen = 1
		s.LastSeen = s.LastChange
		return
	}
	s.LastSeen = sr.LastScanTime
	if s.LastSeen == nil || (s.LastChange != nil && s.LastSeen.AsTime().Before(s.LastChange.AsTime())) {
		s.LastSeen = s.LastChange
	}
}
