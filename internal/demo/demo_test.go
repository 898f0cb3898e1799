package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/sheet"
)

// TestSampleSheetFitsTheSeed checks that the committed sample sheet, as
// LibreOffice wrote it, makes the report the demo walks through.
func TestSampleSheetFitsTheSeed(t *testing.T) {
	src, err := sheet.OpenFile(filepath.Join("..", "..", SheetPath), sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	in := engine.Input{Group: Group(), Credentials: Seed(), Now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
	rep, err := engine.Check(context.Background(), src, in)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.NeedsMapping() {
		t.Errorf("the Notes column should need mapping: %+v", rep.Columns)
	}
	want := map[string]string{
		"Student Email": bulk.AttrEmail, "Full Name": bulk.AttrRecipientName,
		"Expiration Date": bulk.AttrExpiresOn, "Course Hours": "custom.course_hours", "Grade": bulk.AttrGrade,
	}
	for _, c := range rep.Columns {
		if a, ok := want[c.Header]; ok && c.Attribute != a {
			t.Errorf("column %q mapped to %q, want %q", c.Header, c.Attribute, a)
		}
	}
	errs := map[string]int{}
	warns := map[string]int{}
	for _, r := range rep.Rows {
		for _, e := range r.Errors {
			errs[e.Code]++
		}
		for _, w := range r.Warnings {
			warns[w.Code]++
		}
	}
	wantErrs := map[string]int{bulk.ErrAmbiguousMatch: 2, bulk.ErrNoMatch: 1, bulk.ErrOtherGroup: 1,
		bulk.ErrExpiryBeforeIssue: 1, bulk.ErrDuplicateTarget: 2}
	for code, n := range wantErrs {
		if errs[code] != n {
			t.Errorf("%d %s errors, want %d (all: %v)", errs[code], code, n, errs)
		}
	}
	if warns[bulk.WarnNameOverride] != 1 {
		t.Errorf("warnings %v, want one name_override", warns)
	}
	if rep.Summary.Renewals < 60 || rep.Summary.CreditsRequired != rep.Summary.Renewals {
		t.Errorf("summary %+v: want the expired credentials renewed, a credit each", rep.Summary)
	}
	if rep.Summary.Update+rep.Summary.Unchanged+rep.Summary.Error != rep.DataRows {
		t.Errorf("summary %+v does not add up to %d rows", rep.Summary, rep.DataRows)
	}
	t.Logf("summary %+v", rep.Summary)
}
