package sheet

import (
	"os"
	"path/filepath"
	"testing"
)

// fixture is the path of a spreadsheet written by a real spreadsheet
// program (see testdata/sheets/README.md).
func fixture(name string) string {
	return filepath.Join("..", "..", "testdata", "sheets", name)
}

// credentialRows is the Credentials sheet of the fixtures as every reader
// must give it: IDs as text with their zeros, dates as dates, hours as
// numbers, the blank row 5 skipped.
var credentialRows = []string{
	"1: T:Recipient Name|T:E-mail Address|T:Credential ID|T:Issue Date|T:Expiry Date|T:Course Hours|T:Grade",
	"2: T:José Ñúñez|T:jose.nunez@example.com|T:000123|D:2024-01-15|D:2026-01-15|N:40|T:A",
	"3: T:Zoë Ærøskøbing|T:zoe.aeroskobing@example.dk|T:000124|D:2023-11-30|D:2025-11-30|N:12.5|T:B+",
	"4: T:François Lefèvre|T:francois.lefevre@example.fr|T:000125|D:2024-02-29|_|N:8",
	"6: T:Łukasz Żółć|T:lukasz.zolc@example.pl|T:000007|D:2024-03-10|D:2027-03-10|N:1234.75|T:Pass",
	"7: T:山田 太郎|T:taro.yamada@example.jp|T:012345|D:2021-12-31|D:2023-12-31|N:0.5|T:A",
}

// textRows is the same sheet as text, as the CSV exports hold it.
var textRows = []string{
	"1: T:Recipient Name|T:E-mail Address|T:Credential ID|T:Issue Date|T:Expiry Date|T:Course Hours|T:Grade",
	"2: T:José Ñúñez|T:jose.nunez@example.com|T:000123|T:2024-01-15|T:2026-01-15|T:40|T:A",
	"3: T:Zoë Ærøskøbing|T:zoe.aeroskobing@example.dk|T:000124|T:2023-11-30|T:2025-11-30|T:12.5|T:B+",
	"4: T:François Lefèvre|T:francois.lefevre@example.fr|T:000125|T:2024-02-29|_|T:8|_",
	"6: T:Łukasz Żółć|T:lukasz.zolc@example.pl|T:000007|T:2024-03-10|T:2027-03-10|T:1234.75|T:Pass",
	"7: T:山田 太郎|T:taro.yamada@example.jp|T:012345|T:2021-12-31|T:2023-12-31|T:0.5|T:A",
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file string
		info Info
		want []string
	}{
		{"credentials-libreoffice.xlsx", Info{Format: "xlsx", Encoding: "utf-8", Sheet: "Credentials"}, credentialRows},
		{"credentials-gnumeric.xlsx", Info{Format: "xlsx", Encoding: "utf-8", Sheet: "Credentials"}, credentialRows},
		{"credentials-libreoffice.xls", Info{Format: "xls", Encoding: "utf-8", Sheet: "Credentials"}, credentialRows},
		{"credentials-gnumeric.xls", Info{Format: "xls", Encoding: "utf-8", Sheet: "Credentials"}, credentialRows},
		{"dates-1904.xlsx", Info{Format: "xlsx", Encoding: "utf-8", Sheet: "Credentials", Date1904: true}, credentialRows},
		{"dates-1904.xls", Info{Format: "xls", Encoding: "utf-8", Sheet: "Credentials", Date1904: true}, credentialRows},
		{"titled-header.xlsx", Info{Format: "xlsx", Encoding: "utf-8", Sheet: "Credentials"}, []string{
			"1: T:UX Foundations — credential update, March 2024",
			"3: T:Recipient Name|T:E-mail Address|T:Credential ID|T:Issue Date|T:Expiry Date|T:Course Hours|T:Grade",
			"4: T:José Ñúñez|T:jose.nunez@example.com|T:000123|D:2024-01-15|D:2026-01-15|N:40|T:A",
		}},
		{"utf8-bom.csv", Info{Format: "csv", Encoding: "utf-8-bom", Delimiter: ","}, textRows},
		{"unicode-text.txt", Info{Format: "csv", Encoding: "utf-16le", Delimiter: "\t"}, textRows},
		{"windows-1252.csv", Info{Format: "csv", Encoding: "windows-1252", Delimiter: ","}, []string{
			textRows[0], textRows[1], textRows[2], textRows[3],
			"6: T:Chloé Cœur|T:chloe.coeur@example.fr|T:000007|T:2024-03-10|T:2027-03-10|T:1234.75|T:Pass",
			"7: T:Søren Müller|T:soren.muller@example.de|T:012345|T:2021-12-31|T:2023-12-31|T:0.5|T:A",
		}},
		{"semicolon.csv", Info{Format: "csv", Encoding: "utf-8", Delimiter: ";"}, []string{
			textRows[0],
			"2: T:José Ñúñez|T:jose.nunez@example.com|T:000123|T:15/01/2024|T:15/01/2026|T:40|T:A",
			"3: T:Zoë Ærøskøbing|T:zoe.aeroskobing@example.dk|T:000124|T:30/11/2023|T:30/11/2025|T:12,5|T:B+",
			"4: T:François Lefèvre|T:francois.lefevre@example.fr|T:000125|T:29/02/2024|_|T:8|_",
			"6: T:Łukasz Żółć|T:lukasz.zolc@example.pl|T:000007|T:10/03/2024|T:10/03/2027|T:1234,75|T:Pass",
			"7: T:山田 太郎|T:taro.yamada@example.jp|T:012345|T:31/12/2021|T:31/12/2023|T:0,5|T:A",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := fixture(tt.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("fixture missing: %v", err)
			}
			r, err := OpenFile(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Info(); got != tt.info {
				t.Errorf("info = %+v, want %+v", got, tt.info)
			}
			rows := readAll(t, r)
			if len(rows) > len(tt.want) {
				rows = rows[:len(tt.want)]
			}
			assertRows(t, rows, tt.want)
		})
	}
}

func TestFixtureFormulas(t *testing.T) {
	for _, file := range []string{"formulas-libreoffice.xls", "formulas-gnumeric.xls"} {
		t.Run(file, func(t *testing.T) {
			path := fixture(file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("fixture missing: %v", err)
			}
			r, err := OpenFile(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rows := readAll(t, r)
			if len(rows) != 461 {
				t.Errorf("read %d rows, want the header and 460 learners", len(rows))
			}
			assertRows(t, rows[1:2], []string{
				"2: T:Bartłomiej Bergström 001|T:learner.001.bergstrom@training.example.org|N:8|T:#DIV/0!|B:FALSE|B:TRUE|T:Bartłomiej Bergström 001 <learner.001.bergstrom@training.example.org>|_|N:2.6666666666666665",
			})
		})
	}
}

func TestFixtureEncrypted(t *testing.T) {
	for _, file := range []string{"protected.xls", "protected.xlsx"} {
		t.Run(file, func(t *testing.T) {
			path := fixture(file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("fixture missing: %v", err)
			}
			_, err := OpenFile(path, Options{})
			if err == nil {
				t.Fatal("an encrypted workbook opened")
			}
			if code := errCode(t, err); code != CodeEncrypted {
				t.Errorf("code = %s, want encrypted (%v)", code, err)
			}
		})
	}
}
