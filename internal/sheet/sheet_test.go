package sheet

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// show renders rows compactly for comparison: "3: T:Ana|N:40|_|D:2024-01-15|B:TRUE".
func show(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r.Cells))
		for j, c := range r.Cells {
			parts[j] = showCell(c)
		}
		out[i] = strings.Join([]string{itoa(r.Number), ": ", strings.Join(parts, "|")}, "")
	}
	return out
}

func showCell(c Cell) string {
	switch c.Kind {
	case Empty:
		return "_"
	case Text:
		return "T:" + c.Text
	case Number:
		return "N:" + c.Text
	case Date:
		return "D:" + c.Text
	case Bool:
		return "B:" + c.Text
	}
	return "?"
}

func itoa(n int) string { return formatNumber(float64(n)) }

// readAll reads every row; it fails the test on an error other than io.EOF.
func readAll(t testing.TB, r Reader) []Row {
	t.Helper()
	rows, err := readRows(r)
	if err != nil {
		t.Fatalf("read rows: %v", err)
	}
	return rows
}

// readRows reads rows up to the end or the first error.
func readRows(r Reader) ([]Row, error) {
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

// openBytes opens data as a stream.
func openBytes(t testing.TB, data []byte, o Options) (Reader, error) {
	t.Helper()
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	return Open(bytes.NewReader(data), o)
}

// errCode returns the code of a *Error, or "" with the test failed.
func errCode(t testing.TB, err error) string {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *sheet.Error", err, err)
	}
	return se.Code
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDetect(t *testing.T) {
	xlsx := excelizeXLSX(t, func(f *excelize.File) { f.SetCellValue("Sheet1", "A1", "x") })
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"xlsx zip", xlsx, "xlsx"},
		{"any zip is sent to the xlsx reader", []byte("PK\x03\x04rest"), "xlsx"},
		{"compound document", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 100)...), "xls"},
		{"utf-8 csv", []byte("Name,Email\nJosé,jose@example.com\n"), "csv"},
		{"utf-8 bom csv", []byte("\xEF\xBB\xBFName,Email\n"), "csv"},
		{"utf-16le with bom", []byte("\xFF\xFEN\x00a\x00m\x00e\x00\t\x00"), "csv"},
		{"utf-16be with bom", []byte("\xFE\xFF\x00N\x00a\x00m\x00e"), "csv"},
		{"utf-16le without bom", encodeUTF16("Name\tEmail\nZoë\tzoe@example.com\n", false)[2:], "csv"},
		{"utf-16be without bom", encodeUTF16("Name\tEmail\nZoë\tzoe@example.com\n", true)[2:], "csv"},
		{"windows-1252 csv", []byte("Name;City\nJos\xE9;S\xE3o Paulo\nC\x9Cur;Paris\n"), "csv"},
		{"empty file", nil, "csv"},
		{"one stray control character", []byte("Name,Notes\nAna,line\x0bbreak\x1A"), "csv"},
		{"nul bytes", []byte("Name\x00,Email\x00\n"), ""},
		{"pdf", []byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n"), ""},
		{"png", []byte("\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR"), ""},
		{"gzip", []byte("\x1F\x8B\x08\x00\x00\x00"), ""},
		{"utf-32", []byte("\xFF\xFE\x00\x00N\x00\x00\x00"), ""},
		{"control characters everywhere", bytes.Repeat([]byte("\x01\x02ab\x03\x04"), 50), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.head); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOpenUnsupported(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		code     string
		mentions string
	}{
		{"pdf", []byte("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n"), CodeUnsupportedFormat, "PDF"},
		{"png", []byte("\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR"), CodeUnsupportedFormat, "PNG"},
		{"binary", bytes.Repeat([]byte{0, 1, 2, 3}, 300), CodeUnsupportedFormat, "binary"},
		{"zip without a workbook", zipParts(t, "readme.txt", "hello"), CodeUnsupportedFormat, "not an Excel workbook"},
		{"opendocument", zipParts(t, "mimetype", "application/vnd.oasis.opendocument.spreadsheet", "content.xml", "<x/>"), CodeUnsupportedFormat, ".ods"},
		{"word document", zipParts(t, "[Content_Types].xml", "<Types/>", "word/document.xml", "<w/>"), CodeUnsupportedFormat, "Word"},
		{"zip cut short", zipParts(t, "xl/workbook.xml", "<workbook/>")[:30], CodeCorrupt, "zip"},
		{"compound document without a workbook", cfbWithoutWorkbook(t), CodeUnsupportedFormat, "Excel 97-2003"},
		{"empty file", nil, CodeEmpty, "no data"},
		{"only blank lines", []byte("\n\r\n ,  ,\n,,,\n"), CodeEmpty, "no data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openBytes(t, tt.data, Options{})
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			if code := errCode(t, err); code != tt.code {
				t.Errorf("code = %q, want %q (%v)", code, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("message %q does not mention %q", err, tt.mentions)
			}
		})
	}
}

// cfbWithoutWorkbook is a compound document holding no Workbook stream: the
// encrypted XLSX fixture with its stream names changed.
func cfbWithoutWorkbook(t *testing.T) []byte {
	data, err := os.ReadFile(fixture("protected.xlsx"))
	if err != nil {
		t.Skipf("fixture missing: %v", err)
	}
	// Directory entry names are UTF-16LE; renaming the streams leaves a
	// compound document that is neither an encrypted package nor a workbook.
	for _, name := range []string{"EncryptionInfo", "EncryptedPackage"} {
		data = bytes.ReplaceAll(data, utf16le(name), utf16le(strings.Repeat("Z", len(name))))
	}
	return data
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// The format comes from the bytes: a file's name never matters.
func TestOpenFileIgnoresName(t *testing.T) {
	csvData := []byte("Name,Hours\nAna,40\n")
	xlsx := excelizeXLSX(t, func(f *excelize.File) {
		f.SetSheetRow("Sheet1", "A1", &[]any{"Name", "Hours"})
		f.SetSheetRow("Sheet1", "A2", &[]any{"Ana", 40})
	})
	tests := []struct {
		name   string
		file   string
		data   []byte
		format string
		want   []string
	}{
		{"csv named xlsx", "upload.xlsx", csvData, "csv", []string{"1: T:Name|T:Hours", "2: T:Ana|T:40"}},
		{"xlsx named csv", "upload.csv", xlsx, "xlsx", []string{"1: T:Name|T:Hours", "2: T:Ana|N:40"}},
		{"xlsx with no extension", "upload", xlsx, "xlsx", []string{"1: T:Name|T:Hours", "2: T:Ana|N:40"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := OpenFile(writeFile(t, tt.file, tt.data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Info().Format; got != tt.format {
				t.Errorf("format = %q, want %q", got, tt.format)
			}
			assertRows(t, readAll(t, r), tt.want)
		})
	}
}

func assertRows(t testing.TB, rows []Row, want []string) {
	t.Helper()
	got := show(rows)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestOpenSpoolsWorkbookToTempDir(t *testing.T) {
	xlsx := excelizeXLSX(t, func(f *excelize.File) {
		f.SetSheetRow("Sheet1", "A1", &[]any{"Name"})
		f.SetSheetRow("Sheet1", "A2", &[]any{"Ana"})
	})
	tests := []struct {
		name     string
		maxBytes int64
		code     string
	}{
		{"within the limit", int64(len(xlsx)), ""},
		{"over the limit", int64(len(xlsx)) - 1, CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r, err := Open(bytes.NewReader(xlsx), Options{TempDir: dir, MaxBytes: tt.maxBytes})
			if tt.code != "" {
				if err == nil || errCode(t, err) != tt.code {
					t.Fatalf("Open error = %v, want %s", err, tt.code)
				}
				assertDirEmpty(t, dir)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("temp dir holds %d files while reading, want the one copy", len(entries))
			}
			assertRows(t, readAll(t, r), []string{"1: T:Name", "2: T:Ana"})
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			assertDirEmpty(t, dir)
		})
	}
}

func assertDirEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("temp dir still holds %d files", len(entries))
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Code: CodeCellTooLong, Row: 12, Column: 3, Message: "cell has 40000 characters; the limit is 32767"}, "row 12, column C: cell has 40000 characters; the limit is 32767"},
		{Error{Code: CodeTooManyRows, Row: 7, Message: "too many"}, "row 7: too many"},
		{Error{Code: CodeEmpty, Message: "the file has no data"}, "the file has no data"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestColumnLetter(t *testing.T) {
	tests := []struct {
		index int
		want  string
	}{
		{0, "A"}, {1, "B"}, {25, "Z"}, {26, "AA"}, {27, "AB"}, {51, "AZ"}, {52, "BA"},
		{701, "ZZ"}, {702, "AAA"}, {1023, "AMJ"}, {16383, "XFD"}, {-1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := ColumnLetter(tt.index); got != tt.want {
				t.Errorf("ColumnLetter(%d) = %q, want %q", tt.index, got, tt.want)
			}
			if tt.index < 0 {
				return
			}
			if back, _, ok := columnIndex([]byte(tt.want + "7")); !ok || back != tt.index {
				t.Errorf("columnIndex(%q) = %d, %v; want %d", tt.want+"7", back, ok, tt.index)
			}
		})
	}
}
