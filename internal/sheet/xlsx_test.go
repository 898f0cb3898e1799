package sheet

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/credup/credup/internal/dates"
	"github.com/xuri/excelize/v2"
)

func TestXLSXCells(t *testing.T) {
	xlsx := excelizeXLSX(t, func(f *excelize.File) {
		iso, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd")})
		builtin, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
		text, _ := f.NewStyle(&excelize.Style{NumFmt: 49})
		f.SetSheetRow("Sheet1", "A1", &[]any{"Credential ID", "Hours", "Issued", "Expires", "Active", "Label", "Ratio"})
		f.SetSheetRow("Sheet1", "A2", &[]any{"000123", 40, 45306, 46037, true, "C-000123", 2.5})
		f.SetCellStyle("Sheet1", "C2", "C3", iso)
		f.SetCellStyle("Sheet1", "D2", "D3", builtin)
		// Row 3 is blank; row 4 holds values after a gap of columns.
		f.SetSheetRow("Sheet1", "A5", &[]any{"000124", 0.1, time.Date(2024, 2, 29, 13, 30, 0, 0, time.UTC)})
		f.SetCellStyle("Sheet1", "C5", "C5", iso)
		f.SetCellValue("Sheet1", "G5", "  ")
		f.SetCellValue("Sheet1", "E5", false)
		f.SetCellStyle("Sheet1", "A5", "A5", text)
		f.SetCellValue("Sheet1", "C7", "   ") // a row of white space only
	})
	r, err := openBytes(t, xlsx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Info(); got.Format != FormatXLSX || got.Sheet != "Sheet1" || got.Date1904 || got.Encoding != EncodingUTF8 {
		t.Errorf("info = %+v", got)
	}
	rows := readAll(t, r)
	assertRows(t, rows, []string{
		"1: T:Credential ID|T:Hours|T:Issued|T:Expires|T:Active|T:Label|T:Ratio",
		"2: T:000123|N:40|D:2024-01-15|D:2026-01-15|B:TRUE|T:C-000123|N:2.5",
		"5: T:000124|N:0.1|D:2024-02-29T13:30:00|_|B:FALSE|_|T:  ",
	})
	hours := rows[1].Cells[1]
	if d, ok := hours.Day(); hours.Num != 40 || !ok || d != (dates.Date{Year: 1900, Month: 2, Day: 9}) {
		t.Errorf("hours cell = %+v: want Num 40 and Day read as serial 40 (1900-02-09)", hours)
	}
	issued := rows[1].Cells[2]
	if d, ok := issued.Day(); issued.Num != 45306 || !ok || d != (dates.Date{Year: 2024, Month: 1, Day: 15}) {
		t.Errorf("issued cell = %+v", issued)
	}
}

func ptr[T any](v T) *T { return &v }

// Excel counts a 29 February 1900 that never was (serial 60), so serials
// from 61 on are one day later than a plain count from 1899-12-31; in the
// 1904 system serial 0 is 1904-01-01.
func TestSerialDates(t *testing.T) {
	tests := []struct {
		name     string
		date1904 bool
		serial   string
		style    int
		want     string // the cell as show renders it
		day      string // Day as ISO, "" for none
	}{
		{"serial 1", false, "1", styleDate, "D:1900-01-01", "1900-01-01"},
		{"serial 59", false, "59", styleDate, "D:1900-02-28", "1900-02-28"},
		{"serial 60 is no date", false, "60", styleDate, "N:60", ""},
		{"serial 61", false, "61", styleDate, "D:1900-03-01", "1900-03-01"},
		{"modern date", false, "45306", styleDate, "D:2024-01-15", "2024-01-15"},
		{"custom date format", false, "45351", styleCustomDate, "D:2024-02-29", "2024-02-29"},
		{"date with time", false, "45306.75", styleDate, "D:2024-01-15T18:00:00", "2024-01-15"},
		{"plain number keeps the serial reading", false, "45306", styleGeneral, "N:45306", "2024-01-15"},
		{"quoted text in a format is not a date", false, "45306", styleDays, "N:45306", "2024-01-15"},
		{"time of day alone is no date", false, "0.5", styleTime, "N:0.5", ""},
		{"negative number", false, "-3", styleDate, "N:-3", ""},
		{"beyond year 9999", false, "2958466", styleDate, "N:2958466", ""},
		{"1904 serial 0", true, "0", styleDate, "D:1904-01-01", "1904-01-01"},
		{"1904 modern date", true, "43844", styleDate, "D:2024-01-15", "2024-01-15"},
		{"1904 plain number", true, "43844", styleGeneral, "N:43844", "2024-01-15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := ""
			if tt.date1904 {
				pr = ` date1904="1"`
			}
			data := rawXLSX(t, pr, `<row r="1"><c r="A1" s="`+itoa(tt.style)+`"><v>`+tt.serial+`</v></c></row>`, "")
			r, err := openBytes(t, data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Info().Date1904 != tt.date1904 {
				t.Errorf("Date1904 = %v", r.Info().Date1904)
			}
			c := readAll(t, r)[0].Cells[0]
			if got := showCell(c); got != tt.want {
				t.Errorf("cell = %s, want %s", got, tt.want)
			}
			gotDay := ""
			if d, ok := c.Day(); ok {
				gotDay = d.String()
			}
			if gotDay != tt.day {
				t.Errorf("Day = %q, want %q", gotDay, tt.day)
			}
		})
	}
}

func TestXLSXText(t *testing.T) {
	sst := `<si><t>plain</t></si>` +
		`<si><r><rPr><b/></rPr><t>rich </t></r><r><t xml:space="preserve">text</t></r></si>` +
		`<si><t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh><phoneticPr fontId="1"/></si>` +
		`<si><t>line_x000D_
break &amp; &lt;tag&gt; &#233;&#x20AC;</t></si>` +
		`<si><t>_x005F_x0041_ stays</t></si>` +
		`<si><t><![CDATA[a <b> & c]]></t></si>` +
		`<si><t/></si>` +
		`<si><t>00042</t></si>`
	tests := []struct {
		name string
		row  string
		want string
	}{
		{"shared string", `<c r="A1" t="s"><v>0</v></c>`, "T:plain"},
		{"rich text runs joined", `<c r="A1" t="s"><v>1</v></c>`, "T:rich text"},
		{"phonetic guide left out", `<c r="A1" t="s"><v>2</v></c>`, "T:山田"},
		{"escapes and entities", `<c r="A1" t="s"><v>3</v></c>`, "T:line\r\nbreak & <tag> é€"},
		{"escaped underscore", `<c r="A1" t="s"><v>4</v></c>`, "T:_x0041_ stays"},
		{"cdata", `<c r="A1" t="s"><v>5</v></c>`, "T:a <b> & c"},
		{"empty shared string is an empty cell", `<c r="A1" t="s"><v>6</v></c><c r="B1"><v>1</v></c>`, "_|N:1"},
		{"leading zeros of text kept", `<c r="A1" t="s"><v>7</v></c>`, "T:00042"},
		{"inline string", `<c r="A1" t="inlineStr"><is><t>inline</t></is></c>`, "T:inline"},
		{"inline rich string", `<c r="A1" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c>`, "T:ab"},
		{"formula string", `<c r="A1" t="str"><f>CONCAT("a","b")</f><v>ab</v></c>`, "T:ab"},
		{"formula number", `<c r="A1"><f>1+1</f><v>2</v></c>`, "N:2"},
		{"error value", `<c r="A1" t="e"><f>1/0</f><v>#DIV/0!</v></c>`, "T:#DIV/0!"},
		{"boolean", `<c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c>`, "B:TRUE|B:FALSE"},
		{"iso date cell", `<c r="A1" t="d"><v>2024-01-15T00:00:00</v></c>`, "D:2024-01-15"},
		{"cells without references", `<c><v>1</v></c><c t="s"><v>0</v></c><c r="E1"><v>5</v></c>`, "N:1|T:plain|_|_|N:5"},
		{"numbers in shortest form", `<c r="A1"><v>0.10000000000000001</v></c><c r="B1"><v>1.5E+3</v></c><c r="C1"><v>1E-10</v></c>`, "N:0.1|N:1500|N:1e-10"},
		{"comments and processing instructions", `<!-- a comment --><c r="A1"><?pi x?><v>7</v></c>`, "N:7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := rawXLSX(t, "", `<row r="1">`+tt.row+`</row>`, sst)
			r, err := openBytes(t, data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rows := readAll(t, r)
			assertRows(t, rows, []string{"1: " + tt.want})
		})
	}
}

// Some writers (the Open XML SDK among them) prefix every element.
func TestXLSXPrefixedElements(t *testing.T) {
	data := zipParts(t,
		"_rels/.rels", packageRels,
		"xl/workbook.xml", `<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><x:sheets><x:sheet name="Data" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>`,
		"xl/_rels/workbook.xml.rels", workbookRels,
		"xl/worksheets/sheet1.xml", `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData><x:row r="2"><x:c r="B2" t="inlineStr"><x:is><x:t>hi</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>`,
	)
	r, err := openBytes(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	assertRows(t, readAll(t, r), []string{"2: _|T:hi"})
	if got := r.Info().Sheet; got != "Data" {
		t.Errorf("sheet = %q", got)
	}
}

func TestXLSXSheets(t *testing.T) {
	xlsx := excelizeXLSX(t, func(f *excelize.File) {
		f.SetSheetName("Sheet1", "Notes")
		f.NewSheet("Hidden")
		f.SetCellValue("Hidden", "A1", "lookup")
		f.SetSheetVisible("Hidden", false)
		f.NewSheet("Data")
		f.SetCellValue("Data", "B3", "first data")
		f.NewSheet("More")
		f.SetCellValue("More", "A1", "more")
	})
	tests := []struct {
		name  string
		sheet string
		code  string
		got   string // sheet read
		want  []string
	}{
		{"first visible sheet with data", "", "", "Data", []string{"3: _|T:first data"}},
		{"named sheet", "More", "", "More", []string{"1: T:more"}},
		{"named sheet, case differs", "more", "", "More", []string{"1: T:more"}},
		{"hidden sheet by name", "Hidden", "", "Hidden", []string{"1: T:lookup"}},
		{"named sheet missing", "Learners", CodeNoSheet, "", nil},
		{"named sheet empty", "Notes", CodeEmpty, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openBytes(t, xlsx, Options{Sheet: tt.sheet})
			if tt.code != "" {
				if err == nil {
					r.Close()
					t.Fatalf("no error, want %s", tt.code)
				}
				if code := errCode(t, err); code != tt.code {
					t.Errorf("code = %s, want %s (%v)", code, tt.code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Info().Sheet; got != tt.got {
				t.Errorf("sheet = %q, want %q", got, tt.got)
			}
			assertRows(t, readAll(t, r), tt.want)
		})
	}
	t.Run("no sheet with data", func(t *testing.T) {
		empty := excelizeXLSX(t, func(f *excelize.File) { f.NewSheet("Other") })
		_, err := openBytes(t, empty, Options{})
		if err == nil || errCode(t, err) != CodeEmpty {
			t.Fatalf("error = %v, want empty", err)
		}
	})
	t.Run("no_sheet lists the sheets", func(t *testing.T) {
		_, err := openBytes(t, xlsx, Options{Sheet: "Learners"})
		if want := `the workbook has no sheet named "Learners"; its sheets are "Notes", "Hidden", "Data", "More"`; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
}

func TestXLSXLimits(t *testing.T) {
	long := strings.Repeat("ü", 41)
	tests := []struct {
		name    string
		row     string
		sst     string
		opts    Options
		code    string
		message string
	}{
		{"shared string too long", `<c r="C4" t="s"><v>0</v></c>`, "<si><t>" + long + "</t></si>", Options{MaxCellLen: 40}, CodeCellTooLong,
			"row 4, column C: cell has 41 characters; the limit is 40"},
		{"inline string too long", `<c r="B4" t="inlineStr"><is><t>` + long + strings.Repeat(long, 10) + `</t></is></c>`, "", Options{MaxCellLen: 40}, CodeCellTooLong,
			"row 4, column B: cell has more than 40 characters; the limit is 40"},
		{"characters, not bytes", `<c r="C4" t="s"><v>0</v></c>`, "<si><t>" + long[2:] + "</t></si>", Options{MaxCellLen: 40}, "", ""},
		{"too many columns", `<c r="A4"><v>1</v></c><c r="E4"><v>1</v></c>`, "", Options{MaxColumns: 4}, CodeTooManyColumns,
			"row 4, column E: the row has data in column E; the limit is 4 columns"},
		{"styled empty cells beyond the limit", `<c r="A4"><v>1</v></c><c r="XFD4" s="1"/>`, "", Options{MaxColumns: 4}, "", ""},
		{"too many rows", `<c r="A4"><v>1</v></c>`, "", Options{MaxRows: 3}, CodeTooManyRows, "row 4: the sheet has data beyond row 3, the limit"},
		{"shared string missing", `<c r="A4" t="s"><v>9</v></c>`, "", Options{}, CodeCorrupt, `row 4, column A: the cell refers to shared text "9" that the workbook does not have`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := rawXLSX(t, "", `<row r="1"><c r="A1"><v>0</v></c></row><row r="4">`+tt.row+`</row>`, tt.sst)
			r, err := openBytes(t, data, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, err = readRows(r)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s", tt.code)
			}
			if code := errCode(t, err); code != tt.code {
				t.Errorf("code = %s, want %s", code, tt.code)
			}
			if err.Error() != tt.message {
				t.Errorf("message = %q\n         want %q", err, tt.message)
			}
		})
	}
}

// A workbook whose sheet XML breaks off part way must not read as a shorter
// sheet: excelize's own Rows iterator stops silently there.
func TestXLSXTruncated(t *testing.T) {
	xlsx := excelizeXLSX(t, func(f *excelize.File) {
		for i := 1; i <= 200; i++ {
			cell, _ := excelize.CoordinatesToCellName(1, i)
			f.SetSheetRow("Sheet1", cell, &[]any{"learner", i})
		}
	})
	cut := func(at string) func([]byte) []byte {
		return func(b []byte) []byte {
			i := bytes.Index(b, []byte(at))
			if i < 0 {
				t.Fatalf("sheet XML has no %q", at)
			}
			return b[:i+len(at)/2]
		}
	}
	tests := []struct {
		name    string
		edit    func([]byte) []byte
		code    string
		rows    int
		message string
	}{
		{"cut in the middle of a row", cut(`<row r="120"`), CodeTruncated, 119, `the sheet "Sheet1" is damaged after row 119`},
		{"cut inside a cell", cut(`<c r="B150"`), CodeTruncated, 149, `the sheet "Sheet1" is damaged after row 149`},
		{"garbage in the middle", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`<row r="57"`), []byte(`<row r="57" <<`), 1)
		}, CodeTruncated, 56, `the sheet "Sheet1" is damaged after row 5`},
		{"end tags missing", func(b []byte) []byte {
			i := bytes.Index(b, []byte(`</sheetData>`))
			return b[:i]
		}, CodeTruncated, 200, `the sheet "Sheet1" is damaged after row 200`},
		{"damaged before any row", func(b []byte) []byte {
			i := bytes.Index(b, []byte(`<sheetData>`))
			return b[:i+5]
		}, CodeCorrupt, 0, `the sheet "Sheet1" is damaged and cannot be read`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := replacePart(t, xlsx, "xl/worksheets/sheet1.xml", tt.edit)
			r, err := openBytes(t, data, Options{})
			var rows []Row
			if err == nil {
				defer r.Close()
				rows, err = readRows(r)
			}
			if err == nil {
				t.Fatalf("read %d rows and no error", len(rows))
			}
			if code := errCode(t, err); code != tt.code {
				t.Errorf("code = %s, want %s (%v)", code, tt.code, err)
			}
			if len(rows) != tt.rows {
				t.Errorf("read %d rows before the error, want %d", len(rows), tt.rows)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("message %q does not say %q", err, tt.message)
			}
		})
	}
	t.Run("zip cut short", func(t *testing.T) {
		_, err := openBytes(t, xlsx[:len(xlsx)*2/3], Options{})
		if err == nil || errCode(t, err) != CodeCorrupt {
			t.Fatalf("error = %v, want corrupt", err)
		}
	})
}

// A zip bomb: a small file whose sheet inflates far beyond what a workbook
// of its size holds. The limit is lowered to keep the test fast.
func TestXLSXZipBomb(t *testing.T) {
	big := `<row r="1"><c r="A1"><v>1</v></c></row>` + strings.Repeat(`<row><c><v>0</v></c></row>`, 200_000)
	data := rawXLSX(t, "", big, "")
	if len(data) > 200_000 {
		t.Fatalf("the bomb is %d bytes; it should compress far better", len(data))
	}
	tests := []struct {
		name string
		opts Options
	}{
		{"all parts together", Options{unzipLimit: 1 << 20}},
		{"one XML part", Options{xmlPartLimit: 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openBytes(t, data, tt.opts)
			if err == nil || errCode(t, err) != CodeTooLarge {
				t.Fatalf("error = %v, want too_large", err)
			}
			if !strings.Contains(err.Error(), "unpacks to more than") {
				t.Errorf("message %q does not explain", err)
			}
		})
	}
}

func TestIsDateFormat(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"yyyy-mm-dd", true},
		{`yyyy\-mm\-dd`, true},
		{"dd/mm/yyyy;@", true},
		{"[$-409]mmmm d, yyyy;@", true},
		{"h:mm AM/PM", true},
		{"[h]:mm:ss", true},
		{"General", false},
		{"0.00", false},
		{"#,##0.00 [$€-1]", false},
		{`0.0 "days"`, false},
		{`#,##0_);[Red](#,##0)`, false},
		{"0.00E+00", false},
		{"@", false},
		{`\d0`, false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := isDateFormat(tt.code); got != tt.want {
				t.Errorf("isDateFormat(%q) = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{40, "40"}, {2.5, "2.5"}, {0.1, "0.1"}, {-3, "-3"}, {0, "0"},
		{1234567890123, "1234567890123"}, {0.000123, "0.000123"}, {1e-7, "1e-07"}, {1e22, "1e+22"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatNumber(tt.f); got != tt.want {
				t.Errorf("formatNumber(%v) = %q, want %q", tt.f, got, tt.want)
			}
		})
	}
}
