package sheet

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

func encodeUTF16(s string, bigEndian bool) []byte {
	b := []byte{0xFF, 0xFE}
	if bigEndian {
		b = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func encode1252(t *testing.T, s string) []byte {
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCSVEncodings(t *testing.T) {
	const text = "Name,Course\nJosé Ñúñez,Café – Œuvre\nZoë,naïve\n"
	want := []string{"1: T:Name|T:Course", "2: T:José Ñúñez|T:Café – Œuvre", "3: T:Zoë|T:naïve"}
	// Invalid UTF-8 past the sniffed start: the é of "Café" in
	// Windows-1252, far into a file that began as plain UTF-8.
	padding := strings.Repeat("x,y\n", sniffSize/4+10)
	late := append([]byte("Name,Course\n"+padding), []byte("Zoë,Caf\xE9 \x80\n")...)
	tests := []struct {
		name     string
		data     []byte
		encoding string
		want     []string
	}{
		{"utf-8", []byte(text), EncodingUTF8, want},
		{"utf-8 with bom", append([]byte("\xEF\xBB\xBF"), text...), EncodingUTF8BOM, want},
		{"utf-16le with bom", encodeUTF16(text, false), EncodingUTF16LE, want},
		{"utf-16be with bom", encodeUTF16(text, true), EncodingUTF16BE, want},
		{"utf-16le without bom", encodeUTF16(text, false)[2:], EncodingUTF16LE, want},
		{"utf-16be without bom", encodeUTF16(text, true)[2:], EncodingUTF16BE, want},
		{"windows-1252", encode1252(t, text), EncodingWindows1252, want},
		{"utf-8 with one stray windows-1252 byte", []byte("Name,Course\nJosé,Caf\xE9\nZoë,naïve\n"), EncodingUTF8,
			[]string{"1: T:Name|T:Course", "2: T:José|T:Café", "3: T:Zoë|T:naïve"}},
		{"invalid utf-8 after the sniffed start reads as windows-1252", late, EncodingUTF8, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openBytes(t, tt.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Info(); got.Encoding != tt.encoding || got.Format != FormatCSV || got.Delimiter != "," {
				t.Errorf("info = %+v, want csv, %s, ','", got, tt.encoding)
			}
			rows := readAll(t, r)
			if tt.want != nil {
				assertRows(t, rows, tt.want)
				return
			}
			last := show(rows[len(rows)-1:])
			if wantLast := []string{itoa(len(rows)) + ": T:Zoë|T:Café €"}; last[0] != wantLast[0] {
				t.Errorf("last row = %q, want %q", last[0], wantLast[0])
			}
		})
	}
}

func TestCSVDelimiters(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		delim string
		want  []string
	}{
		{"comma", "a,b,c\n1,2,3\n", ",", []string{"1: T:a|T:b|T:c", "2: T:1|T:2|T:3"}},
		{"semicolon with decimal commas", "Name;Hours;Score\nAna;12,5;3,75\nBo;8;1,0\n", ";",
			[]string{"1: T:Name|T:Hours|T:Score", "2: T:Ana|T:12,5|T:3,75", "3: T:Bo|T:8|T:1,0"}},
		{"tab", "Name\tNotes\nAna\tlikes a, b and c\nBo\tx;y\n", "\t",
			[]string{"1: T:Name|T:Notes", "2: T:Ana|T:likes a, b and c", "3: T:Bo|T:x;y"}},
		{"pipe", "id|name\n1|Ana, Maria\n2|Bo\n", "|", []string{"1: T:id|T:name", "2: T:1|T:Ana, Maria", "3: T:2|T:Bo"}},
		{"delimiters inside quotes do not count", "\"a;b;c\",d\n\"e;f;g\",h\n", ",", []string{"1: T:a;b;c|T:d", "2: T:e;f;g|T:h"}},
		{"single column", "email\nana@example.com\n", ",", []string{"1: T:email", "2: T:ana@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openBytes(t, []byte(tt.data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Info().Delimiter; got != tt.delim {
				t.Errorf("delimiter = %q, want %q", got, tt.delim)
			}
			assertRows(t, readAll(t, r), tt.want)
		})
	}
}

// Rows are numbered and split as a spreadsheet program shows the file.
func TestCSVRows(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"crlf", "a,b\r\n1,2\r\n", []string{"1: T:a|T:b", "2: T:1|T:2"}},
		{"lone cr (old mac)", "a,b\r1,2\r3,4", []string{"1: T:a|T:b", "2: T:1|T:2", "3: T:3|T:4"}},
		{"no final newline", "a,b\n1,2", []string{"1: T:a|T:b", "2: T:1|T:2"}},
		{"quoted field with embedded newlines is one row", "a,b\n\"line 1\nline 2\r\nline 3\",x\nnext,y\n",
			[]string{"1: T:a|T:b", "2: T:line 1\nline 2\nline 3|T:x", "3: T:next|T:y"}},
		{"blank rows skipped, numbers kept", "h\n\n1\n,,\n  \n2\n\n", []string{"1: T:h", "3: T:1", "6: T:2"}},
		{"blank rows after a multi-line field", "h\n\"a\nb\"\n\nc\n", []string{"1: T:h", "2: T:a\nb", "4: T:c"}},
		{"ragged rows as they are", "a,b,c\n1\n1,2,3,4,5\n", []string{"1: T:a|T:b|T:c", "2: T:1", "3: T:1|T:2|T:3|T:4|T:5"}},
		{"empty cells", "a,,c\n,,x\n", []string{"1: T:a|_|T:c", "2: _|_|T:x"}},
		{"stray quote in an unquoted field", "name,note\nAna,5\" screen\nBo,ok\n", []string{"1: T:name|T:note", "2: T:Ana|T:5\" screen", "3: T:Bo|T:ok"}},
		{"escaped quotes", "\"say \"\"hi\"\"\",x\n", []string{"1: T:say \"hi\"|T:x"}},
		{"not trimmed, leading zeros kept", " a , 007 \n", []string{"1: T: a |T: 007 "}},
		{"a formula-looking cell is text", "=1+2,@x\n", []string{"1: T:=1+2|T:@x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openBytes(t, []byte(tt.data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			assertRows(t, readAll(t, r), tt.want)
		})
	}
}

func TestCSVLimits(t *testing.T) {
	long := strings.Repeat("é", 40) // 40 characters, 80 bytes
	tests := []struct {
		name    string
		data    string
		opts    Options
		code    string
		message string // the whole Error() text
		rows    int    // rows read before the error
	}{
		{"cell length counts characters, not bytes", "a\n" + long + "\n", Options{MaxCellLen: 40}, "", "", 2},
		{"cell too long", "a,b\nx," + long + "x\n", Options{MaxCellLen: 40}, CodeCellTooLong,
			"row 2, column B: cell has 41 characters; the limit is 40", 1},
		{"unclosed quote runs away", "a,b\nx,\"oops\n" + strings.Repeat("more text,\n", 100), Options{MaxCellLen: 40}, CodeCellTooLong,
			"row 2, column B: a quoted cell runs on for more than 40 characters, the limit; a closing quote may be missing", 1},
		{"field far longer than the limit", "a\n" + strings.Repeat("x", 10_000) + "\n", Options{MaxCellLen: 40}, CodeCellTooLong,
			"row 2, column A: cell has 10000 characters; the limit is 40", 1},
		{"endless line", "a,b\n1," + strings.Repeat("x", 200_000), Options{MaxCellLen: 40}, CodeCellTooLong,
			"row 2, column B: cell has more than 40 characters; the limit is 40", 1},
		{"endless delimiters", "a,b\n1" + strings.Repeat(",", 200_000) + "\n", Options{}, CodeTooManyColumns,
			"row 2: the row has more than 16384 columns; the limit is 1024", 1},
		{"many delimiters within one chunk", "a,b\n1" + strings.Repeat(",", 17_000) + "\n", Options{}, CodeTooManyColumns,
			"row 2: the row has more than 16384 columns; the limit is 1024", 1},
		{"too many columns", "a,b,c\n1,2,3,4\n", Options{MaxColumns: 3}, CodeTooManyColumns,
			"row 2, column D: the row has data in column D; the limit is 3 columns", 1},
		{"empty columns beyond the limit are padding", "a,b,c,,,,\n1,2,3,,,\n", Options{MaxColumns: 3}, "", "", 2},
		{"too many rows", "a\n1\n2\n3\n", Options{MaxRows: 3}, CodeTooManyRows, "row 4: the sheet has data beyond row 3, the limit", 3},
		{"blank rows beyond the limit are fine", "a\n1\n2\n\n\n", Options{MaxRows: 3}, "", "", 3},
		{"file too large", "a\n" + strings.Repeat("1234567\n", 200), Options{MaxBytes: 1000}, CodeTooLarge, "the file is larger than 1000 bytes, the limit", -1},
		{"stream grows too large past the sniffed start", "a\n" + strings.Repeat("1234567\n", 20_000), Options{MaxBytes: 100_000}, CodeTooLarge, "the file is larger than 100000 bytes, the limit", 12_500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openBytes(t, []byte(tt.data), tt.opts)
			if err != nil {
				if tt.rows != -1 {
					t.Fatalf("Open: %v", err)
				}
			} else {
				defer r.Close()
				var rows []Row
				rows, err = readRows(r)
				if tt.rows >= 0 && len(rows) != tt.rows {
					t.Errorf("read %d rows before the error, want %d", len(rows), tt.rows)
				}
			}
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
				t.Errorf("message = %q\n         want %q", err.Error(), tt.message)
			}
		})
	}
}

// The guard that stops runaway fields must agree with encoding/csv on where
// rows start, or its errors would name the wrong row.
func TestCSVGuardRowsAgree(t *testing.T) {
	tests := []struct {
		in       string
		lastRow  int // the reader's last row
		guardRow int // the row the guard ends on: past a final line end, the next
	}{
		{"a,b\n\"x\ny\",z\n\n\nc,\"d\"\"e\"\n", 5, 6},
		{"a\r\n\r\n\"q\"\"\r\n\",b\r\nc", 4, 4},
		{"h\n\"bare \" quote\nstill\",x\ny\n", 3, 4},
		{"a,\"b\"c,d\ne\n", 1, 1}, // a bare quote keeps the field open to the end
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.in, "\n", `\n`), func(t *testing.T) {
			r, err := openBytes(t, []byte(tt.in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rows := readAll(t, r)
			if got := rows[len(rows)-1].Number; got != tt.lastRow {
				t.Errorf("reader's last row = %d, want %d", got, tt.lastRow)
			}
			var in csvInput
			normalized := in.normalize(nil, []byte(tt.in))
			whole := newFieldGuard(',', r.(*csvReader).opts)
			if _, err := whole.scan(normalized); err != nil {
				t.Fatal(err)
			}
			bytewise := newFieldGuard(',', r.(*csvReader).opts)
			for i := range normalized {
				if _, err := bytewise.scan(normalized[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
			if whole.row != tt.guardRow || bytewise.row != tt.guardRow {
				t.Errorf("guard ends on row %d (fed whole), %d (fed byte by byte); want %d", whole.row, bytewise.row, tt.guardRow)
			}
		})
	}
}

func TestCSVManyRowsStream(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("id,name\n")
	for i := range 50_000 {
		b.WriteString(itoa(i))
		b.WriteString(",\"name\nwith newline\"\n")
	}
	r, err := openBytes(t, b.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows := readAll(t, r)
	if len(rows) != 50_001 {
		t.Fatalf("read %d rows, want 50001", len(rows))
	}
	if got := rows[len(rows)-1].Number; got != 50_001 {
		t.Errorf("last row number = %d, want 50001", got)
	}
}

// NextInto reads the rows Next reads, into the buffer it is given when
// they fit, through the file wrapper OpenFile adds too.
func TestCSVNextInto(t *testing.T) {
	data := "Email,Name,Notes\nana@example.com,Ana,\"two\nlines\"\n\nbo@example.com,Bo\n,,\nwide,row,with,more,cells,than,the,buffer\n"
	plain, err := openBytes(t, []byte(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, plain)
	r, err := OpenFile(writeFile(t, "rows.csv", []byte(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(IntoReader); !ok {
		t.Fatal("the reader OpenFile gives for a CSV is no IntoReader")
	}
	buf := make([]Cell, 4)
	var got []Row
	for {
		row, err := NextInto(r, buf[:0])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		inBuf := len(row.Cells) > 0 && &row.Cells[0] == &buf[0]
		if inBuf != (len(row.Cells) <= len(buf) && len(got) > 0) {
			t.Errorf("row %d (%d cells): read into the buffer = %v", row.Number, len(row.Cells), inBuf)
		}
		row.Cells = slices.Clone(row.Cells)
		got = append(got, row)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NextInto read\n%+v\nNext read\n%+v", got, want)
	}
}
