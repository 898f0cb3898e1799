package engine

import (
	"context"
	"io"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
	"github.com/credup/credup/internal/sheet"
)

// rows is an in-memory sheet: each line a row of text cells, numbered from 1.
type rows struct {
	info  sheet.Info
	lines []sheet.Row
	next  int
}

func csvRows(lines ...[]string) *rows {
	r := &rows{info: sheet.Info{Format: "csv", Encoding: "utf-8", Delimiter: ","}}
	for i, l := range lines {
		cells := make([]sheet.Cell, len(l))
		for j, s := range l {
			cells[j] = sheet.Cell{Kind: sheet.Text, Text: s}
			if s == "" {
				cells[j].Kind = sheet.Empty
			}
		}
		if len(l) == 0 {
			continue // a blank row: skipped by readers, its number kept
		}
		r.lines = append(r.lines, sheet.Row{Number: i + 1, Cells: cells})
	}
	return r
}

func (r *rows) Info() sheet.Info { return r.info }

func (r *rows) Next() (sheet.Row, error) {
	if r.next >= len(r.lines) {
		return sheet.Row{}, io.EOF
	}
	r.next++
	return r.lines[r.next-1], nil
}

var group = bulk.Group{ID: "g-ux", Name: "UX Foundations", Attributes: []bulk.Attribute{
	{Key: "course_hours", Label: "Course Hours", Kind: bulk.KindNumber},
	{Key: "cohort", Label: "Cohort", Kind: bulk.KindText},
}}

func credentials() []bulk.Credential {
	return []bulk.Credential{
		{ID: "c-1", GroupID: "g-ux", Version: 3, Recipient: bulk.Recipient{ID: "S-001", Name: "Ana Souza", Email: "ana@example.com"},
			IssuedOn: "2024-01-15", ExpiresOn: "2025-01-15", Grade: "A", Custom: map[string]string{"course_hours": "40", "cohort": "2024-A"}},
		{ID: "c-2", GroupID: "g-ux", Version: 1, Recipient: bulk.Recipient{ID: "S-002", Name: "Bo Lindqvist", Email: "bo@example.com", NameCorrectedByRecipient: true},
			IssuedOn: "2024-02-01", ExpiresOn: "2027-02-01", Grade: "B", Description: "Cohort lead"},
		{ID: "c-3", GroupID: "g-ux", Version: 1, Recipient: bulk.Recipient{ID: "S-003", Name: "Chen Wei", Email: "shared@example.com"}, IssuedOn: "2024-03-01"},
		{ID: "c-4", GroupID: "g-ux", Version: 1, Recipient: bulk.Recipient{ID: "S-004", Name: "Chen Wei", Email: "Shared@Example.com"}, IssuedOn: "2024-03-01"},
		{ID: "c-9", GroupID: "g-other", Version: 1, Recipient: bulk.Recipient{ID: "S-009", Name: "Dee Okafor", Email: "dee@example.com"}, IssuedOn: "2023-05-05"},
	}
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func check(t *testing.T, src *rows, m bulk.Mapping) *bulk.Report {
	t.Helper()
	rep, err := Check(context.Background(), src, Input{Group: group, Credentials: credentials(), Mapping: m, Now: now})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return rep
}

func codes(issues []bulk.Issue) []string {
	var out []string
	for _, i := range issues {
		out = append(out, i.Code)
	}
	return out
}

func rowNumbered(t *testing.T, rep *bulk.Report, n int) bulk.Row {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Row == n {
			return r
		}
	}
	t.Fatalf("no row %d in report: %+v", n, rep.Rows)
	return bulk.Row{}
}

func TestRowOutcomes(t *testing.T) {
	emailHeader := []string{"Email", "Expiry Date", "Grade", "Description"}
	idHeader := []string{"Credential ID", "Recipient Name", "Email", "Issue Date", "Expiry Date"}
	tests := []struct {
		name     string
		lines    [][]string
		mapping  bulk.Mapping
		row      int
		outcome  string
		errors   []string
		warnings []string
		notes    []string
		changes  []bulk.Change
		renewal  bool
	}{
		{
			name:    "unchanged values are unchanged",
			lines:   [][]string{emailHeader, {"ana@example.com", "2025-01-15", "A", ""}},
			row:     2,
			outcome: bulk.OutcomeUnchanged,
		},
		{
			name:    "expired credential renewed into the future",
			lines:   [][]string{emailHeader, {" ANA@example.com ", "2027-01-15", "A", ""}},
			row:     2,
			outcome: bulk.OutcomeUpdate,
			changes: []bulk.Change{{Field: "expires_on", From: "2025-01-15", To: "2027-01-15"}},
			renewal: true,
		},
		{
			name:    "extending a valid credential is no renewal",
			lines:   [][]string{emailHeader, {"bo@example.com", "2028-02-01", "B", "Cohort lead"}},
			row:     2,
			outcome: bulk.OutcomeUpdate,
			changes: []bulk.Change{{Field: "expires_on", From: "2027-02-01", To: "2028-02-01"}},
		},
		{
			name:    "unknown email is no match",
			lines:   [][]string{emailHeader, {"nobody@example.com", "2027-01-15", "A", ""}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrNoMatch},
		},
		{
			name:    "another group's credential",
			lines:   [][]string{emailHeader, {"dee@example.com", "2027-01-15", "A", ""}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrOtherGroup},
		},
		{
			name:    "an email shared by two credentials of the group is ambiguous",
			lines:   [][]string{emailHeader, {"shared@example.com", "2027-01-15", "A", ""}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrAmbiguousMatch},
		},
		{
			name:    "invalid date under the chosen format",
			lines:   [][]string{emailHeader, {"ana@example.com", "31/02/2027", "A", ""}},
			mapping: bulk.Mapping{DateFormat: "DD/MM/YYYY"},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrInvalidDate},
		},
		{
			name:    "chosen format reads day first",
			lines:   [][]string{emailHeader, {"ana@example.com", "01/02/2027", "A", ""}},
			mapping: bulk.Mapping{DateFormat: "DD/MM/YYYY"},
			row:     2,
			outcome: bulk.OutcomeUpdate,
			changes: []bulk.Change{{Field: "expires_on", From: "2025-01-15", To: "2027-02-01"}},
			renewal: true,
		},
		{
			name:    "a date two formats read differently is an error without a chosen format",
			lines:   [][]string{emailHeader, {"ana@example.com", "01/02/2027", "A", ""}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrInvalidDate},
		},
		{
			name: "the rest of the column settles an ambiguous date",
			lines: [][]string{emailHeader,
				{"ana@example.com", "01/02/2027", "A", ""},
				{"bo@example.com", "25/12/2027", "B", "Cohort lead"}},
			row:     2,
			outcome: bulk.OutcomeUpdate,
			changes: []bulk.Change{{Field: "expires_on", From: "2025-01-15", To: "2027-02-01"}},
			renewal: true,
		},
		{
			name:    "an Excel serial in a text date column",
			lines:   [][]string{emailHeader, {"ana@example.com", "46402", "A", ""}},
			row:     2,
			outcome: bulk.OutcomeUpdate,
			changes: []bulk.Change{{Field: "expires_on", From: "2025-01-15", To: "2027-01-15"}},
			renewal: true,
		},
		{
			name:    "invalid email",
			lines:   [][]string{idHeader, {"c-1", "Ana Souza", "ana@@example", "2024-01-15", "2025-01-15"}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrInvalidEmail},
		},
		{
			name:     "email change is a warning",
			lines:    [][]string{idHeader, {"c-1", "Ana Souza", "ana.souza@example.org", "2024-01-15", "2025-01-15"}},
			row:      2,
			outcome:  bulk.OutcomeUpdate,
			warnings: []string{bulk.WarnEmailChange},
			changes:  []bulk.Change{{Field: "recipient.email", From: "ana@example.com", To: "ana.souza@example.org"}},
		},
		{
			name:    "a case-only email difference changes nothing",
			lines:   [][]string{idHeader, {"c-1", "Ana Souza", "ANA@EXAMPLE.COM", "2024-01-15", "2025-01-15"}},
			row:     2,
			outcome: bulk.OutcomeUnchanged,
		},
		{
			name:     "overwriting a name the recipient corrected is a warning",
			lines:    [][]string{idHeader, {"c-2", "Bo Lindquist", "bo@example.com", "2024-02-01", "2027-02-01"}},
			row:      2,
			outcome:  bulk.OutcomeUpdate,
			warnings: []string{bulk.WarnNameOverride},
			changes:  []bulk.Change{{Field: "recipient.name", From: "Bo Lindqvist", To: "Bo Lindquist"}},
		},
		{
			name:    "expiry before issue",
			lines:   [][]string{idHeader, {"c-2", "Bo Lindqvist", "bo@example.com", "2024-02-01", "2023-02-01"}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrExpiryBeforeIssue},
		},
		{
			name:    "blank key",
			lines:   [][]string{idHeader, {"", "Ana Souza", "ana@example.com", "2024-01-15", "2025-01-15"}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrMissingKey},
		},
		{
			name:    "a value over its limit",
			lines:   [][]string{emailHeader, {"ana@example.com", "2025-01-15", strings.Repeat("A", 65), ""}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrValueTooLong},
		},
		{
			name:     "a blank cell clears a stored value",
			lines:    [][]string{emailHeader, {"bo@example.com", "2027-02-01", "B", ""}},
			row:      2,
			outcome:  bulk.OutcomeUpdate,
			warnings: []string{bulk.WarnClearsValue},
			changes:  []bulk.Change{{Field: "description", From: "Cohort lead", To: ""}},
		},
		{
			name:    "blank expiry and grade leave the stored values",
			lines:   [][]string{emailHeader, {"bo@example.com", "", "", "Cohort lead"}},
			row:     2,
			outcome: bulk.OutcomeUnchanged,
			notes:   []string{bulk.NoteBlankKept, bulk.NoteBlankKept},
		},
		{
			name:    "an escaped formula reads back as the value",
			lines:   [][]string{emailHeader, {"bo@example.com", "2027-02-01", "B", "'=Cohort lead"}},
			row:     2,
			outcome: bulk.OutcomeUpdate,
			changes: []bulk.Change{{Field: "description", From: "Cohort lead", To: "=Cohort lead"}},
		},
		{
			name:    "a ragged row is an error, not a crash",
			lines:   [][]string{emailHeader, {"ana@example.com", "2025-01-15"}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrRaggedRow},
		},
		{
			name: "two rows targeting one credential are both errors",
			lines: [][]string{emailHeader,
				{"ana@example.com", "2027-01-15", "A", ""},
				{"ana@example.com", "2028-01-15", "A", ""}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrDuplicateTarget},
		},
		{
			name: "the second of two rows targeting one credential",
			lines: [][]string{emailHeader,
				{"ana@example.com", "2027-01-15", "A", ""},
				{"ana@example.com", "2028-01-15", "A", ""}},
			row:     3,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrDuplicateTarget},
		},
		{
			name:    "a number written differently is unchanged",
			lines:   [][]string{{"Email", "Course Hours"}, {"ana@example.com", "40.0"}},
			row:     2,
			outcome: bulk.OutcomeUnchanged,
		},
		{
			name:    "not a number",
			lines:   [][]string{{"Email", "Course Hours"}, {"ana@example.com", "forty"}},
			row:     2,
			outcome: bulk.OutcomeError,
			errors:  []string{bulk.ErrInvalidNumber},
		},
		{
			name:    "match by a custom attribute",
			lines:   [][]string{{"Cohort", "Grade"}, {"2024-A", "A+"}},
			mapping: bulk.Mapping{MatchBy: "custom.cohort"},
			row:     2,
			outcome: bulk.OutcomeUpdate,
			changes: []bulk.Change{{Field: "grade", From: "A", To: "A+"}},
		},
		{
			name:    "a title above the header",
			lines:   [][]string{{"UX Foundations — re-issue list"}, {}, emailHeader, {"bo@example.com", "2027-02-01", "B+", "Cohort lead"}},
			row:     4,
			outcome: bulk.OutcomeUpdate,
			changes: []bulk.Change{{Field: "grade", From: "B", To: "B+"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := check(t, csvRows(tt.lines...), tt.mapping)
			got := rowNumbered(t, rep, tt.row)
			if got.Outcome != tt.outcome {
				t.Errorf("outcome = %s, want %s (row %+v)", got.Outcome, tt.outcome, got)
			}
			if !reflect.DeepEqual(codes(got.Errors), tt.errors) {
				t.Errorf("errors = %v, want %v (%+v)", codes(got.Errors), tt.errors, got.Errors)
			}
			if !reflect.DeepEqual(codes(got.Warnings), tt.warnings) {
				t.Errorf("warnings = %v, want %v", codes(got.Warnings), tt.warnings)
			}
			if !reflect.DeepEqual(codes(got.Notes), tt.notes) {
				t.Errorf("notes = %v, want %v", codes(got.Notes), tt.notes)
			}
			if !reflect.DeepEqual(got.Changes, tt.changes) {
				t.Errorf("changes = %+v, want %+v", got.Changes, tt.changes)
			}
			if got.Renewal != tt.renewal {
				t.Errorf("renewal = %v, want %v", got.Renewal, tt.renewal)
			}
			for _, e := range append(got.Errors, got.Warnings...) {
				if e.Message == "" {
					t.Errorf("issue %s has no message", e.Code)
				}
			}
		})
	}
}

func TestSummaryAndEvidence(t *testing.T) {
	rep := check(t, csvRows(
		[]string{"E-mail Address", "Expiry Date", "Notes"},
		[]string{"ana@example.com", "15/01/2027", "renewed"},
		[]string{"bo@example.com", "01/03/2027", ""},
		[]string{"nobody@example.com", "01/02/2027", ""},
	), bulk.Mapping{})
	want := bulk.Summary{Update: 2, Unchanged: 0, Error: 1, Warning: 0, Renewals: 1, CreditsRequired: 1}
	if rep.Summary != want {
		t.Errorf("summary = %+v, want %+v", rep.Summary, want)
	}
	if !reflect.DeepEqual(rep.DateFormatCandidates, []string{"DD/MM/YYYY"}) || rep.DateFormat != "DD/MM/YYYY" {
		t.Errorf("date format %q candidates %v, want DD/MM/YYYY only", rep.DateFormat, rep.DateFormatCandidates)
	}
	if rep.MatchBy != bulk.AttrEmail || rep.HeaderRow != 1 || rep.DataRows != 3 {
		t.Errorf("matchBy %q headerRow %d dataRows %d", rep.MatchBy, rep.HeaderRow, rep.DataRows)
	}
	if !rep.NeedsMapping() {
		t.Errorf("the Notes column is unmapped, so the report needs mapping: %+v", rep.Columns)
	}
	if got := rowNumbered(t, rep, 3).Changes; len(got) != 1 || got[0].To != "2027-03-01" {
		t.Errorf("row 3 read 01/03/2027 as %+v, want 2027-03-01 (day first, as the column says)", got)
	}
}

func TestAmbiguousColumnListsBothFormats(t *testing.T) {
	rep := check(t, csvRows(
		[]string{"Email", "Expiry Date"},
		[]string{"ana@example.com", "01/02/2027"},
		[]string{"bo@example.com", "03/04/2027"},
	), bulk.Mapping{})
	if !reflect.DeepEqual(rep.DateFormatCandidates, []string{"DD/MM/YYYY", "MM/DD/YYYY"}) {
		t.Errorf("candidates = %v", rep.DateFormatCandidates)
	}
	if rep.DateFormat != "" {
		t.Errorf("dateFormat = %q, want none chosen", rep.DateFormat)
	}
	for _, r := range rep.Rows {
		if r.Outcome != bulk.OutcomeError || codes(r.Errors)[0] != bulk.ErrInvalidDate {
			t.Errorf("row %d = %+v, want an invalid_date error", r.Row, r)
		}
		if !strings.Contains(r.Errors[0].Message, "DD/MM/YYYY") || !strings.Contains(r.Errors[0].Message, "MM/DD/YYYY") {
			t.Errorf("message %q should name both readings", r.Errors[0].Message)
		}
	}
}

func TestDateCells(t *testing.T) {
	src := csvRows([]string{"Email", "Expiry Date"}, []string{"ana@example.com", ""}, []string{"bo@example.com", ""})
	src.info.Format = "xlsx"
	src.lines[1].Cells[1] = sheet.Cell{Kind: sheet.Date, Text: "2027-01-15"}.WithDay(dates.Date{Year: 2027, Month: 1, Day: 15})
	src.lines[2].Cells[1] = sheet.Cell{Kind: sheet.Number, Text: "46402", Num: 46402}
	rep := check(t, src, bulk.Mapping{})
	for _, n := range []int{2, 3} {
		r := rowNumbered(t, rep, n)
		var to string
		for _, c := range r.Changes {
			if c.Field == bulk.AttrExpiresOn {
				to = c.To
			}
		}
		if to != "2027-01-15" {
			t.Errorf("row %d expiry = %q, want 2027-01-15 (%+v)", n, to, r)
		}
	}
}

// emitted is what a test keeps of an outcome: the row is valid only while
// emit runs.
type emitted struct {
	Row    bulk.Row
	Before *bulk.Credential
	After  *bulk.Credential
}

func TestEmitHandsOverCredentials(t *testing.T) {
	var got []emitted
	_, err := Run(context.Background(), csvRows(
		[]string{"Email", "Grade"},
		[]string{"ana@example.com", "A+"},
		[]string{"nobody@example.com", "B"},
	), Input{Group: group, Credentials: credentials(), Now: now}, func(o Outcome) error {
		got = append(got, emitted{Row: *o.Row, Before: o.Before, After: o.After()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("emitted %d rows, want 2", len(got))
	}
	for _, o := range got {
		switch o.Row.Outcome {
		case bulk.OutcomeUpdate:
			if o.Before == nil || o.After == nil || o.Before.Grade != "A" || o.After.Grade != "A+" || o.After.Version != o.Before.Version {
				t.Errorf("update outcome before/after = %+v / %+v", o.Before, o.After)
			}
		case bulk.OutcomeError:
			if o.After != nil {
				t.Errorf("an error row has no after: %+v", o.After)
			}
		}
	}
}

func TestFingerprintFollowsTheData(t *testing.T) {
	lines := [][]string{{"Email", "Grade"}, {"ana@example.com", "A+"}, {"bo@example.com", "B"}}
	a := check(t, csvRows(lines...), bulk.Mapping{})
	b := check(t, csvRows(lines...), bulk.Mapping{})
	if a.Fingerprint == "" || a.Fingerprint != b.Fingerprint {
		t.Fatalf("same input, fingerprints %q and %q", a.Fingerprint, b.Fingerprint)
	}
	creds := credentials()
	creds[0].Grade = "A+"
	c, err := Check(context.Background(), csvRows(lines...), Input{Group: group, Credentials: creds, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if c.Fingerprint == a.Fingerprint {
		t.Error("a credential changed under the sheet, yet the fingerprint is the same")
	}
}

func TestBadMapping(t *testing.T) {
	tests := []struct {
		name    string
		mapping bulk.Mapping
	}{
		{"unknown date format", bulk.Mapping{DateFormat: "YYYYMMDD!"}},
		{"match by a non-key attribute", bulk.Mapping{MatchBy: "grade"}},
		{"unknown attribute", bulk.Mapping{Columns: map[string]string{"Email": "recipient.phone"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(context.Background(), csvRows([]string{"Email"}, []string{"ana@example.com"}),
				Input{Group: group, Credentials: credentials(), Mapping: tt.mapping, Now: now})
			if bulk.ErrorCode(err) != bulk.EInvalid {
				t.Errorf("err = %v, want an invalid error", err)
			}
		})
	}
}

func TestEmptySheet(t *testing.T) {
	_, err := Check(context.Background(), csvRows(), Input{Group: group, Now: now})
	if bulk.ErrorCode(err) != bulk.EInvalid || !strings.Contains(err.Error(), "empty") {
		t.Errorf("err = %v, want an invalid error saying the sheet is empty", err)
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in           string
		decimalComma bool
		want         float64
		ok           bool
	}{
		{"40", false, 40, true},
		{"12.5", false, 12.5, true},
		{"12,5", false, 12.5, true},
		{"12,5", true, 12.5, true},
		{"1,234", false, 1234, true},
		{"1,234", true, 1.234, true},
		{"1,234.75", false, 1234.75, true},
		{"1.234,75", true, 1234.75, true},
		{"1.234,75", false, 1234.75, true},
		{"-3", false, -3, true},
		{"1,2,3", true, 0, false},
		{"forty", false, 0, false},
		{"1e999", false, 0, false},
		{"NaN", false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseNumber(tt.in, tt.decimalComma)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("parseNumber(%q, %v) = %v, %v; want %v, %v", tt.in, tt.decimalComma, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// A change between two whole numbers takes the sheet's text as it is: it
// must be what reading and writing the number would give.
func TestWholeNumberIsWrittenAsFormatFloatWrites(t *testing.T) {
	for _, s := range []string{"0", "7", "40", "1000", "999999999999999", "123456789012345"} {
		if !wholeNumber(s) {
			t.Errorf("wholeNumber(%q) = false", s)
		}
	}
	for _, s := range []string{"", "07", "00", "-3", "+3", "1.0", "12.5", "1e3", "1,234", " 4", "1234567890123456"} {
		if wholeNumber(s) {
			t.Errorf("wholeNumber(%q) = true", s)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 100_000 {
		s := strconv.FormatUint(r.Uint64()>>r.IntN(64), 10)
		if !wholeNumber(s) {
			continue
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || strconv.FormatFloat(f, 'f', -1, 64) != s {
			t.Fatalf("wholeNumber(%q), but it reads and writes as %v", s, strconv.FormatFloat(f, 'f', -1, 64))
		}
	}
}
