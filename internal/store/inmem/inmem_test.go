package inmem

import (
	"context"
	"testing"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
	"github.com/credup/credup/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return New() })
}

// TestUpdateUploadRace makes another writer change the upload between fn
// and the write: fn must run again on the fresh upload, and a writer that
// always loses must get a conflict, not a lost update.
func TestUpdateUploadRace(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		races     int // how many attempts another writer wins
		wantCode  string
		wantCalls int
		wantNotes int // ReportVersion after the update: races + ours
	}{
		{"one lost race", 1, "", 2, 2},
		{"three lost races", 3, "", 4, 4},
		{"always losing", maxUpdateAttempts, bulk.EConflict, maxUpdateAttempts, maxUpdateAttempts},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			if err := s.CreateUpload(ctx, bulk.Upload{Tenant: "t", ID: "u", Status: bulk.StatusValidating}); err != nil {
				t.Fatal(err)
			}
			won := 0
			s.beforeWrite = func() {
				if won == tc.races {
					return
				}
				won++
				s.mu.Lock()
				su := s.uploads[id2{"t", "u"}]
				su.u.ReportVersion++
				su.rev++
				s.uploads[id2{"t", "u"}] = su
				s.mu.Unlock()
			}
			calls := 0
			_, err := s.UpdateUpload(ctx, "t", "u", func(u *bulk.Upload) error {
				calls++
				u.ReportVersion++
				return nil
			})
			if tc.wantCode != "" {
				if bulk.ErrorCode(err) != tc.wantCode {
					t.Fatalf("error = %v, want %s", err, tc.wantCode)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if calls != tc.wantCalls {
				t.Errorf("fn ran %d times, want %d", calls, tc.wantCalls)
			}
			got, err := s.GetUpload(ctx, "t", "u")
			if err != nil {
				t.Fatal(err)
			}
			if got.ReportVersion != tc.wantNotes {
				t.Errorf("report version = %d, want %d", got.ReportVersion, tc.wantNotes)
			}
		})
	}
}

func TestCloneDropsUnstoredFields(t *testing.T) {
	u := bulk.Upload{ID: "u", Report: &bulk.Report{Fingerprint: "transient", Format: "csv"}}
	got := clone(u)
	if got.Report == u.Report {
		t.Fatal("report pointer shared")
	}
	if got.Report.Fingerprint != "" || got.Report.Format != "csv" {
		t.Errorf("clone = %+v, want the format kept and the json:\"-\" fingerprint dropped", *got.Report)
	}
}
