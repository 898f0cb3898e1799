package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

var created = time.Date(2025, 3, 4, 5, 6, 7, 800, time.UTC)

func upload(id, status string) bulk.Upload {
	return bulk.Upload{
		Tenant: acme, ID: id, GroupID: "g1", Status: status, Source: "api",
		FileName: "learners.xlsx", ObjectKey: acme + "/uploads/" + id,
		Mapping:   bulk.Mapping{Columns: map[string]string{"E-mail": bulk.AttrEmail, "Notes": bulk.Skip}, DateFormat: "DD/MM/YYYY"},
		CreatedAt: created, UpdatedAt: created,
	}
}

func testUploads(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	u := upload("u1", bulk.StatusAwaitingUpload)
	u.Report = &bulk.Report{
		Format: "xlsx", Sheet: "Sheet1", HeaderRow: 1, DataRows: 3, MatchBy: bulk.AttrEmail,
		DateFormatCandidates: []string{"DD/MM/YYYY"},
		Columns:              []bulk.Column{{Index: 0, Header: "E-mail", Attribute: bulk.AttrEmail, How: bulk.HowSynonym, Confidence: 0.95}},
		Summary:              bulk.Summary{Update: 1, Error: 1, Renewals: 1, CreditsRequired: 1},
	}
	u.Results = &bulk.Results{Updated: 1, Batches: 1}
	must(t, s.CreateUpload(ctx, u))

	t.Run("round trip", func(t *testing.T) {
		got, err := s.GetUpload(ctx, acme, "u1")
		must(t, err)
		equal(t, "upload", got, u)
	})
	t.Run("create twice", func(t *testing.T) {
		again := upload("u1", bulk.StatusValidating)
		again.FileName = "other.csv"
		wantCode(t, s.CreateUpload(ctx, again), bulk.EConflict)
		got, err := s.GetUpload(ctx, acme, "u1")
		must(t, err)
		equal(t, "upload after second create", got, u)
	})
	t.Run("same id, other tenant", func(t *testing.T) {
		other := upload("u1", bulk.StatusAwaitingUpload)
		other.Tenant = globex
		must(t, s.CreateUpload(ctx, other))
		got, err := s.GetUpload(ctx, acme, "u1")
		must(t, err)
		equal(t, "acme's upload", got, u)
	})
	t.Run("missing", func(t *testing.T) {
		_, err := s.GetUpload(ctx, acme, "u404")
		wantCode(t, err, bulk.ENotFound)
		_, err = s.UpdateUpload(ctx, acme, "u404", func(*bulk.Upload) error {
			t.Error("fn ran for a missing upload")
			return nil
		})
		wantCode(t, err, bulk.ENotFound)
	})
}

// testUploadTransitions runs UpdateUpload from a status with a change and
// checks what was returned and what was stored.
func testUploadTransitions(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	errRefused := errors.New("refused by fn")
	cases := []struct {
		name     string
		from     string
		fn       func(*bulk.Upload) error
		wantErr  error
		wantCode string
		want     func(*bulk.Upload)
	}{
		{
			name: "legal transition",
			from: bulk.StatusReadyForReview,
			fn: func(u *bulk.Upload) error {
				u.Status, u.ConfirmedVersion, u.Execution = bulk.StatusCommitting, 2, "exec-1"
				return nil
			},
			want: func(u *bulk.Upload) { u.Status, u.ConfirmedVersion, u.Execution = bulk.StatusCommitting, 2, "exec-1" },
		},
		{
			name: "same status, other fields",
			from: bulk.StatusNeedsMapping,
			fn: func(u *bulk.Upload) error {
				u.Mapping.MatchBy, u.ReportVersion = bulk.AttrRecipientID, 3
				return nil
			},
			want: func(u *bulk.Upload) { u.Mapping.MatchBy, u.ReportVersion = bulk.AttrRecipientID, 3 },
		},
		{
			name:     "illegal transition",
			from:     bulk.StatusAwaitingUpload,
			fn:       func(u *bulk.Upload) error { u.Status, u.Failure = bulk.StatusCompleted, "x"; return nil },
			wantCode: bulk.EConflict,
		},
		{
			name:     "leaving a final status",
			from:     bulk.StatusCompleted,
			fn:       func(u *bulk.Upload) error { u.Status = bulk.StatusValidating; return nil },
			wantCode: bulk.EConflict,
		},
		{
			name:    "fn refuses",
			from:    bulk.StatusReadyForReview,
			fn:      func(u *bulk.Upload) error { u.Status = bulk.StatusCommitting; return errRefused },
			wantErr: errRefused,
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := upload(fmt.Sprintf("u%d", i), tc.from)
			must(t, s.CreateUpload(ctx, start))
			got, err := s.UpdateUpload(ctx, acme, start.ID, tc.fn)
			want := start
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want fn's error", err)
				}
			case tc.wantCode != "":
				wantCode(t, err, tc.wantCode)
			default:
				must(t, err)
				tc.want(&want)
				equal(t, "returned upload", got, want)
			}
			stored, err := s.GetUpload(ctx, acme, start.ID)
			must(t, err)
			equal(t, "stored upload", stored, want)
		})
	}
}

// testConcurrentUploadUpdates races goroutines that each add one to the
// report version: every update must land.
func testConcurrentUploadUpdates(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	must(t, s.CreateUpload(ctx, upload("u1", bulk.StatusValidating)))
	const writers = 10
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = s.UpdateUpload(ctx, acme, "u1", func(u *bulk.Upload) error {
				u.ReportVersion++
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	got, err := s.GetUpload(ctx, acme, "u1")
	must(t, err)
	equal(t, "report version", got.ReportVersion, writers)
}

// reportRows makes n rows numbered from first, with every outcome and
// warnings on some rows of each outcome.
func reportRows(first, n int, tag string) []bulk.Row {
	outcomes := []string{bulk.OutcomeUpdate, bulk.OutcomeUnchanged, bulk.OutcomeError, bulk.OutcomeUpdate}
	rows := make([]bulk.Row, n)
	for i := range rows {
		r := bulk.Row{Row: first + i, CredentialID: fmt.Sprintf("%s-%d", tag, i), Outcome: outcomes[i%len(outcomes)]}
		switch r.Outcome {
		case bulk.OutcomeUpdate:
			r.Changes = []bulk.Change{{Field: bulk.AttrExpiresOn, From: "2024-01-31", To: "2027-01-31"}}
			r.Renewal = i%3 == 0
		case bulk.OutcomeError:
			r.Errors = []bulk.Issue{{Code: bulk.ErrNoMatch, Column: "E-mail", Message: "no credential in this group has this email"}}
		}
		if i%5 == 0 {
			r.Warnings = []bulk.Issue{{Code: bulk.WarnClearsValue, Column: "Grade", Message: "a blank cell clears the grade"}}
		}
		rows[i] = r
	}
	return rows
}

// walk pages a listing to its end, checking every page but the last is full.
func walk[T any](t *testing.T, limit int, page func(cursor string) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	cursor := ""
	for pages := 0; ; pages++ {
		got, next, err := page(cursor)
		must(t, err)
		if pages > 10000 {
			t.Fatal("listing never ends")
		}
		if len(got) == 0 && pages > 0 {
			t.Fatalf("page %d is empty: the cursor before it should have been \"\"", pages)
		}
		all = append(all, got...)
		if next == "" {
			if len(got) > limit {
				t.Fatalf("last page has %d items, limit %d", len(got), limit)
			}
			return all
		}
		if len(got) != limit {
			t.Fatalf("page %d has %d items, want a full page of %d", pages, len(got), limit)
		}
		cursor = next
	}
}

func testReportRows(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	rows := reportRows(2, 250, "v1")
	for start := 0; start < len(rows); start += 40 {
		must(t, s.PutReportRows(ctx, acme, "u1", 1, rows[start:min(start+40, len(rows))]))
	}
	v2 := reportRows(2, 14, "v2")
	must(t, s.PutReportRows(ctx, acme, "u1", 2, v2))
	otherUpload := reportRows(2, 30, "u2")
	must(t, s.PutReportRows(ctx, acme, "u2", 1, otherUpload))
	must(t, s.PutReportRows(ctx, globex, "u1", 1, reportRows(2, 30, "globex")))

	filters := []struct {
		outcome string
		keep    func(bulk.Row) bool
	}{
		{"", func(bulk.Row) bool { return true }},
		{bulk.OutcomeUpdate, func(r bulk.Row) bool { return r.Outcome == bulk.OutcomeUpdate }},
		{bulk.OutcomeUnchanged, func(r bulk.Row) bool { return r.Outcome == bulk.OutcomeUnchanged }},
		{bulk.OutcomeError, func(r bulk.Row) bool { return r.Outcome == bulk.OutcomeError }},
		{"warning", func(r bulk.Row) bool { return len(r.Warnings) > 0 }},
	}
	for _, f := range filters {
		for _, limit := range []int{7, 250} {
			t.Run(fmt.Sprintf("outcome %q limit %d", f.outcome, limit), func(t *testing.T) {
				var want []bulk.Row
				for _, r := range rows {
					if f.keep(r) {
						want = append(want, r)
					}
				}
				got := walk(t, limit, func(c string) ([]bulk.Row, string, error) {
					return s.ListReportRows(ctx, acme, "u1", 1, f.outcome, c, limit)
				})
				if len(got) != len(want) {
					t.Fatalf("got %d rows, want %d", len(got), len(want))
				}
				for i := range got {
					equal(t, fmt.Sprintf("row %d", i), got[i], want[i])
				}
			})
		}
	}

	t.Run("versions are apart", func(t *testing.T) {
		got := walk(t, 7, func(c string) ([]bulk.Row, string, error) {
			return s.ListReportRows(ctx, acme, "u1", 2, "", c, 7)
		})
		equal(t, "version 2 rows", got, v2)
		none, next, err := s.ListReportRows(ctx, acme, "u1", 3, "", "", 10)
		must(t, err)
		if len(none) != 0 || next != "" {
			t.Errorf("version 3: %d rows, cursor %q", len(none), next)
		}
	})

	t.Run("cursor of another upload", func(t *testing.T) {
		_, cursor, err := s.ListReportRows(ctx, acme, "u1", 1, "", "", 10)
		must(t, err)
		got, _, err := s.ListReportRows(ctx, acme, "u2", 1, "", cursor, 100)
		must(t, err)
		// The cursor stands after row 11, so u2's later rows follow.
		equal(t, "u2 rows after the cursor", got, otherUpload[10:])
		gotOther, _, err := s.ListReportRows(ctx, globex, "u1", 1, "", cursor, 100)
		must(t, err)
		for _, r := range gotOther {
			if r.CredentialID[:6] != "globex" {
				t.Fatalf("globex listing returned row %+v", r)
			}
		}
	})

	t.Run("rewritten row", func(t *testing.T) {
		r := otherUpload[0]
		r.Outcome, r.Changes, r.Warnings = bulk.OutcomeUnchanged, nil, nil
		must(t, s.PutReportRows(ctx, acme, "u2", 1, []bulk.Row{r}))
		got, _, err := s.ListReportRows(ctx, acme, "u2", 1, "", "", 1)
		must(t, err)
		equal(t, "first row", got, []bulk.Row{r})
	})
}

// testReportRowLimits checks the default and the largest page size.
func testReportRowLimits(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	rows := reportRows(2, 1100, "big")
	must(t, s.PutReportRows(ctx, acme, "u1", 1, rows))
	cases := []struct {
		name  string
		limit int
		want  int
	}{
		{"default", 0, 100},
		{"negative", -5, 100},
		{"largest", 5000, 1000},
		{"exact", 1000, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := s.ListReportRows(ctx, acme, "u1", 1, "", "", tc.limit)
			must(t, err)
			equal(t, "rows on the page", len(got), tc.want)
			if next == "" {
				t.Fatal("no cursor though rows remain")
			}
			rest := walk(t, 1000, func(c string) ([]bulk.Row, string, error) {
				if c == "" {
					c = next
				}
				return s.ListReportRows(ctx, acme, "u1", 1, "", c, 1000)
			})
			equal(t, "rows in all", len(got)+len(rest), len(rows))
		})
	}
}

func testLearnedMappings(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	got, err := s.LearnedMappings(ctx, acme)
	must(t, err)
	equal(t, "mappings before learning", len(got), 0)

	must(t, s.LearnMappings(ctx, acme, map[string]string{"student email": bulk.AttrEmail, "hours": "custom.course_hours"}))
	must(t, s.LearnMappings(ctx, acme, map[string]string{"hours": bulk.Skip, "date issued": bulk.AttrIssuedOn}))
	must(t, s.LearnMappings(ctx, globex, map[string]string{"mail": bulk.AttrEmail}))
	// A header too long to keep is not learned, and does not fail the rest.
	must(t, s.LearnMappings(ctx, globex, map[string]string{strings.Repeat("very long header ", 100): bulk.AttrGrade}))

	cases := []struct {
		tenant string
		want   map[string]string
	}{
		{acme, map[string]string{"student email": bulk.AttrEmail, "hours": bulk.Skip, "date issued": bulk.AttrIssuedOn}},
		{globex, map[string]string{"mail": bulk.AttrEmail}},
	}
	for _, tc := range cases {
		t.Run(tc.tenant, func(t *testing.T) {
			got, err := s.LearnedMappings(ctx, tc.tenant)
			must(t, err)
			equal(t, "mappings", got, tc.want)
		})
	}
}
