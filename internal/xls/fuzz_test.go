package xls

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// syntheticBooks are small workbooks that reach the record types the
// fixtures do not: LABEL, out-of-order rows, embedded charts, CONTINUE'd
// strings of both widths.
func syntheticBooks() [][]byte {
	globals := []rec{format(164, "dd/mm/yyyy"), xf(0), xf(14), xf(164),
		{recSST, le(uint32(2), uint32(2), uint16(5), byte(strRichSt), uint16(1), []byte("Zo\xeb"))},
		{recContinue, append([]byte{strHighByte}, le([]uint16{'x', 0x141}, []byte{1, 0, 2, 0}, uint16(1), byte(0), []byte("y"))...)}}
	return [][]byte{
		workbookBytes(globals, testSheet{name: "Données", records: []rec{
			labelSST(3, 0, 0, 1), number(1, 2, 1, 45306), rkCell(1, 0, 2, 45000<<2|2),
			label(0, 1, 0, "Łukasz"), boolErr(2, 0, 1, false), boolErr(2, 1, 0x07, true),
			formula(4, 0, 0, specialResult(0, 0)), {recString, xlString("Honours")},
			bof(0x0020), number(0, 0, 0, 1), eof(),
			{recMulRK, le(uint16(5), uint16(0), uint16(0), uint32(2<<2|2), uint16(1), uint32(3<<2|3), uint16(1))},
		}}, testSheet{name: "Chart", kind: 2}),
	}
}

// FuzzOpen feeds whole files: the fixtures and synthetic workbooks, mutated.
func FuzzOpen(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(sheetsDir, "*.xls"))
	for _, name := range files {
		if strings.Contains(name, "formulas-") {
			continue // 200 KB seeds slow every mutation down; the small ones cover the records
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range syntheticBooks() {
		f.Add(xlsFile(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkInvariants(t, func() (*Workbook, error) { return openBytes(b) })
	})
}

// FuzzWorkbookStream feeds Workbook streams straight to the BIFF parser,
// where mutations are not spent on the compound-file container.
func FuzzWorkbookStream(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(sheetsDir, "credentials-*.xls"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		s, err := workbookStream(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	for _, s := range syntheticBooks() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		checkInvariants(t, func() (*Workbook, error) { return parseGlobals(s) })
	})
}

// checkInvariants reads everything open yields and checks what every
// caller relies on: ascending rows within BIFF8's bounds, no empty rows, no
// trailing blanks.
func checkInvariants(t *testing.T, open func() (*Workbook, error)) {
	w, err := open()
	if err != nil {
		return
	}
	for i := range w.Sheets() {
		rows, err := w.Rows(i)
		if err != nil {
			continue
		}
		prev := -1
		for rows.Next() {
			index, cells := rows.Row()
			if index <= prev || index > 0xFFFF {
				t.Fatalf("sheet %d: row index %d after %d", i, index, prev)
			}
			prev = index
			if len(cells) == 0 || len(cells) > maxCols {
				t.Fatalf("sheet %d row %d: %d cells", i, index, len(cells))
			}
			if cells[len(cells)-1].Type == Blank {
				t.Fatalf("sheet %d row %d: trailing blank cell", i, index)
			}
		}
	}
}
