package xls

import (
	"bytes"
	"fmt"
	"testing"
)

// sstRecords is a shared-string table split into an SST record and
// CONTINUE records of at most 8224 bytes, breaking between strings.
func sstRecords(strs []string) []rec {
	const maxBody = 8224
	out := []rec{{recSST, le(uint32(len(strs)), uint32(len(strs)))}}
	for _, s := range strs {
		enc := xlString(s)
		if len(out[len(out)-1].body)+len(enc) > maxBody {
			out = append(out, rec{recContinue, nil})
		}
		out[len(out)-1].body = append(out[len(out)-1].body, enc...)
	}
	return out
}

// largeSheet is a full-height BIFF8 sheet: 65,536 rows of a name, an email,
// a text ID, an issue date, hours and a score, every string distinct.
func largeSheet() []byte {
	const rows = 65536
	strs := make([]string, 0, 3*rows)
	var cells []rec
	for r := range rows {
		i := uint32(len(strs))
		strs = append(strs, fmt.Sprintf("Zoë Ærøskøbing %05d", r), fmt.Sprintf("learner.%05d@example.org", r), fmt.Sprintf("%06d", r))
		row := uint16(r)
		cells = append(cells,
			labelSST(row, 0, 0, i), labelSST(row, 1, 0, i+1), labelSST(row, 2, 0, i+2),
			rkCell(row, 3, 1, uint32(45306+r%700)<<2|0x02), rkCell(row, 4, 0, uint32(r%48)<<2|0x02),
			number(row, 5, 0, float64(r)/7))
	}
	globals := append([]rec{xf(0), xf(14)}, sstRecords(strs)...)
	return xlsFile(workbookBytes(globals, testSheet{name: "Learners", records: cells}))
}

func benchmarkRead(b *testing.B, file []byte) {
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	var rows int
	for b.Loop() {
		w, err := Open(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			b.Fatal(err)
		}
		r, err := w.Rows(0)
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for r.Next() {
			rows++
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "rows/op")
}

// BenchmarkReadFixture opens and reads the 460-learner Gnumeric workbook.
func BenchmarkReadFixture(b *testing.B) {
	benchmarkRead(b, readFixture(b, "formulas-gnumeric.xls"))
}

// BenchmarkReadLargeSheet opens and reads a 65,536-row sheet, the most a
// BIFF8 sheet holds.
func BenchmarkReadLargeSheet(b *testing.B) {
	benchmarkRead(b, largeSheet())
}
