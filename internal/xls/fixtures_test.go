package xls

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sheetsDir = "../../testdata/sheets"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sheetsDir, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func openBytes(b []byte) (*Workbook, error) {
	return Open(bytes.NewReader(b), int64(len(b)))
}

// row is one row as a test expects it.
type row struct {
	index int
	cells []Value
}

// readAll reads every row of sheet i.
func readAll(t testing.TB, w *Workbook, i int) []row {
	t.Helper()
	rows, err := w.Rows(i)
	if err != nil {
		t.Fatalf("Rows(%d): %v", i, err)
	}
	var out []row
	for rows.Next() {
		index, cells := rows.Row()
		out = append(out, row{index, cells})
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading rows of sheet %d: %v", i, err)
	}
	return out
}

func str(s string) Value  { return Value{Type: String, S: s} }
func num(f float64) Value { return Value{Type: Number, F: f} }
func boolean(b bool) Value {
	if b {
		return Value{Type: Bool, F: 1}
	}
	return Value{Type: Bool}
}
func errVal(s string) Value { return Value{Type: ErrorValue, S: s} }

// date is a date cell holding iso as a serial in the given date system.
func date(t testing.TB, iso string, date1904 bool) Value {
	t.Helper()
	d, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		epoch = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return Value{Type: Number, F: d.Sub(epoch).Hours() / 24, Date: true}
}

// credentialRows is the credentials sheet as testdata/gen/fods.py writes it:
// the header, three learners, a blank row (index 4, absent), two more.
func credentialRows(t testing.TB, date1904 bool) []row {
	d := func(iso string) Value { return date(t, iso, date1904) }
	header := []Value{str("Recipient Name"), str("E-mail Address"), str("Credential ID"),
		str("Issue Date"), str("Expiry Date"), str("Course Hours"), str("Grade")}
	return []row{
		{0, header},
		{1, []Value{str("José Ñúñez"), str("jose.nunez@example.com"), str("000123"), d("2024-01-15"), d("2026-01-15"), num(40), str("A")}},
		{2, []Value{str("Zoë Ærøskøbing"), str("zoe.aeroskobing@example.dk"), str("000124"), d("2023-11-30"), d("2025-11-30"), num(12.5), str("B+")}},
		// No expiry date and no grade: a gap, and nothing after the last value.
		{3, []Value{str("François Lefèvre"), str("francois.lefevre@example.fr"), str("000125"), d("2024-02-29"), {}, num(8)}},
		{5, []Value{str("Łukasz Żółć"), str("lukasz.zolc@example.pl"), str("000007"), d("2024-03-10"), d("2027-03-10"), num(1234.75), str("Pass")}},
		{6, []Value{str("山田 太郎"), str("taro.yamada@example.jp"), str("012345"), d("2021-12-31"), d("2023-12-31"), num(0.5), str("A")}},
	}
}

func TestCredentialFixtures(t *testing.T) {
	tests := []struct {
		file     string
		date1904 bool
	}{
		{"credentials-libreoffice.xls", false},
		{"credentials-gnumeric.xls", false},
		{"dates-1904.xls", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			w, err := openBytes(readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := w.Sheets(); !reflect.DeepEqual(got, []string{"Credentials"}) {
				t.Errorf("Sheets() = %q, want [Credentials]", got)
			}
			if !w.Visible(0) {
				t.Error("Visible(0) = false, want true")
			}
			if w.Date1904() != tt.date1904 {
				t.Errorf("Date1904() = %v, want %v", w.Date1904(), tt.date1904)
			}
			assertRows(t, readAll(t, w, 0), credentialRows(t, tt.date1904))
		})
	}
}

func assertRows(t *testing.T, got, want []row) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d rows, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i].index != want[i].index {
			t.Errorf("row %d: index %d, want %d", i, got[i].index, want[i].index)
		}
		if !reflect.DeepEqual(got[i].cells, want[i].cells) {
			t.Errorf("row index %d:\n got %+v\nwant %+v", got[i].index, got[i].cells, want[i].cells)
		}
	}
}

// TestProgramsAgree reads the same source saved by LibreOffice and by
// Gnumeric, which lay out records, formats and strings differently.
func TestProgramsAgree(t *testing.T) {
	for _, pair := range [][2]string{
		{"credentials-libreoffice.xls", "credentials-gnumeric.xls"},
		{"formulas-libreoffice.xls", "formulas-gnumeric.xls"},
	} {
		t.Run(pair[0], func(t *testing.T) {
			lo, err := openBytes(readFixture(t, pair[0]))
			if err != nil {
				t.Fatal(err)
			}
			gn, err := openBytes(readFixture(t, pair[1]))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(lo.Sheets(), gn.Sheets()) {
				t.Errorf("sheets: LibreOffice %q, Gnumeric %q", lo.Sheets(), gn.Sheets())
			}
			assertRows(t, readAll(t, gn, 0), readAll(t, lo, 0))
		})
	}
}

// The learners of formulas.fods, rebuilt here to check every shared string.
var (
	firstNames = []string{"Amélie", "Bartłomiej", "Chloé", "Dmitrij", "Eleanor", "Fátima", "Grégoire",
		"Hyun-woo", "Ingrid", "Jürgen", "Kateřina", "Luís", "Małgorzata", "Nikolaos",
		"Oğuz", "Paweł", "Quentin", "Renée", "Søren", "Thérèse"}
	lastNames = []string{"Abernathy-Castellanos", "Bergström", "Castelnau-Magnoac", "Dvořáková",
		"Esterházy", "Fitzgerald-O'Connor", "Gonçalves da Silva", "Hämäläinen",
		"Ivanović", "Jędrzejczyk", "Kowalczyk-Nowak", "Lindqvist", "Müller-Lüdenscheidt"}
)

func TestFormulaFixtures(t *testing.T) {
	for _, file := range []string{"formulas-libreoffice.xls", "formulas-gnumeric.xls"} {
		t.Run(file, func(t *testing.T) {
			b := readFixture(t, file)
			if n := sstContinues(t, b); n == 0 {
				t.Fatalf("fixture's shared-string table has no CONTINUE record; it no longer tests them")
			}
			w, err := openBytes(b)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			rows := readAll(t, w, 0)
			if len(rows) != 461 {
				t.Fatalf("got %d rows, want the header and 460 learners", len(rows))
			}
			for i, r := range rows[1:] {
				n := i + 1
				if r.index != n {
					t.Fatalf("learner %d at row index %d", n, r.index)
				}
				hours := float64(n*7%48 + 1)
				name := fmt.Sprintf("%s %s %03d", firstNames[n%len(firstNames)], lastNames[n%len(lastNames)], n)
				c := r.cells
				if len(c) != 9 {
					t.Fatalf("learner %d: %d cells, want 9: %+v", n, len(c), c)
				}
				email := c[1].S
				if !strings.HasPrefix(email, fmt.Sprintf("learner.%03d.", n)) || !strings.HasSuffix(email, "@training.example.org") {
					t.Errorf("learner %d: email %q", n, email)
				}
				note := ""
				if hours > 40 {
					note = "Honours"
				}
				double := num(hours * 2)
				if n == 1 {
					double = errVal("#DIV/0!") // =1/0
				}
				want := []Value{str(name), str(email), num(hours), double, boolean(hours >= 10),
					boolean(n%3 != 0), str(name + " <" + email + ">"), str(note), num(hours / 3)}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("learner %d:\n got %+v\nwant %+v", n, c, want)
				}
			}
		})
	}
}

// sstContinues counts the CONTINUE records that extend a fixture's SST.
func sstContinues(t *testing.T, file []byte) int {
	t.Helper()
	data, err := workbookStream(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); {
		r, err := recordAt(data, off)
		if err != nil {
			t.Fatal(err)
		}
		if r.typ == recSST {
			return len(continuedAt(data, r).segs) - 1
		}
		off = r.next()
	}
	return 0
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		file string
		want error
	}{
		{"protected.xls", ErrEncrypted},                  // BIFF8 with FILEPASS (RC4)
		{"protected.xlsx", ErrEncrypted},                 // encrypted OOXML package in a compound file
		{"credentials-libreoffice.xlsx", ErrUnsupported}, // a zip, not a compound file
		{"unicode-text.txt", ErrUnsupported},
		{"windows-1252.csv", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := openBytes(readFixture(t, tt.file))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDamagedFixtures cuts and overwrites real files: every damage must come
// back as an error (or, where it misses what is read, as a readable file),
// never as a panic.
func TestDamagedFixtures(t *testing.T) {
	for _, file := range []string{"credentials-libreoffice.xls", "credentials-gnumeric.xls", "formulas-libreoffice.xls"} {
		orig := readFixture(t, file)
		for _, cut := range []int{0, 7, 8, 511, 512, 1024, len(orig) / 2} {
			t.Run(fmt.Sprintf("%s cut to %d bytes", file, cut), func(t *testing.T) {
				_, err := openBytes(orig[:cut])
				// Under 8 bytes there is no signature to say it was an .xls.
				want := ErrCorrupt
				if cut < 8 {
					want = ErrUnsupported
				}
				if !errors.Is(err, want) {
					t.Fatalf("Open: %v, want %v", err, want)
				}
			})
		}
		t.Run(file+" overwritten", func(t *testing.T) {
			// Overwrite 64-byte windows across the file; read all it lets us.
			for off := 0; off+64 <= len(orig); off += max(97, len(orig)/500) {
				b := bytes.Clone(orig)
				for i := range 64 {
					b[off+i] ^= byte(0xA5 + i)
				}
				readEverything(b)
			}
		})
	}
}

// readEverything opens b and reads every row of every sheet, returning the
// first error.
func readEverything(b []byte) error {
	w, err := openBytes(b)
	if err != nil {
		return err
	}
	for i := range w.Sheets() {
		rows, err := w.Rows(i)
		if err != nil {
			return err
		}
		for rows.Next() {
			rows.Row()
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
