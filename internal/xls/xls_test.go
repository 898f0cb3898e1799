package xls

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"testing"
	"unicode/utf16"
)

// rkInt encodes an integer as an RK number.
func rkInt(v int32) uint32 { return uint32(v)<<2 | 0x02 }

// sheetOf builds a one-worksheet workbook from globals and cell records.
func sheetOf(globals []rec, cells ...rec) []byte {
	return xlsFile(workbookBytes(globals, testSheet{name: "Sheet1", records: cells}))
}

func TestCellRecords(t *testing.T) {
	// XF 0 General, XF 1 built-in date 14, XF 2 custom "dd/mm/yyyy", XF 3 custom "0.00".
	globals := []rec{format(164, "dd/mm/yyyy"), format(165, "0.00"), xf(0), xf(14), xf(164), xf(165)}
	tests := []struct {
		name  string
		cells []rec
		want  []Value
	}{
		{"NUMBER", []rec{number(0, 0, 0, 1.0/3)}, []Value{num(1.0 / 3)}},
		{"NUMBER with built-in date format", []rec{number(0, 0, 1, 45306)}, []Value{{Type: Number, F: 45306, Date: true}}},
		{"NUMBER with custom date format", []rec{number(0, 0, 2, 45306.5)}, []Value{{Type: Number, F: 45306.5, Date: true}}},
		{"NUMBER with custom number format", []rec{number(0, 0, 3, 2.5)}, []Value{num(2.5)}},
		{"NUMBER with XF beyond the table", []rec{number(0, 0, 99, 7)}, []Value{num(7)}},
		{"RK integer", []rec{rkCell(0, 0, 0, 40<<2|0x02)}, []Value{num(40)}},
		{"RK negative integer", []rec{rkCell(0, 0, 0, rkInt(-7))}, []Value{num(-7)}},
		{"RK integer divided by 100", []rec{rkCell(0, 0, 0, 1250<<2|0x03)}, []Value{num(12.5)}},
		{"RK float", []rec{rkCell(0, 0, 0, uint32(math.Float64bits(12.5)>>32))}, []Value{num(12.5)}},
		{"RK float divided by 100", []rec{rkCell(0, 0, 0, uint32(math.Float64bits(1234.5)>>32)|0x01)}, []Value{num(12.345)}},
		{"RK date", []rec{rkCell(0, 0, 1, 45306<<2|0x02)}, []Value{{Type: Number, F: 45306, Date: true}}},
		{"MULRK", []rec{{recMulRK, le(uint16(0), uint16(1),
			uint16(0), uint32(3<<2|0x02), uint16(1), uint32(45000<<2|0x02), uint16(0), uint32(5<<2|0x03),
			uint16(3))}},
			[]Value{{}, num(3), {Type: Number, F: 45000, Date: true}, num(0.05)}},
		{"LABEL Latin-1", []rec{label(0, 0, 0, "Zoë Ærøskøbing")}, []Value{str("Zoë Ærøskøbing")}},
		{"LABEL UTF-16", []rec{label(0, 0, 0, "Łukasz Żółć 😀")}, []Value{str("Łukasz Żółć 😀")}},
		{"BOOLERR true, false, #N/A", []rec{boolErr(0, 0, 1, false), boolErr(0, 1, 0, false), boolErr(0, 2, 0x2A, true)},
			[]Value{boolean(true), boolean(false), errVal("#N/A")}},
		{"FORMULA number in date format", []rec{formula(0, 0, 1, numResult(45306))}, []Value{{Type: Number, F: 45306, Date: true}}},
		{"FORMULA bool", []rec{formula(0, 0, 0, specialResult(1, 1))}, []Value{boolean(true)}},
		{"FORMULA error", []rec{formula(0, 0, 0, specialResult(2, 0x07))}, []Value{errVal("#DIV/0!")}},
		{"FORMULA empty string", []rec{formula(0, 0, 0, specialResult(3, 0))}, []Value{str("")}},
		{"FORMULA string after shared formula", []rec{
			formula(0, 0, 0, specialResult(0, 0)), {recShrFmla, make([]byte, 10)}, {recString, xlString("Honours")}},
			[]Value{str("Honours")}},
		{"FORMULA string continued with other width", []rec{
			formula(0, 0, 0, specialResult(0, 0)),
			{recString, append(le(uint16(7), byte(0)), "S\xf8"...)}, // Latin-1 "Sø"
			{recContinue, append([]byte{strHighByte}, le(utf16.Encode([]rune("ren Ł")))...)}},
			[]Value{str("Søren Ł")}},
		{"BLANK and MULBLANK are gaps", []rec{{0x0201, le(uint16(0), uint16(0), uint16(0))},
			{0x00BE, le(uint16(0), uint16(1), uint16(0), uint16(0), uint16(2))}, number(0, 3, 0, 1)},
			[]Value{{}, {}, {}, num(1)}},
		{"later cell in a column wins", []rec{number(0, 0, 0, 1), number(0, 0, 0, 2)}, []Value{num(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := openBytes(sheetOf(globals, tt.cells...))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			rows := readAll(t, w, 0)
			if len(rows) != 1 {
				t.Fatalf("got %d rows, want 1: %+v", len(rows), rows)
			}
			if !reflect.DeepEqual(rows[0].cells, tt.want) {
				t.Errorf("cells\n got %+v\nwant %+v", rows[0].cells, tt.want)
			}
		})
	}
}

func TestSharedStrings(t *testing.T) {
	hello := utf16.Encode([]rune("Zoë Ærøskøbing"))
	tests := []struct {
		name string
		sst  []rec
		want []string
	}{
		{"plain", []rec{sst("José", "山田 太郎", "")}, []string{"José", "山田 太郎", ""}},
		{"rich-text runs and phonetic data are skipped", []rec{{recSST, le(uint32(2), uint32(2),
			uint16(3), byte(strRichSt|strExtSt), uint16(2), uint32(5), []byte("abc"), make([]byte, 8), []byte("PHONE"),
			uint16(2), byte(0), []byte("ok"))}},
			[]string{"abc", "ok"}},
		{"string split across CONTINUE, compressed then UTF-16", []rec{
			{recSST, le(uint32(2), uint32(2), uint16(len(hello)), byte(0), []byte("Zo\xeb "))},
			{recContinue, append([]byte{strHighByte}, le(hello[4:])...)},
			{recContinue, append(le(uint16(2)), chars([]uint16{'o', 'k'}, false)...)}},
			[]string{"Zoë Ærøskøbing", "ok"}},
		{"string header split across CONTINUE", []rec{
			{recSST, le(uint32(1), uint32(1), byte(4))},
			{recContinue, append([]byte{0, 0}, "Anna"...)}},
			[]string{"Anna"}},
		{"rich runs split across CONTINUE", []rec{
			{recSST, le(uint32(2), uint32(2), uint16(2), byte(strRichSt), uint16(1), []byte("hi"), []byte{1, 2})},
			{recContinue, le([]byte{3, 4}, uint16(1), byte(0), []byte("x"))}},
			[]string{"hi", "x"}},
		{"count overstated", []rec{{recSST, le(uint32(9), uint32(9), xlString("only"))}}, []string{"only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cells []rec
			for i := range tt.want {
				cells = append(cells, labelSST(0, uint16(i), 0, uint32(i)))
			}
			w, err := openBytes(sheetOf(append([]rec{xf(0)}, tt.sst...), cells...))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			rows := readAll(t, w, 0)
			var got []string
			for _, c := range rows[0].cells {
				got = append(got, c.S)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("strings %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRowOrder(t *testing.T) {
	tests := []struct {
		name  string
		cells []rec
		want  []row
	}{
		{"blank rows are skipped", []rec{number(0, 0, 0, 1), number(4, 1, 0, 2)},
			[]row{{0, []Value{num(1)}}, {4, []Value{{}, num(2)}}}},
		{"rows written out of order come back sorted", []rec{number(7, 0, 0, 7), number(2, 1, 0, 2), number(7, 1, 0, 8), number(2, 0, 0, 1)},
			[]row{{2, []Value{num(1), num(2)}}, {7, []Value{num(7), num(8)}}}},
		{"last row of a sheet", []rec{number(65535, 255, 0, 1)},
			[]row{{65535, append(make([]Value, 255), num(1))}}},
		{"embedded chart is not read as cells", []rec{number(0, 0, 0, 1), bof(0x0020), number(0, 1, 0, 99), eof(), number(1, 0, 0, 2)},
			[]row{{0, []Value{num(1)}}, {1, []Value{num(2)}}}},
		{"no cells", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := openBytes(sheetOf([]rec{xf(0)}, tt.cells...))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			got := readAll(t, w, 0)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSheets(t *testing.T) {
	stream := workbookBytes([]rec{xf(0)},
		testSheet{name: "Chart1", kind: 2},
		testSheet{name: "Données", records: []rec{number(0, 0, 0, 1)}},
		testSheet{name: "Lookup", hidden: true, records: []rec{number(0, 0, 0, 2)}},
		testSheet{name: "Macro1", kind: 1},
	)
	w, err := openBytes(xlsFile(stream))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.Sheets(), []string{"Données", "Lookup"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sheets() = %q, want %q", got, want)
	}
	if !w.Visible(0) || w.Visible(1) || w.Visible(2) {
		t.Errorf("Visible = %v %v %v, want true false false", w.Visible(0), w.Visible(1), w.Visible(2))
	}
	if got := readAll(t, w, 1); !reflect.DeepEqual(got, []row{{0, []Value{num(2)}}}) {
		t.Errorf("sheet Lookup: %+v", got)
	}
	for _, i := range []int{-1, 2} {
		if _, err := w.Rows(i); err == nil {
			t.Errorf("Rows(%d) succeeded", i)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	globals := []rec{xf(0), sst("a")}
	withBOF := func(vers, dt uint16) []byte {
		s := workbookBytes(globals, testSheet{name: "S"})
		copy(s[4:], le(vers, dt))
		return xlsFile(s)
	}
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrUnsupported},
		{"not a compound file", bytes.Repeat([]byte("Recipient Name,E-mail\n"), 40), ErrUnsupported},
		{"compound file without a workbook", compoundFile("WordDocument", make([]byte, 5000), -1), ErrUnsupported},
		{"BIFF5", withBOF(0x0500, bofGlobals), ErrUnsupported},
		{"BIFF4", xlsFile(le(uint16(recBOF4), uint16(6), uint16(0), uint16(0x0100), uint16(0))), ErrUnsupported},
		{"stream of zeros", xlsFile(nil), ErrUnsupported},
		{"FILEPASS", xlsFile(workbookBytes([]rec{{recFilePass, le(uint16(1), make([]byte, 52))}})), ErrEncrypted},
		{"globals without EOF", xlsFile(workbookBytes(globals)[:40]), ErrCorrupt},
		{"first substream is a worksheet", withBOF(0x0600, bofWorksheet), ErrCorrupt},
		{"record longer than the stream", xlsFile(append(workbookBytes(nil)[:20], le(uint16(recXF), uint16(0xFFFF))...)), ErrCorrupt},
		{"SST string longer than its records", xlsFile(workbookBytes([]rec{{recSST, le(uint32(1), uint32(1), uint16(0xFFFF), byte(1), []byte("ab"))}})), ErrCorrupt},
		{"SST phonetic data longer than its records", xlsFile(workbookBytes([]rec{{recSST, le(uint32(1), uint32(1), uint16(1), byte(strExtSt), uint32(0xFFFFFFFF), []byte("a"))}})), ErrCorrupt},
		{"sheet offset past the stream", func() []byte {
			s := workbookBytes(globals, testSheet{name: "S"})
			i := bytes.Index(s, le(uint16(recBoundSheet)))
			copy(s[i+4:], le(uint32(1<<30)))
			return xlsFile(s)
		}(), ErrCorrupt},
		{"Workbook stream claims 4 GB", compoundFile("Workbook", workbookBytes(globals), 0xFFFFFFF0), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openBytes(tt.file)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRowsErrors(t *testing.T) {
	globals := []rec{xf(0), sst("a")}
	tests := []struct {
		name  string
		cells []rec
	}{
		{"shared string index out of range", []rec{labelSST(0, 0, 0, 1)}},
		{"column past 255", []rec{number(0, 256, 0, 1)}},
		{"MULRK past column 255", []rec{{recMulRK, le(uint16(0), uint16(255), uint16(0), uint32(2), uint16(0), uint32(2), uint16(256))}}},
		{"MULRK whose last column disagrees", []rec{{recMulRK, le(uint16(0), uint16(0), uint16(0), uint32(2), uint16(9))}}},
		{"short NUMBER", []rec{{recNumber, le(uint16(0), uint16(0), uint16(0), uint32(0))}}},
		{"cell record too short for its row", []rec{{recRK, le(uint16(0))}}},
		{"string formula without STRING", []rec{formula(0, 0, 0, specialResult(0, 0)), number(0, 1, 0, 1)}},
		{"unknown formula result type", []rec{formula(0, 0, 0, specialResult(9, 0))}},
		{"LABEL longer than its record", []rec{{recLabel, le(uint16(0), uint16(0), uint16(0), uint16(50), byte(0), []byte("ab"))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := readEverything(sheetOf(globals, tt.cells...)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("reading rows: %v, want ErrCorrupt", err)
			}
		})
	}
	t.Run("sheet without EOF", func(t *testing.T) {
		s := workbookBytes(globals, testSheet{name: "S", records: []rec{number(0, 0, 0, 1)}})
		w, err := openBytes(xlsFile(s[:len(s)-4]))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if _, err := w.Rows(0); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Rows: %v, want ErrCorrupt", err)
		}
	})
}

// TestHostileCountsAllocateLittle feeds counts and lengths that claim far
// more than the file holds; reading must allocate in proportion to the file.
func TestHostileCountsAllocateLittle(t *testing.T) {
	tests := []struct {
		name string
		file []byte
	}{
		{"SST claims 2^24 strings", sheetOf([]rec{xf(0), {recSST, le(uint32(1<<24), uint32(1<<24), xlString("a"))}}, labelSST(0, 0, 0, 0))},
		{"SST claims 2^31 strings", sheetOf([]rec{xf(0), {recSST, le(uint32(1<<31), uint32(1<<31), xlString("a"))}}, labelSST(0, 0, 0, 0))},
		{"SST claims 2^32-1 strings of 64K characters", xlsFile(workbookBytes([]rec{{recSST, le(uint32(math.MaxUint32), uint32(math.MaxUint32), uint16(0xFFFF), byte(1))}}))},
		{"Workbook stream claims 4 GB", compoundFile("Workbook", workbookBytes(nil), 0xFFFFFFF0)},
		{"every record claims 64 KB", xlsFile(append(workbookBytes(nil)[:20], bytes.Repeat(le(uint16(recXF), uint16(0xFFFF)), 2000)...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			readEverything(tt.file)
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
				t.Errorf("allocated %d bytes reading a %d-byte file", got, len(tt.file))
			}
		})
	}
}

func TestIsDateFormat(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"dd/mm/yyyy", true},
		{"YYYY-MM-DD", true},
		{"m/d/yy h:mm", true},
		{"[$-409]mmmm d, yyyy;@", true},
		{"[$-F800]dddd\\,\\ mmmm\\ dd\\,\\ yyyy", true},
		{"hh:mm:ss", true},
		{"General", false},
		{"Standard", false},
		{"0.00", false},
		{"#,##0 \"days\"", false},
		{"0\\d", false},
		{"[Red]0.00;[Blue]-0.00", false},
		{"_(* #,##0_);_(* (#,##0);_(* \"-\"_);_(@_)", false},
		{"[$€-407] #,##0.00", false},
		{"0.00E+00", false},
		{"@", false},
		{"\"unterminated", false},
		{"[unterminated", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := isDateFormat(tt.code); got != tt.want {
				t.Errorf("isDateFormat(%q) = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}
