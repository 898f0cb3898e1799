package template

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/credup/credup/internal/bulk"
)

var ux = bulk.Group{ID: "g-ux", Name: "UX Foundations", Attributes: []bulk.Attribute{
	{Key: "course_hours", Label: "Course Hours", Kind: bulk.KindNumber},
	{Key: "employee_code", Label: "Employee Code", Kind: bulk.KindText},
	{Key: "passed_on", Label: "Passed On", Kind: bulk.KindDate},
}}

var wantHeader = []string{"Credential ID", "Recipient ID", "Recipient Name", "Recipient Email",
	"Issued On", "Expires On", "Grade", "Description", "Course Hours", "Employee Code", "Passed On"}

// credentials of the UX group, out of ID order, plus one of another group.
func credentials() []bulk.Credential {
	return []bulk.Credential{
		{ID: "c-1002", GroupID: "g-ux", Recipient: bulk.Recipient{ID: "007", Name: "Zoë Ångström", Email: "zoe@example.com"},
			IssuedOn: "2024-01-15", ExpiresOn: "2025-01-15", Grade: "+1", Description: `=HYPERLINK("x")`,
			Custom: map[string]string{"course_hours": "40", "employee_code": "00123", "passed_on": "2023-12-01"}},
		{ID: "c-1001", GroupID: "g-ux", Recipient: bulk.Recipient{ID: "S-001", Name: "Ana Souza", Email: "ana@example.com"},
			IssuedOn: "2024-02-29", Grade: "-2", Description: "@SUM(A1)",
			Custom: map[string]string{"course_hours": "2.5", "employee_code": "\tx"}},
		{ID: "c-0999", GroupID: "g-other", Recipient: bulk.Recipient{ID: "S-9", Name: "Other", Email: "other@example.com"},
			IssuedOn: "2024-01-01"},
		{ID: "c-1003", GroupID: "g-ux", Recipient: bulk.Recipient{ID: "0042", Name: "Bo, \"the\" Builder", Email: "bo@example.com"},
			IssuedOn: "15/01/2024", ExpiresOn: "2026-06-30", Grade: "A", Description: "line one\nline two",
			Custom: map[string]string{"course_hours": "40.0", "employee_code": "=1+1", "passed_on": "soon"}},
	}
}

// wantRows is what the template must hold for creds: the UX group's
// credentials in ID order, every attribute's value.
func wantRows(creds []bulk.Credential) [][]string {
	var rows [][]string
	for _, c := range creds {
		if c.GroupID != ux.ID {
			continue
		}
		var row []string
		for _, a := range ux.AttributeKeys() {
			row = append(row, c.Get(a))
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return rows
}

func TestCSV(t *testing.T) {
	creds := credentials()
	var buf bytes.Buffer
	if err := Write(&buf, "csv", ux, creds); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	body, ok := strings.CutPrefix(raw, "\ufeff")
	if !ok {
		t.Fatal("the CSV does not start with a UTF-8 byte order mark")
	}
	if !strings.HasPrefix(body, strings.Join(wantHeader, ",")+"\r\n") {
		t.Errorf("the CSV does not start with the header and CRLF: %q", body[:min(len(body), 200)])
	}
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(records[0], wantHeader) {
		t.Errorf("header = %q; want %q", records[0], wantHeader)
	}
	want := wantRows(creds)
	if len(records)-1 != len(want) {
		t.Fatalf("%d data rows; want %d", len(records)-1, len(want))
	}
	for r, row := range records[1:] {
		for i, v := range row {
			if got := bulk.UnescapeFormula(v); got != want[r][i] {
				t.Errorf("row %d %s = %q; want %q", r+2, wantHeader[i], got, want[r][i])
			}
		}
	}
	t.Run("formula-looking values are prefixed", func(t *testing.T) {
		for _, v := range []string{`=HYPERLINK("x")`, "+1", "-2", "@SUM(A1)", "\tx", "=1+1"} {
			if !slices.ContainsFunc(records[1:], func(row []string) bool { return slices.Contains(row, "'"+v) }) {
				t.Errorf("no cell holds %q", "'"+v)
			}
			if slices.ContainsFunc(records[1:], func(row []string) bool { return slices.Contains(row, v) }) {
				t.Errorf("a cell holds %q unescaped", v)
			}
		}
	})
}

func TestXLSX(t *testing.T) {
	creds := credentials()
	var buf bytes.Buffer
	if err := Write(&buf, "xlsx", ux, creds); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"UX Foundations"}) {
		t.Fatalf("sheets = %q; want just UX Foundations", got)
	}
	const sheet = "UX Foundations"
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], wantHeader) {
		t.Errorf("header = %q; want %q", rows[0], wantHeader)
	}
	want := wantRows(creds)
	if len(rows)-1 != len(want) {
		t.Fatalf("%d data rows; want %d", len(rows)-1, len(want))
	}
	for r, row := range rows[1:] {
		for i := range wantHeader {
			v := ""
			if i < len(row) {
				v = row[i]
			}
			if got := bulk.UnescapeFormula(v); got != want[r][i] {
				t.Errorf("row %d %s = %q; want %q", r+2, wantHeader[i], got, want[r][i])
			}
		}
	}

	// Rows in ID order: c-1001, c-1002, c-1003.
	cells := []struct {
		name, cell string
		raw        string // the stored value
		text       bool   // a text cell with the "@" number format
		number     bool   // a numeric cell
		numFmt     string // the custom number format, if any
	}{
		{"leading zeros of a recipient ID", "B3", "007", true, false, ""},
		{"leading zeros of a custom text ID", "J3", "00123", true, false, ""},
		{"credential ID", "A2", "c-1001", true, false, ""},
		{"issue date is a date", "E2", "45351", false, true, "yyyy-mm-dd"},
		{"expiry date is a date", "F3", "45672", false, true, "yyyy-mm-dd"},
		{"custom date is a date", "K3", "45261", false, true, "yyyy-mm-dd"},
		{"unparsable date stays text", "E4", "15/01/2024", true, false, ""},
		{"number that round-trips", "I3", "40", false, true, ""},
		{"decimal that round-trips", "I2", "2.5", false, true, ""},
		{"number that would not round-trip stays text", "I4", "40.0", true, false, ""},
		{"formula-looking text is prefixed", "H3", `'=HYPERLINK("x")`, false, false, ""},
		{"formula-looking ID is prefixed", "J4", "'=1+1", true, false, ""},
		{"tab is prefixed", "J2", "'\tx", true, false, ""},
		{"minus is prefixed", "G2", "'-2", false, false, ""},
	}
	for _, tt := range cells {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := f.GetCellValue(sheet, tt.cell, excelize.Options{RawCellValue: true})
			if err != nil || raw != tt.raw {
				t.Errorf("%s = %q, %v; want %q", tt.cell, raw, err, tt.raw)
			}
			typ, err := f.GetCellType(sheet, tt.cell)
			if err != nil {
				t.Fatal(err)
			}
			isString := typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString
			if isString == tt.number {
				t.Errorf("%s has cell type %v; want number %v", tt.cell, typ, tt.number)
			}
			style := cellStyle(t, f, sheet, tt.cell)
			if isText := style.NumFmt == 49; isText != tt.text {
				t.Errorf("%s number format %d; want text (49) %v", tt.cell, style.NumFmt, tt.text)
			}
			if got := deref(style.CustomNumFmt); got != tt.numFmt {
				t.Errorf("%s custom number format %q; want %q", tt.cell, got, tt.numFmt)
			}
		})
	}

	t.Run("never-expiring credential has a blank expiry", func(t *testing.T) {
		if v, _ := f.GetCellValue(sheet, "F2"); v != "" {
			t.Errorf("F2 = %q; want blank", v)
		}
	})
	t.Run("header is bold and frozen", func(t *testing.T) {
		for _, c := range []string{"A1", "E1", "K1"} {
			if s := cellStyle(t, f, sheet, c); s.Font == nil || !s.Font.Bold {
				t.Errorf("%s is not bold", c)
			}
		}
		p, err := f.GetPanes(sheet)
		if err != nil || !p.Freeze || p.YSplit != 1 || p.TopLeftCell != "A2" {
			t.Errorf("panes = %+v, %v; want the first row frozen", p, err)
		}
	})
	t.Run("columns are wide enough for their header", func(t *testing.T) {
		for i, h := range wantHeader {
			name, _ := excelize.ColumnNumberToName(i + 1)
			w, err := f.GetColWidth(sheet, name)
			if err != nil || w < float64(len(h)) || w > 60 {
				t.Errorf("column %s (%s) width %v, %v", name, h, w, err)
			}
		}
	})
}

func cellStyle(t *testing.T, f *excelize.File, sheet, cell string) *excelize.Style {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestEmptyTemplate(t *testing.T) {
	for _, format := range []string{"csv", "xlsx"} {
		for _, tc := range []struct {
			name  string
			creds []bulk.Credential
		}{
			{"no credentials", nil},
			{"only other groups' credentials", []bulk.Credential{{ID: "c-1", GroupID: "g-other"}}},
		} {
			t.Run(format+" "+tc.name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, ux, tc.creds); err != nil {
					t.Fatal(err)
				}
				rows := readRows(t, format, buf.Bytes())
				if len(rows) != 1 || !slices.Equal(rows[0], wantHeader) {
					t.Errorf("rows = %q; want just the header", rows)
				}
			})
		}
	}
}

func TestOtherGroupsLeftOut(t *testing.T) {
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, ux, credentials()); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, row := range readRows(t, format, buf.Bytes())[1:] {
				ids = append(ids, row[0])
			}
			if want := []string{"c-1001", "c-1002", "c-1003"}; !slices.Equal(ids, want) {
				t.Errorf("credential IDs = %q; want %q", ids, want)
			}
		})
	}
}

func readRows(t *testing.T, format string, data []byte) [][]string {
	t.Helper()
	if format == "csv" {
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestUnknownFormat(t *testing.T) {
	err := Write(io.Discard, "ods", ux, nil)
	if bulk.ErrorCode(err) != bulk.EInvalid {
		t.Errorf("Write(ods) = %v; want an invalid error", err)
	}
}

func TestSheetName(t *testing.T) {
	tests := []struct{ group, want string }{
		{"UX Foundations", "UX Foundations"},
		{"Q1/Q2 [draft]: *final*?", "Q1Q2 draft final"},
		{`a\b`, "ab"},
		{"A very long group name that goes past Excel's limit", "A very long group name that goe"},
		{"'quoted'", "quoted"},
		{"", "Credentials"},
		{"[]:*?/\\", "Credentials"},
		{"history", "Credentials"},
		{"Émission 2024 — été", "Émission 2024 — été"},
		{strings.Repeat("😀", 20), strings.Repeat("😀", 15)},
	}
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			got := SheetName(tt.group)
			if got != tt.want {
				t.Errorf("SheetName(%q) = %q; want %q", tt.group, got, tt.want)
			}
			// Whatever the group is called, excelize (and so Excel) accepts the name.
			f := excelize.NewFile()
			defer f.Close()
			if _, err := f.NewSheet(got); err != nil {
				t.Errorf("sheet name %q refused: %v", got, err)
			}
		})
	}
}

func benchCredentials(n int) []bulk.Credential {
	creds := make([]bulk.Credential, n)
	for i := range creds {
		creds[i] = bulk.Credential{
			ID: fmt.Sprintf("c-%07d", i), GroupID: ux.ID,
			Recipient: bulk.Recipient{ID: fmt.Sprintf("%06d", i), Name: "Ana Souza", Email: fmt.Sprintf("ana%d@example.com", i)},
			IssuedOn:  "2024-01-15", ExpiresOn: "2026-01-15", Grade: "A", Description: "UX Foundations, cohort 2024",
			Custom: map[string]string{"course_hours": "40", "employee_code": fmt.Sprintf("E%05d", i), "passed_on": "2023-12-01"},
		}
	}
	return creds
}

func BenchmarkWriteXLSX100k(b *testing.B) {
	creds := benchCredentials(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, "xlsx", ux, creds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteCSV100k(b *testing.B) {
	creds := benchCredentials(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, "csv", ux, creds); err != nil {
			b.Fatal(err)
		}
	}
}
