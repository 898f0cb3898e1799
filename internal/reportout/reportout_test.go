package reportout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/engine/enginetest"
	"github.com/credup/credup/internal/sheet"
)

const testdata = "../../testdata"

// memSheet is an in-memory sheet of text cells, numbered from 1.
type memSheet struct {
	info sheet.Info
	rows []sheet.Row
	next int
}

func textSheet(lines ...[]string) *memSheet {
	s := &memSheet{info: sheet.Info{Format: "csv", Encoding: "utf-8", Delimiter: ","}}
	for i, l := range lines {
		cells := make([]sheet.Cell, len(l))
		for j, v := range l {
			if v != "" {
				cells[j] = sheet.Cell{Kind: sheet.Text, Text: v}
			}
		}
		s.rows = append(s.rows, sheet.Row{Number: i + 1, Cells: cells})
	}
	return s
}

func (s *memSheet) Info() sheet.Info { return s.info }

func (s *memSheet) Next() (sheet.Row, error) {
	if s.next >= len(s.rows) {
		return sheet.Row{}, io.EOF
	}
	s.next++
	return s.rows[s.next-1], nil
}

func (s *memSheet) rewind() engine.Rows { return &memSheet{info: s.info, rows: s.rows} }

func readGroup(t *testing.T, path string) bulk.Group {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g bulk.Group
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return g
}

func readCredentials(t *testing.T, path string) []bulk.Credential {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []bulk.Credential
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c bulk.Credential
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	return out
}

// source opens a sheet afresh each time it is called.
type source func(t *testing.T) engine.Rows

func fileSource(path string) source {
	return func(t *testing.T) engine.Rows {
		r, err := sheet.OpenFile(path, sheet.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
}

func memSource(s *memSheet) source {
	return func(*testing.T) engine.Rows { return s.rewind() }
}

type testCase struct {
	name string
	src  source
	in   engine.Input
}

func testCases(t *testing.T) []testCase {
	t.Helper()
	dir := t.TempDir()
	genCSV, genXLSX, dupCSV := filepath.Join(dir, "gen.csv"), filepath.Join(dir, "gen.xlsx"), filepath.Join(dir, "dup.csv")
	if err := enginetest.WriteCSV(genCSV, 3000, 2500); err != nil {
		t.Fatal(err)
	}
	if err := enginetest.WriteXLSX(genXLSX, 1200, 1000); err != nil {
		t.Fatal(err)
	}
	// More rows than credentials: rows about newcomers and second rows.
	if err := enginetest.WriteCSV(dupCSV, 2000, 300); err != nil {
		t.Fatal(err)
	}
	genIn := func(n int) engine.Input {
		return engine.Input{Group: enginetest.Group(), Credentials: enginetest.Credentials(n), Now: enginetest.Now}
	}
	demo := engine.Input{
		Group:       readGroup(t, filepath.Join(testdata, "demo", "group.json")),
		Credentials: readCredentials(t, filepath.Join(testdata, "demo", "credentials.jsonl")),
		Now:         time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
	}
	check := engine.Input{
		Group:       readGroup(t, filepath.Join(testdata, "check", "group.json")),
		Credentials: readCredentials(t, filepath.Join(testdata, "check", "credentials.jsonl")),
		Now:         time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC),
	}
	byEmail := check
	byEmail.Mapping = bulk.Mapping{MatchBy: bulk.AttrEmail}

	// Values JSON escapes: HTML characters, quotes, line separators,
	// control characters; and a date read only at the end.
	group := bulk.Group{ID: "g", Name: "G", Attributes: []bulk.Attribute{{Key: "note", Label: "Note", Kind: bulk.KindText}}}
	creds := []bulk.Credential{
		{ID: "c<1>", GroupID: "g", Version: 1, Recipient: bulk.Recipient{Name: "Ana & Bo", Email: "ana@example.com"}, IssuedOn: "2024-01-15", ExpiresOn: "2025-01-15", Description: "<b>bold</b>"},
		{ID: "c-2", GroupID: "g", Version: 1, Recipient: bulk.Recipient{Name: "Zoë \"Z\"", Email: "zoe@example.com"}, IssuedOn: "2024-01-15", Custom: map[string]string{"note": "x"}},
		{ID: "c-3", GroupID: "other", Version: 1, Recipient: bulk.Recipient{Email: "dee@example.com"}, IssuedOn: "2024-01-15"},
	}
	escapes := textSheet(
		[]string{"Email", "Recipient Name", "Expiry Date", "Description", "Note"},
		[]string{"ana@example.com", "Ana <&> Bo", "01/02/2027", "a\u2028b\u2029c", "tab\there"},
		[]string{"zoe@example.com", "Zoë \"Z\"", "", "</script>", "line\nbreak\x01"},
		[]string{"dee@example.com", "Dee", "", "", ""},
		[]string{"ana@example.com", "Ana", "13/02/2027", "", "\\back\\slash"},
		[]string{"nobody@example.com", "N", "14/02/2027", "", "é"},
	)
	headerOnly := textSheet([]string{"Email", "Grade"})

	return []testCase{
		{"generated CSV", fileSource(genCSV), genIn(2500)},
		{"generated XLSX", fileSource(genXLSX), genIn(1000)},
		{"more rows than credentials", fileSource(dupCSV), genIn(300)},
		{"demo workbook", fileSource(filepath.Join(testdata, "demo", "ux-foundations-renewals.xlsx")), demo},
		{"LibreOffice XLS", fileSource(filepath.Join(testdata, "sheets", "credentials-libreoffice.xls")), check},
		{"semicolon CSV", fileSource(filepath.Join(testdata, "sheets", "semicolon.csv")), check},
		{"Windows-1252 CSV by email", fileSource(filepath.Join(testdata, "sheets", "windows-1252.csv")), byEmail},
		{"values JSON escapes", memSource(escapes), engine.Input{Group: group, Credentials: creds, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"a header and no rows", memSource(headerOnly), engine.Input{Group: group, Credentials: creds}},
	}
}

func TestWriteJSONIsMarshalIndentOfCheck(t *testing.T) {
	for _, tt := range testCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			want, err := engine.Check(ctx, tt.src(t), tt.in)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			wantJSON, err := json.MarshalIndent(want, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			rep, err := WriteJSON(ctx, &got, tt.src(t), tt.in)
			if err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			if !bytes.Equal(got.Bytes(), wantJSON) {
				t.Errorf("WriteJSON wrote a different document:\n%s", firstDifference(got.Bytes(), wantJSON))
			}
			want.Rows = nil
			if rep.Fingerprint != want.Fingerprint || rep.Summary != want.Summary || rep.DataRows != want.DataRows || rep.Rows != nil {
				t.Errorf("returned report %+v, want %+v without rows", rep, want)
			}
		})
	}
}

// TestWriterAsTheCommandPrints checks the options that reproduce what
// credup check printed with a json.Encoder: HTML left as it is, a final
// newline.
func TestWriterAsTheCommandPrints(t *testing.T) {
	for _, tt := range testCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			want, err := engine.Check(ctx, tt.src(t), tt.in)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			var wantJSON bytes.Buffer
			enc := json.NewEncoder(&wantJSON)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(want); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if _, err := (Writer{KeepHTML: true, Newline: true, TempDir: t.TempDir()}).WriteJSON(ctx, &got, tt.src(t), tt.in); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			if !bytes.Equal(got.Bytes(), wantJSON.Bytes()) {
				t.Errorf("WriteJSON wrote a different document:\n%s", firstDifference(got.Bytes(), wantJSON.Bytes()))
			}
		})
	}
}

func firstDifference(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d of %d (want %d)\ngot:  …%s…\nwant: …%s…", i, len(got), len(want),
		got[from:min(len(got), i+200)], want[from:min(len(want), i+200)])
}

// failingWriter fails every write, as a full disk or closed pipe does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left") }

func TestWriteJSONErrors(t *testing.T) {
	group := bulk.Group{ID: "g"}
	lines := textSheet([]string{"Email", "Grade"}, []string{"ana@example.com", "A"})
	tests := []struct {
		name  string
		w     io.Writer
		src   engine.Rows
		in    engine.Input
		wrote bool // whether anything may reach w
	}{
		{"an empty sheet", &bytes.Buffer{}, textSheet(), engine.Input{Group: group}, false},
		{"a mapping that does not fit", &bytes.Buffer{}, lines.rewind(), engine.Input{Group: group, Mapping: bulk.Mapping{DateFormat: "YYYYMMDD!"}}, false},
		{"a writer that fails", failingWriter{}, lines.rewind(), engine.Input{Group: group}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := WriteJSON(context.Background(), tt.w, tt.src, tt.in)
			if err == nil {
				t.Fatalf("WriteJSON returned report %+v and no error", rep)
			}
			if b, ok := tt.w.(*bytes.Buffer); ok && !tt.wrote && b.Len() > 0 {
				t.Errorf("wrote %q for a sheet that could not be validated", b.String())
			}
		})
	}
}

func TestWriteJSONLeavesNoSpool(t *testing.T) {
	dir := t.TempDir()
	src := textSheet([]string{"Email", "Grade"}, []string{"ana@example.com", "A"}, []string{"bo@example.com", "B"})
	for _, in := range []engine.Input{{Group: bulk.Group{ID: "g"}}, {Group: bulk.Group{ID: "g"}, Mapping: bulk.Mapping{MatchBy: "grade"}}} {
		_, _ = Writer{TempDir: dir}.WriteJSON(context.Background(), io.Discard, src.rewind(), in)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left %d files in the spool directory: %v", len(left), left[0].Name())
	}
}
