package store

import (
	"encoding/hex"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// view turns a record into the StoredFinding clients see, deriving last
// seen and times seen from the scope for present findings.
// The result shares the record's sub-messages, which are never changed once
// written.
func view(key []byte, rec *vigilv1.FindingRecord, sr *vigilv1.ScopeRecord) *vigilv1.StoredFinding {
	st := rec.Stored
	out := &vigilv1.StoredFinding{
		Id: hex.EncodeToString(key), Finding: st.Finding, Status: st.Status, FirstSeen: st.FirstSeen,
		LastSeen: st.LastSeen, TimesSeen: st.TimesSeen, LastChange: st.LastChange, Scope: st.Scope, ResolvedAt: st.ResolvedAt,
		Suppression: st.Suppression, Resolution: st.Resolution, History: st.History,
	}
	if sr != nil && sr.Scope != nil {
		out.Scope = sr.Scope // records do not repeat their scope
	}
	if present(st.Status) {
		fillSeen(&vigilv1.FindingRecord{Stored: out, SinceScan: rec.SinceScan}, sr)
	}
	return out
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
