package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

func TestPurgeRemovesOldResolvedOnly(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	t0 := time.Unix(1_700_000_000, 0)
	var fs []*vigilv1.Finding
	var set []string
	for i := range 50 {
		f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, i)
		fs = append(fs, f)
		set = append(set, f.Fingerprint)
	}
	scan(t, s, scope, "s1", true, fs, nil, set, t0)
	var gone []string
	for _, f := range fs[:20] {
		gone = append(gone, f.Fingerprint)
	}
	// 20 resolve at day 1, 10 more at day 10.
	scan(t, s, scope, "s2", false, nil, gone, set[20:], t0.Add(24*time.Hour))
	var gone2 []string
	for _, f := range fs[20:30] {
		gone2 = append(gone2, f.Fingerprint)
	}
	scan(t, s, scope, "s3", false, nil, gone2, set[30:], t0.Add(240*time.Hour))

	n, err := s.Purge(t0.Add(5*24*time.Hour), 7) // small batches cross transaction edges
	if err != nil || n != 20 {
		t.Fatalf("purge = %d, %v; want 20", n, err)
	}
	verify(t, s)
	if _, err := s.Get(fs[0].Fingerprint); err == nil {
		t.Fatal("purged finding still readable")
	}
	if got := statusOf(t, s, fs[25].Fingerprint); got.Status != vigilv1.Status_STATUS_RESOLVED {
		t.Fatalf("recently resolved finding = %v", got.Status)
	}
	sum, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{Statuses: []vigilv1.Status{vigilv1.Status_STATUS_RESOLVED}})
	open, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{})
	if sum.Total != 10 || open.Total != 20 {
		t.Fatalf("after purge: resolved %d open %d", sum.Total, open.Total)
	}
	// The scope still works: a purged finding that comes back opens anew.
	evs := scan(t, s, scope, "s4", false, []*vigilv1.Finding{fs[0]}, nil, append(set[30:], fs[0].Fingerprint), t0.Add(300*time.Hour))
	if types(evs)[vigilv1.EventType_EVENT_TYPE_OPENED] != 1 {
		t.Fatalf("comeback after purge: %v", types(evs))
	}
	verify(t, s)
}

func TestVerifyNoticesDamage(t *testing.T) {
	s := openTemp(t)
	scope := &vigilv1.Scope{Tenant: "acme", Agent: "a1", Scanner: "kubernetes", Target: "./m"}
	f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 1)
	scan(t, s, scope, "s1", true, []*vigilv1.Finding{f}, nil, []string{f.Fingerprint}, time.Unix(1_700_000_000, 0))
	verify(t, s)
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bIdxClass).Cursor()
		k, _ := c.First()
		return tx.Bucket(bIdxClass).Delete(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(); err == nil {
		t.Fatal("a missing index entry went unnoticed")
	}
}

func fillStore(t testing.TB, s *Store, scopes, perScope int, at time.Time) {
	for sc := range scopes {
		scope := &vigilv1.Scope{Tenant: fmt.Sprintf("t%d", sc%3), Agent: fmt.Sprintf("a%d", sc), Scanner: "kubernetes", Target: "/srv"}
		for off := 0; off < perScope; off += 2000 {
			var batch []*vigilv1.Finding
			for i := off; i < min(off+2000, perScope); i++ {
				batch = append(batch, mkFinding(scope.Tenant, fmt.Sprintf("VGL-CLUSTER-%03d", i%40), vigilv1.Severity(1+i%5), sc*perScope+i))
			}
			err := s.Update(func(w *Writer) error {
				return w.ApplyBatch(&vigilv1.FindingBatch{ScanId: "s1", Seq: uint32(off/2000 + 1), Scope: scope, Full: true, Findings: batch}, at)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "vigil.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Unix(1_700_000_000, 0)
	fillStore(t, s, 10, 10_000, at)
	want, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{ByTenant: true})
	if want.Total != 100_000 {
		t.Fatalf("filled %d findings", want.Total)
	}
	// The snapshot streams while a writer keeps going: it is consistent
	// as of its read transaction.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.WriteTo(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	fillStore(t, s, 1, 10, at) // a write during the snapshot
	snap := filepath.Join(dir, "snap.db")
	out, _ := os.Create(snap)
	if _, err := io.Copy(out, pr); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "restored", "vigil.db")
	os.MkdirAll(filepath.Dir(target), 0o700)
	os.WriteFile(target, []byte("old"), 0o600)
	if err := Restore(snap, target); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target + ".before-restore"); string(b) != "old" {
		t.Fatal("restore did not keep the previous file")
	}
	r, err := Open(target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, _ := r.Summarize(&vigilv1.SummarizeFindingsRequest{ByTenant: true})
	if got.Total != want.Total && got.Total != want.Total+10 {
		t.Fatalf("restored %d findings, had %d", got.Total, want.Total)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	list, _, err := r.List(&vigilv1.FindingFilter{Tenant: "t1", CheckId: "VGL-CLUSTER-007"}, 1000, "")
	if err != nil || len(list) == 0 {
		t.Fatalf("query on restored store: %d, %v", len(list), err)
	}
	// Compaction keeps everything.
	r.Close()
	compacted := filepath.Join(dir, "compact.db")
	if err := Compact(target, compacted); err != nil {
		t.Fatal(err)
	}
	c, err := Open(compacted, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Verify(); err != nil {
		t.Fatal(err)
	}
	if cs, _ := c.Summarize(&vigilv1.SummarizeFindingsRequest{}); cs.Total != got.Total {
		t.Fatalf("compacted store has %d findings, want %d", cs.Total, got.Total)
	}
	// Restore refuses what is not a store.
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a database at all, not at all"), 0o600)
	if err := Restore(junk, filepath.Join(dir, "x.db")); err == nil {
		t.Fatal("restored junk")
	}
}

// testdata/schema1.db was written by the schema 1 server: two tenants, 60
// findings each, ten of them resolved.
func TestMigrateFromSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	if err := copyFile("testdata/schema1.db", path); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(keySchema); len(v) != 1 || v[0] != SchemaVersion {
			return fmt.Errorf("schema after migration = %v", v)
		}
		for _, b := range [][]byte{bSupp, bAudit, bIdxExpiry, bShared} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("bucket %s missing after migration", b)
			}
		}
		// Schema 5 leaves each check's text to the shared bucket.
		return tx.Bucket(bFindings).ForEach(func(k, v []byte) error {
			if rec, err := decodeRecord(k, v); err != nil || rec.Shared == 0 {
				return fmt.Errorf("record %x not re-encoded: %v", k, err)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
	open, _ := s.Summarize(&vigilv1.SummarizeFindingsRequest{})
	if open.Total != 100 {
		t.Fatalf("open findings after migration = %d, want 100", open.Total)
	}
	// The new features work on migrated data.
	f := mkFinding("acme", "VGL-CLUSTER-001", vigilv1.Severity_SEVERITY_HIGH, 20)
	if got, err := s.Get(f.Fingerprint); err != nil || got.Status != vigilv1.Status_STATUS_OPEN {
		t.Fatalf("get by fingerprint after migration: %v, %v", got, err)
	}
	var n uint64
	err = s.Update(func(w *Writer) error {
		var err error
		_, n, err = w.CreateSuppression(&vigilv1.Suppression{CheckId: "VGL-CLUSTER-001", Tenant: "globex", Reason: "test"}, time.Now())
		return err
	})
	if err != nil || n != 50 {
		t.Fatalf("suppress on migrated store: %d, %v", n, err)
	}
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
}
