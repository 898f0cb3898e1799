package validation_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
)

func TestHandleEventValidatesUploadedFile(t *testing.T) {
	const (
		decoded = "tenants/demo-academy/uploads/u1/Cohort 2024 résumé.csv"
		encoded = "tenants/demo-academy/uploads/u1/Cohort+2024+r%C3%A9sum%C3%A9.csv"
	)
	tests := []struct {
		name      string
		eventName string
	}{
		{"aws event name", "ObjectCreated:Put"},
		{"emulator event name", "s3:ObjectCreated:Put"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 100, bulk.DropReview)
			f.awaiting(t, "u1")
			f.objects.put(decoded, cleanCSV)

			if err := f.svc.HandleEvent(context.Background(), s3Event(tt.eventName, encoded, "etag-1")); err != nil {
				t.Fatalf("HandleEvent: %v", err)
			}
			u := f.upload(t, "u1")
			if u.Status != bulk.StatusReadyForReview || u.ReportVersion != 1 || u.ObjectKey != decoded {
				t.Fatalf("upload = status %s, version %d, key %q; want ready_for_review, 1, %q", u.Status, u.ReportVersion, u.ObjectKey, decoded)
			}
			if u.Report == nil || u.Report.Summary.Update != 2 || u.Report.Summary.Renewals != 1 {
				t.Fatalf("report summary = %+v, want 2 updates, 1 renewal", u.Report)
			}
			rows := f.rows(t, "u1", 1)
			if len(rows) != 2 || rows[0].CredentialID != "c-0001" || rows[1].CredentialID != "c-0003" {
				t.Fatalf("stored rows = %+v, want the rows of c-0001 and c-0003", rows)
			}
			if got := f.events.types(); !slices.Equal(got, []string{"BulkUpdate Validated"}) {
				t.Fatalf("events = %v, want one BulkUpdate Validated", got)
			}
			if d := f.events.detail(0); d.Upload != "u1" || d.ReportVersion != 1 || d.Summary == nil || d.Summary.Update != 2 {
				t.Fatalf("event detail = %+v", d)
			}
		})
	}
}

func TestHandleEventIgnores(t *testing.T) {
	tests := []struct {
		name      string
		eventName string
		key       string
	}{
		{"key outside the layout", "ObjectCreated:Put", "elsewhere/demo-academy/uploads/u1/file.csv"},
		{"manifest key", "ObjectCreated:Put", "tenants/demo-academy/manifests/u1/00000.json"},
		{"unknown upload", "ObjectCreated:Put", "tenants/demo-academy/uploads/nobody/file.csv"},
		{"object removed", "ObjectRemoved:Delete", "tenants/demo-academy/uploads/u1/file.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 100, bulk.DropReview)
			f.awaiting(t, "u1")
			f.objects.put(tt.key, cleanCSV)

			if err := f.svc.HandleEvent(context.Background(), s3Event(tt.eventName, tt.key, "etag-1")); err != nil {
				t.Fatalf("HandleEvent returned %v, want the event ignored", err)
			}
			if u := f.upload(t, "u1"); u.Status != bulk.StatusAwaitingUpload || u.ReportVersion != 0 {
				t.Errorf("upload u1 = %s v%d, want untouched", u.Status, u.ReportVersion)
			}
			if _, err := f.store.GetUpload(context.Background(), demo.Tenant, "nobody"); bulk.ErrorCode(err) != bulk.ENotFound {
				t.Errorf("upload nobody: err = %v, want not found", err)
			}
			if rows := f.rows(t, "u1", 1); len(rows) != 0 {
				t.Errorf("stored %d rows, want none", len(rows))
			}
			if got := f.events.types(); len(got) != 0 {
				t.Errorf("events = %v, want none", got)
			}
		})
	}
}

func TestHandleEventTwiceGivesOneReport(t *testing.T) {
	const key = "tenants/demo-academy/uploads/u1/renewals.csv"
	f := newFixture(t, 100, bulk.DropReview)
	f.awaiting(t, "u1")
	f.objects.put(key, cleanCSV)
	ev := s3Event("ObjectCreated:Put", key, "etag-1")
	for i := range 2 {
		if err := f.svc.HandleEvent(context.Background(), ev); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	if u := f.upload(t, "u1"); u.ReportVersion != 1 || u.Status != bulk.StatusReadyForReview {
		t.Fatalf("upload = %s v%d, want ready_for_review v1", u.Status, u.ReportVersion)
	}
	if rows := f.rows(t, "u1", 2); len(rows) != 0 {
		t.Errorf("a second report was stored: %d rows of version 2", len(rows))
	}
	if got := f.events.types(); len(got) != 1 {
		t.Errorf("events = %v, want one", got)
	}
}

// validated puts cleanCSV through a first validation of upload u1.
func validated(t *testing.T, f *fixture, body []byte) {
	t.Helper()
	const key = "tenants/demo-academy/uploads/u1/renewals.csv"
	f.awaiting(t, "u1")
	f.objects.put(key, body)
	if err := f.svc.Object(context.Background(), key, "etag-1"); err != nil {
		t.Fatalf("first validation: %v", err)
	}
	if u := f.upload(t, "u1"); u.ReportVersion != 1 {
		t.Fatalf("first validation gave version %d (%s: %s)", u.ReportVersion, u.Status, u.Failure)
	}
}

// remap sets a new mapping and moves the upload back to validating, as the
// API does before it sends a re-validation.
func remap(t *testing.T, f *fixture, m bulk.Mapping) {
	t.Helper()
	_, err := f.store.UpdateUpload(context.Background(), demo.Tenant, "u1", func(u *bulk.Upload) error {
		u.Mapping, u.Status = m, bulk.StatusValidating
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRevalidation(t *testing.T) {
	tests := []struct {
		name        string
		mapping     bulk.Mapping
		wantStatus  string
		wantVersion int
		wantUpdates int
		wantFailure bool
		wantEvent   string
	}{
		{
			name:    "skipping a column builds version 2",
			mapping: bulk.Mapping{Columns: map[string]string{"Grade": bulk.Skip}},
			// Without the grade column only c-0003's renewal is left.
			wantStatus: bulk.StatusReadyForReview, wantVersion: 2, wantUpdates: 1, wantEvent: "BulkUpdate Validated",
		},
		{
			name:       "a column the file does not have goes back to mapping",
			mapping:    bulk.Mapping{Columns: map[string]string{"#9": bulk.AttrGrade}},
			wantStatus: bulk.StatusNeedsMapping, wantVersion: 1, wantUpdates: 2, wantFailure: true, wantEvent: "BulkUpdate Validated",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 100, bulk.DropReview)
			validated(t, f, cleanCSV)
			remap(t, f, tt.mapping)

			payload := []byte(`{"tenant":"demo-academy","upload":"u1"}`)
			if err := f.svc.HandleEvent(context.Background(), payload); err != nil {
				t.Fatalf("HandleEvent: %v", err)
			}
			u := f.upload(t, "u1")
			if u.Status != tt.wantStatus || u.ReportVersion != tt.wantVersion {
				t.Fatalf("upload = %s v%d (%q), want %s v%d", u.Status, u.ReportVersion, u.Failure, tt.wantStatus, tt.wantVersion)
			}
			if u.Report.Summary.Update != tt.wantUpdates {
				t.Errorf("report updates = %d, want %d", u.Report.Summary.Update, tt.wantUpdates)
			}
			if (u.Failure != "") != tt.wantFailure {
				t.Errorf("failure = %q, want one: %v", u.Failure, tt.wantFailure)
			}
			// Every data row is stored, whatever its outcome.
			if tt.wantVersion == 2 && len(f.rows(t, "u1", 2)) != u.Report.DataRows {
				t.Errorf("version 2 rows = %d, want %d", len(f.rows(t, "u1", 2)), u.Report.DataRows)
			}
			if len(f.rows(t, "u1", 1)) != 2 {
				t.Errorf("version 1 rows changed")
			}
			got := f.events.types()
			if len(got) != 2 || got[1] != tt.wantEvent {
				t.Errorf("events = %v, want a second %s", got, tt.wantEvent)
			}
		})
	}
}

func TestUnreadableFileFailsUpload(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")},
		{"empty file", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const key = "tenants/demo-academy/uploads/u1/renewals.pdf"
			f := newFixture(t, 100, bulk.DropReview)
			f.awaiting(t, "u1")
			f.objects.put(key, tt.body)
			if err := f.svc.HandleEvent(context.Background(), s3Event("ObjectCreated:Put", key, "etag-1")); err != nil {
				t.Fatalf("HandleEvent: %v", err)
			}
			u := f.upload(t, "u1")
			if u.Status != bulk.StatusFailed || u.ReportVersion != 0 {
				t.Fatalf("upload = %s v%d, want failed without a report", u.Status, u.ReportVersion)
			}
			// The message is shown to the user: no wrapping, no object key.
			if u.Failure == "" || strings.Contains(u.Failure, "tenants/") || strings.Contains(u.Failure, "read uploaded file") {
				t.Errorf("failure = %q, want a user-safe message", u.Failure)
			}
			if got := f.events.types(); !slices.Equal(got, []string{"BulkUpdate Failed"}) {
				t.Errorf("events = %v, want one BulkUpdate Failed", got)
			}
			if d := f.events.detail(0); d.Failure != u.Failure || d.Status != bulk.StatusFailed {
				t.Errorf("event detail = %+v", d)
			}
		})
	}
}

func TestDroppedFile(t *testing.T) {
	const (
		key  = "tenants/demo-academy/dropbox/g-ux-foundations/weekly.csv"
		etag = "etag-1"
	)
	withError := csvOf("Recipient Email,Grade,Expires On",
		"learner001@example.org,A,2027-02-02",
		"nobody@example.org,A,2028-01-01")
	// c-0010's recipient corrected their name: overwriting it is a warning.
	withWarning := csvOf("Recipient Email,Recipient Name,Grade",
		"learner001@example.org,Bo Sato,A",
		"learner010@example.org,Jonas Muller,Pass")
	withUnplaced := csvOf("Recipient Email,Grade,Expires On,Notes",
		"learner001@example.org,A,2027-02-02,call back",
		"learner003@example.org,Pass,2028-04-04,")

	tests := []struct {
		name        string
		policy      string
		credits     int
		body        []byte
		key         string
		wantUpload  bool
		wantStatus  string
		wantStarted bool
	}{
		{"unknown group", bulk.DropCommitIfClean, 100, cleanCSV, "tenants/demo-academy/dropbox/g-nope/weekly.csv", false, "", false},
		{"review group", bulk.DropReview, 100, cleanCSV, key, true, bulk.StatusReadyForReview, false},
		{"clean report commits", bulk.DropCommitIfClean, 100, cleanCSV, key, true, bulk.StatusCommitting, true},
		{"row error waits for review", bulk.DropCommitIfClean, 100, withError, key, true, bulk.StatusReadyForReview, false},
		{"warning waits for review", bulk.DropCommitIfClean, 100, withWarning, key, true, bulk.StatusReadyForReview, false},
		{"unplaced column waits for mapping", bulk.DropCommitIfClean, 100, withUnplaced, key, true, bulk.StatusNeedsMapping, false},
		{"credits short wait for review", bulk.DropCommitIfClean, 0, cleanCSV, key, true, bulk.StatusReadyForReview, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.credits, tt.policy)
			f.objects.put(tt.key, tt.body)
			if err := f.svc.HandleEvent(context.Background(), s3Event("ObjectCreated:Put", tt.key, etag)); err != nil {
				t.Fatalf("HandleEvent: %v", err)
			}
			if !tt.wantUpload {
				if got := f.events.types(); len(got) != 0 {
					t.Errorf("events = %v, want none", got)
				}
				if len(f.starts.calls) != 0 {
					t.Errorf("commit started: %v", f.starts.calls)
				}
				return
			}
			if len(f.events.Events()) == 0 {
				t.Fatal("no event published")
			}
			id := f.events.detail(0).Upload
			u := f.upload(t, id)
			if u.Status != tt.wantStatus || u.Source != "dropbox" || u.GroupID != demo.GroupID {
				t.Fatalf("upload = %s from %s for %s, want %s from dropbox", u.Status, u.Source, u.GroupID, tt.wantStatus)
			}
			if started := len(f.starts.calls) > 0; started != tt.wantStarted {
				t.Fatalf("commit started = %v, want %v", started, tt.wantStarted)
			}
			if tt.wantStarted {
				if u.Execution != "exec-"+id || u.ConfirmedVersion != u.ReportVersion {
					t.Errorf("execution %q, confirmed v%d of v%d", u.Execution, u.ConfirmedVersion, u.ReportVersion)
				}
			} else if u.Execution != "" {
				t.Errorf("execution %q recorded without a commit", u.Execution)
			}
		})
	}
}

func TestDroppedFileCommitStartFails(t *testing.T) {
	const key = "tenants/demo-academy/dropbox/g-ux-foundations/weekly.csv"
	f := newFixture(t, 100, bulk.DropCommitIfClean)
	f.objects.put(key, cleanCSV)
	ev := s3Event("ObjectCreated:Put", key, "etag-1")
	f.starts.err = errStart

	if err := f.svc.HandleEvent(context.Background(), ev); err == nil {
		t.Fatal("HandleEvent succeeded though the commit could not start; the event would not be retried")
	}
	id := f.events.detail(0).Upload
	if u := f.upload(t, id); u.Status != bulk.StatusCommitting || u.Execution != "" {
		t.Fatalf("after a failed start: %s, execution %q; want committing with no execution", u.Status, u.Execution)
	}

	t.Run("repeated event starts it", func(t *testing.T) {
		f.starts.err = nil
		if err := f.svc.HandleEvent(context.Background(), ev); err != nil {
			t.Fatalf("repeated HandleEvent: %v", err)
		}
		u := f.upload(t, id)
		if u.Status != bulk.StatusCommitting || u.Execution != "exec-"+id || u.ReportVersion != 1 {
			t.Fatalf("after retry: %s v%d, execution %q", u.Status, u.ReportVersion, u.Execution)
		}
		if len(f.starts.calls) != 2 {
			t.Errorf("StartCommit called %d times, want 2", len(f.starts.calls))
		}
		if got := f.events.types(); len(got) != 1 {
			t.Errorf("events = %v, want the one validation event", got)
		}
	})
}
