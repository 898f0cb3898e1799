package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// fuzzOptions are small limits, so that fuzzing reaches them.
var fuzzOptions = Options{MaxColumns: 16, MaxCellLen: 64, MaxRows: 5000}

// checkReader reads every row and checks what must hold for any input: no
// panic, only *Error for problems in the file, rows in ascending order
// within the limits.
func checkReader(t *testing.T, r Reader, err error) {
	t.Helper()
	if err != nil {
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("Open error %v (%T) is not a *sheet.Error", err, err)
		}
		return
	}
	defer r.Close()
	last := 0
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Next error %v (%T) is not a *sheet.Error", err, err)
			}
			if _, again := r.Next(); again == nil {
				t.Fatal("Next succeeded after an error")
			}
			return
		}
		if row.Number <= last {
			t.Fatalf("row %d after row %d", row.Number, last)
		}
		last = row.Number
		if len(row.Cells) > fuzzOptions.MaxColumns {
			t.Fatalf("row %d has %d cells; the limit is %d", row.Number, len(row.Cells), fuzzOptions.MaxColumns)
		}
		blank := true
		for _, c := range row.Cells {
			if n := utf8.RuneCountInString(c.Text); n > fuzzOptions.MaxCellLen {
				t.Fatalf("row %d has a cell of %d characters", row.Number, n)
			}
			if (c.Kind == Empty) != (c.Text == "") {
				t.Fatalf("row %d has a cell of kind %d with text %q", row.Number, c.Kind, c.Text)
			}
			if c.Kind != Empty && !isSpace(c.Text) {
				blank = false
			}
		}
		if blank {
			t.Fatalf("row %d is blank", row.Number)
		}
	}
}

func FuzzCSV(f *testing.F) {
	for _, seed := range []string{
		"a,b,c\n1,2,3\n",
		"a;b\r\n\"x;\r\ny\";z\r\n",
		"a\tb\r1\t2\r",
		"\xEF\xBB\xBFName,Email\nJos\xC3\xA9,x@example.com\n",
		"Name,City\nJos\xE9,S\xE3o Paulo\n",
		"\xFF\xFEa\x00,\x00b\x00\n\x00",
		"\xFE\xFF\x00a\x00|\x00b",
		"h\n\"unclosed,\nmore\n",
		"a,\"b\"c,d\"\"e\n\n\n,,,\n",
	} {
		f.Add([]byte(seed))
	}
	for _, name := range []string{"semicolon.csv", "windows-1252.csv", "unicode-text.txt"} {
		if data, err := os.ReadFile(fixture(name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), fuzzOptions)
		checkReader(t, r, err)
	})
}

// fuzzFile writes data to a file in a directory made once per process:
// creating a directory per input would slow fuzzing several times over.
func fuzzFile(t *testing.T, data []byte) string {
	fuzzDirOnce.Do(func() { fuzzDir, fuzzDirErr = os.MkdirTemp("", "credup-sheet-fuzz-") })
	if fuzzDirErr != nil {
		t.Fatal(fuzzDirErr)
	}
	f, err := os.CreateTemp(fuzzDir, "upload-*.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

var (
	fuzzDirOnce sync.Once
	fuzzDir     string
	fuzzDirErr  error
)

func FuzzXLSX(f *testing.F) {
	f.Add(excelizeXLSX(f, func(x *excelize.File) {
		x.SetSheetRow("Sheet1", "A1", &[]any{"Name", "Hours", "Issued"})
		x.SetSheetRow("Sheet1", "A3", &[]any{"000123", 40, 45306.5, true})
		style, _ := x.NewStyle(&excelize.Style{NumFmt: 14})
		x.SetCellStyle("Sheet1", "C3", "C3", style)
	}))
	f.Add(rawXLSX(f, ` date1904="1"`, `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" s="1"><v>61</v></c></row>`, `<si><r><t>a</t></r><rPh><t>b</t></rPh></si>`))
	for _, name := range []string{"credentials-libreoffice.xlsx", "credentials-gnumeric.xlsx", "credentials-libreoffice.xls", "protected.xlsx"} {
		if data, err := os.ReadFile(fixture(name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := OpenFile(fuzzFile(t, data), fuzzOptions)
		checkReader(t, r, err)
	})
}

// FuzzXLSXSheetXML fuzzes the worksheet and shared-string XML inside a
// valid package, where byte mutations of a whole zip rarely reach.
func FuzzXLSXSheetXML(f *testing.F) {
	f.Add(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" s="2"><v>45306</v></c></row><row r="3"><c t="inlineStr"><is><t>x&amp;y</t></is></c></row>`,
		`<si><t>a_x000D_b</t></si>`)
	f.Add(`<x:row><x:c t="b"><x:v>1</x:v></x:c><c r="B1" t="d"><v>2024-01-15</v></c><!-- c --><c><f>1</f><v><![CDATA[7]]></v></c></x:row>`, `<si/>`)
	f.Fuzz(func(t *testing.T, sheetData, sst string) {
		r, err := OpenFile(fuzzFile(t, rawXLSX(t, "", sheetData, sst)), fuzzOptions)
		checkReader(t, r, err)
	})
}

// FuzzTokenizerMatchesEncodingCSV holds the CSV tokenizer to what
// encoding/csv reads with the options credup used it with: the same
// records, fields and line numbers, whatever the input.
func FuzzTokenizerMatchesEncodingCSV(f *testing.F) {
	for _, seed := range []string{
		"a,b,c\n1,2,3\n",
		"a;b\r\n\"x;\r\ny\";z\r\n",
		"a\tb\r1\t2\r",
		"h\n\"unclosed,\nmore\n",
		"a,\"b\"c,d\"\"e\n\n\n,,,\n",
		"\"a\"\"b\",\"c\nd\"\r\n\n\"e\"x,\"\"\r",
		"x,\"y\n\nz\",w\n\"\"\"\n",
	} {
		f.Add([]byte(seed), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, d uint8) {
		comma := delimiters[int(d)%len(delimiters)]
		want := csv.NewReader(bytes.NewReader(data))
		want.Comma, want.FieldsPerRecord, want.LazyQuotes = rune(comma), -1, true
		got := newCSVTokenizer(bufio.NewReaderSize(bytes.NewReader(data), 16), comma)
		for n := 0; ; n++ {
			rec, werr := want.Read()
			fields, gerr := got.read()
			if (werr == nil) != (gerr == nil) || werr != nil && !errors.Is(gerr, werr) && werr.Error() != gerr.Error() {
				t.Fatalf("record %d: error %v, encoding/csv %v", n, gerr, werr)
			}
			if werr != nil {
				return
			}
			if !slices.Equal(fields, rec) {
				t.Fatalf("record %d: fields %q, encoding/csv %q", n, fields, rec)
			}
			first, _ := want.FieldPos(0)
			last, _ := want.FieldPos(len(rec) - 1)
			if got.firstLine != first || got.lastLine != last {
				t.Fatalf("record %d: lines %d–%d, encoding/csv %d–%d", n, got.firstLine, got.lastLine, first, last)
			}
		}
	})
}
