package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/credup/credup/internal/apiclient"
	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/objectkey"
)

// TestFullAPIFlow walks the demo sheet through everything a user does over
// the API, and checks each promise of the pipeline where a user would look.
func TestFullAPIFlow(t *testing.T) {
	t.Parallel()
	ctx := timeout(t, time.Minute)
	s := shared
	tn := demoTenant(t, s, "flow", demo.Credits)
	file := demoSheet(t)
	group := demo.Group()

	var cr apiclient.Created
	var v2 apiclient.Upload
	var want *bulk.Report
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("the presigned upload is validated into a report that needs mapping", func(t *testing.T) {
		cr = tn.upload(ctx, t, demo.GroupID, "renewals.xlsx", file)
		if cr.Status != bulk.StatusAwaitingUpload {
			t.Errorf("a new upload is %s, want %s", cr.Status, bulk.StatusAwaitingUpload)
		}
		v1 := tn.wait(ctx, t, cr.ID, bulk.StatusNeedsMapping)
		offline := offlineReport(t, file, group, tn.seed, bulk.Mapping{})
		if v1.ReportVersion != 1 || v1.Report == nil || !v1.Report.NeedsMapping {
			t.Fatalf("upload %+v: want report 1, needing mapping", v1)
		}
		if v1.Report.Summary != offline.Summary || v1.Report.DataRows != offline.DataRows {
			t.Errorf("report summary %+v of %d rows, `credup check` says %+v of %d", v1.Report.Summary, v1.Report.DataRows, offline.Summary, offline.DataRows)
		}
		for _, c := range v1.Report.Columns {
			wantHow := bulk.HowUnmapped
			if c.Header != "Notes" {
				wantHow = offline.Columns[c.Index].How
			}
			if c.How != wantHow || c.Attribute != offline.Columns[c.Index].Attribute {
				t.Errorf("column %q is %s/%s, want %s/%s", c.Header, c.Attribute, c.How, offline.Columns[c.Index].Attribute, wantHow)
			}
		}
	})

	step("mapping Notes to skip makes report 2, ready for review", func(t *testing.T) {
		u, err := tn.api.SetMapping(ctx, cr.ID, demo.Mapping())
		if err != nil {
			t.Fatal(err)
		}
		if u.Status != bulk.StatusValidating {
			t.Errorf("right after the mapping the upload is %s, want %s", u.Status, bulk.StatusValidating)
		}
		v2 = tn.wait(ctx, t, cr.ID, bulk.StatusReadyForReview)
		want = offlineReport(t, file, group, tn.seed, demo.Mapping())
		if v2.ReportVersion != 2 {
			t.Fatalf("report version %d, want 2", v2.ReportVersion)
		}
		if v2.Report.Summary != want.Summary {
			t.Errorf("summary %+v, `credup check` says %+v", v2.Report.Summary, want.Summary)
		}
		if want.Summary.Error == 0 || want.Summary.Warning == 0 || want.Summary.Renewals == 0 || want.Summary.Unchanged == 0 {
			t.Fatalf("the demo sheet should have errors, warnings, renewals and unchanged rows: %+v", want.Summary)
		}
		for _, c := range v2.Report.Columns {
			if c.Header == "Notes" && (c.How != bulk.HowSkip || c.Attribute != bulk.Skip) {
				t.Errorf("Notes is %s/%s, want skipped", c.Attribute, c.How)
			}
		}
		if !v2.NeedsConfirmation {
			t.Error("a report with warnings should need confirmation")
		}
	})

	step("rows page through every outcome filter, each row once", func(t *testing.T) {
		all := tn.allRows(ctx, t, cr.ID, "", 17)
		if got, wantJSON := mustJSON(t, all), mustJSON(t, want.Rows); got != wantJSON {
			t.Errorf("the rows differ from `credup check`'s:\n got %.400s\nwant %.400s", got, wantJSON)
		}
		filters := []struct {
			outcome string
			count   int
			is      func(bulk.Row) bool
		}{
			{bulk.OutcomeUpdate, want.Summary.Update, func(r bulk.Row) bool { return r.Outcome == bulk.OutcomeUpdate }},
			{bulk.OutcomeUnchanged, want.Summary.Unchanged, func(r bulk.Row) bool { return r.Outcome == bulk.OutcomeUnchanged }},
			{bulk.OutcomeError, want.Summary.Error, func(r bulk.Row) bool { return r.Outcome == bulk.OutcomeError }},
			{"warning", want.Summary.Warning, func(r bulk.Row) bool { return len(r.Warnings) > 0 && r.Outcome != bulk.OutcomeError }},
		}
		for _, f := range filters {
			t.Run(f.outcome, func(t *testing.T) {
				got := tn.allRows(ctx, t, cr.ID, f.outcome, 25)
				var wantRows []int
				for _, r := range all {
					if f.is(r) {
						wantRows = append(wantRows, r.Row)
					}
				}
				var gotRows []int
				for _, r := range got {
					gotRows = append(gotRows, r.Row)
				}
				if fmt.Sprint(gotRows) != fmt.Sprint(wantRows) || len(got) != f.count {
					t.Errorf("rows %v (%d), want %v (summary says %d)", gotRows, len(got), wantRows, f.count)
				}
			})
		}
		// Skipped data is never stored: the Notes texts appear nowhere.
		for _, note := range []string{"renewed after refresher", "not enrolled"} {
			if strings.Contains(mustJSON(t, all), note) {
				t.Errorf("a skipped column's text %q is in the report rows", note)
			}
		}
	})

	step("confirming report 2 clears the confirmation", func(t *testing.T) {
		u, err := tn.api.Confirm(ctx, cr.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if u.ConfirmedVersion != 2 || u.NeedsConfirmation {
			t.Errorf("confirmed version %d, needs confirmation %v; want 2, false", u.ConfirmedVersion, u.NeedsConfirmation)
		}
	})

	creditsBefore := tn.credits(ctx, t)
	var done apiclient.Upload
	step("the commit runs through the state machine to completed_with_errors", func(t *testing.T) {
		u, err := tn.api.Commit(ctx, cr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Status != bulk.StatusCommitting {
			t.Errorf("right after commit the upload is %s, want %s", u.Status, bulk.StatusCommitting)
		}
		done = tn.wait(ctx, t, cr.ID, bulk.StatusCompletedWithErrors)
		wantTotals := bulk.Results{
			Updated: want.Summary.Update, Skipped: want.Summary.Error, CreditsCharged: want.Summary.CreditsRequired,
			Batches: s.manifests(ctx, t, tn.id, cr.ID),
		}
		if done.Results == nil || *done.Results != wantTotals {
			t.Errorf("totals %+v, want %+v", done.Results, wantTotals)
		}
		if wantTotals.Batches < 2 {
			t.Errorf("%d updates went in %d batch(es); the demo should need several", want.Summary.Update, wantTotals.Batches)
		}
	})

	updates := map[string]bulk.Row{}
	for _, r := range want.Rows {
		if r.Outcome == bulk.OutcomeUpdate {
			updates[r.CredentialID] = r
		}
	}

	step("credentials are exactly what the report said", func(t *testing.T) {
		for _, g := range []string{demo.GroupID, demo.OtherGroupID} {
			stored, err := s.store.GroupCredentials(ctx, tn.id, g)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range stored {
				want := tn.seeded(t, c.ID)
				if r, ok := updates[c.ID]; ok {
					want = applied(want, r.Changes)
				}
				if !sameCredential(c, want) {
					t.Errorf("credential %s is\n %+v\nwant\n %+v", c.ID, c, want)
				}
			}
		}
		today := time.Now().UTC().Format(time.DateOnly)
		var renewal, unchanged, errorRow *bulk.Row
		for i, r := range want.Rows {
			switch {
			case r.Renewal && renewal == nil:
				renewal = &want.Rows[i]
			case r.Outcome == bulk.OutcomeUnchanged && unchanged == nil:
				unchanged = &want.Rows[i]
			case r.Outcome == bulk.OutcomeError && errorRow == nil && hasError(r, bulk.ErrDuplicateTarget):
				errorRow = &want.Rows[i]
			}
		}
		if renewal == nil || unchanged == nil || errorRow == nil {
			t.Fatal("the demo report should have a renewal, an unchanged row and a duplicate-target error")
		}
		t.Run("a renewal", func(t *testing.T) {
			before, after := tn.seeded(t, renewal.CredentialID), tn.credential(ctx, t, renewal.CredentialID)
			if before.ExpiresOn >= today || after.ExpiresOn <= today || after.Version != before.Version+1 {
				t.Errorf("renewed credential went from %s (v%d) to %s (v%d), want expired to future, one version up",
					before.ExpiresOn, before.Version, after.ExpiresOn, after.Version)
			}
		})
		t.Run("an unchanged row", func(t *testing.T) {
			if got := tn.credential(ctx, t, unchanged.CredentialID); !sameCredential(got, tn.seeded(t, unchanged.CredentialID)) {
				t.Errorf("credential of unchanged row %d changed: %+v", unchanged.Row, got)
			}
		})
		t.Run("an error row", func(t *testing.T) {
			// Both rows naming the credential are errors; it keeps its data.
			email := demo.Rows()[errorRow.Row-want.HeaderRow-1][0]
			found, err := s.store.FindCredentials(ctx, tn.id, bulk.AttrEmail, email)
			if err != nil || len(found) != 1 {
				t.Fatalf("find the credential of row %d: %v %v", errorRow.Row, found, err)
			}
			if !sameCredential(found[0], tn.seeded(t, found[0].ID)) {
				t.Errorf("credential %s of error row %d changed: %+v", found[0].ID, errorRow.Row, found[0])
			}
		})
	})

	step("credits went down by exactly creditsRequired", func(t *testing.T) {
		if got := tn.credits(ctx, t); got != creditsBefore-want.Summary.CreditsRequired {
			t.Errorf("balance %d, want %d - %d", got, creditsBefore, want.Summary.CreditsRequired)
		}
	})

	step("results page every updated credential once, before and after", func(t *testing.T) {
		first, all := tn.allResults(ctx, t, cr.ID, 30)
		if first.Status != bulk.StatusCompletedWithErrors || first.Totals == nil || *first.Totals != *done.Results {
			t.Errorf("results say %s %+v, want %s %+v", first.Status, first.Totals, bulk.StatusCompletedWithErrors, done.Results)
		}
		seen := map[string]bool{}
		for _, r := range all {
			row, ok := updates[r.CredentialID]
			switch {
			case seen[r.CredentialID]:
				t.Errorf("credential %s is listed twice", r.CredentialID)
			case !ok:
				t.Errorf("credential %s is in the results but the report did not update it", r.CredentialID)
			default:
				seeded := tn.seeded(t, r.CredentialID)
				if r.Outcome != "updated" || r.Row != row.Row || r.Renewal != row.Renewal ||
					!sameCredential(r.Before, seeded) || !sameCredential(r.After, applied(seeded, row.Changes)) ||
					mustJSON(t, r.Changes) != mustJSON(t, row.Changes) {
					t.Errorf("result of %s: %+v\nwant row %d %s, renewal %v, changes %+v", r.CredentialID, r, row.Row, "updated", row.Renewal, row.Changes)
				}
			}
			seen[r.CredentialID] = true
		}
		if len(seen) != len(updates) {
			t.Errorf("%d credentials in the results, the report updated %d", len(seen), len(updates))
		}
	})

	step("a subscriber gets Validated and Committed events without recipient data", func(t *testing.T) {
		committed := s.events.wait(ctx, t, tn.id, cr.ID, "BulkUpdate Committed", func(e busEvent) bool {
			return e.DetailType == "BulkUpdate Committed"
		})
		d := committed.Detail
		if d.Group != demo.GroupID || d.Status != bulk.StatusCompletedWithErrors || d.CreditsCharged != want.Summary.CreditsRequired ||
			d.Results == nil || *d.Results != *done.Results || d.Summary == nil || *d.Summary != want.Summary {
			t.Errorf("Committed detail %s, want group, status, credits, totals and summary of the commit", committed.RawDetail)
		}
		validated := map[int]string{}
		for _, e := range s.events.of(tn.id, cr.ID) {
			if e.Source != "credup" {
				t.Errorf("event source %q, want credup", e.Source)
			}
			if e.DetailType == "BulkUpdate Validated" {
				validated[e.Detail.ReportVersion] = e.Detail.Status
			}
			raw := string(e.RawDetail)
			if emailPattern.MatchString(raw) {
				t.Errorf("%s carries an email: %s", e.DetailType, raw)
			}
			for _, c := range tn.seed {
				if strings.Contains(raw, c.Recipient.Name) {
					t.Errorf("%s carries a recipient name: %s", e.DetailType, raw)
					break
				}
			}
		}
		if validated[1] != bulk.StatusNeedsMapping || validated[2] != bulk.StatusReadyForReview {
			t.Errorf("Validated events by report version: %v, want 1 needs_mapping and 2 ready_for_review", validated)
		}
	})
}

// TestEncodedFileNames uploads files whose names S3 URL-encodes in its
// notifications; each must still be found and validated.
func TestEncodedFileNames(t *testing.T) {
	t.Parallel()
	s := shared
	tn := demoTenant(t, s, "names", demo.Credits)
	file := demoSheet(t)
	tests := []struct {
		name     string
		fileName string
	}{
		{name: "spaces, a plus and accents", fileName: "Cohort A+B été.xlsx"},
		{name: "a percent sign that looks encoded", fileName: "Cohort%2BB 100%.xlsx"},
		{name: "a hash, which keys may not hold", fileName: "week #3 (final).xlsx"},
		{name: "a non-Latin script", fileName: "証明書 更新.xlsx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := timeout(t, time.Minute)
			cr := tn.upload(ctx, t, demo.GroupID, tt.fileName, file)
			wantName := objectkey.SafeFileName(tt.fileName)
			if !strings.HasSuffix(cr.ObjectKey, "/"+wantName) {
				t.Errorf("object key %q does not end with the file name %q", cr.ObjectKey, wantName)
			}
			if _, err := s.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.stack.BucketName), Key: aws.String(cr.ObjectKey)}); err != nil {
				t.Fatalf("the file is not at %q: %v", cr.ObjectKey, err)
			}
			u := tn.wait(ctx, t, cr.ID, bulk.StatusNeedsMapping)
			if u.FileName != wantName || u.ReportVersion != 1 || u.Report == nil || u.Report.DataRows != len(demo.Rows()) {
				t.Errorf("upload %q v%d with %v: want %q validated, every row read", u.FileName, u.ReportVersion, u.Report, wantName)
			}
		})
	}
}

func hasError(r bulk.Row, code string) bool {
	for _, e := range r.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTemplateRoundTrip downloads a group's prefilled template and uploads
// it back untouched: the natural edit loop must start from a file that
// changes nothing.
func TestTemplateRoundTrip(t *testing.T) {
	t.Parallel()
	s := shared
	tn := demoTenant(t, s, "template", demo.Credits)
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			ctx := timeout(t, time.Minute)
			file, err := tn.api.Template(ctx, demo.GroupID, format, true)
			if err != nil {
				t.Fatal(err)
			}
			cr := tn.upload(ctx, t, demo.GroupID, "template."+format, file)
			u := tn.wait(ctx, t, cr.ID, bulk.StatusReadyForReview)
			want := bulk.Summary{Unchanged: demo.Credentials}
			if u.Report.Summary != want || u.Report.DataRows != demo.Credentials {
				t.Errorf("summary %+v of %d rows, want every one of the %d credentials unchanged", u.Report.Summary, u.Report.DataRows, demo.Credentials)
				for _, r := range tn.allRows(ctx, t, cr.ID, "", 1000) {
					if r.Outcome != bulk.OutcomeUnchanged || len(r.Warnings) > 0 {
						t.Logf("row %d: %s %+v %+v %+v", r.Row, r.Outcome, r.Changes, r.Errors, r.Warnings)
						break
					}
				}
			}
		})
	}
}
