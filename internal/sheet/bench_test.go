package sheet

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/credup/credup/internal/engine/enginetest"
	"github.com/xuri/excelize/v2"
)

// The benchmarks read the same generated credential data through sheet and
// through the plain library each format is measured against:
//
//	go test -run '^$' -bench . -benchmem ./internal/sheet/
//
// BenchmarkReadCSV / BenchmarkFloorCSV is the CSV overhead (target: < 3×),
// BenchmarkReadXLSX / BenchmarkFloorXLSX the XLSX one (target: < 1.3×).

const benchRows = 100_000

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// benchFiles writes the benchmark files once per test process.
func benchFiles(b *testing.B) (csvPath, xlsxPath, sharedPath string) {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "credup-sheet-bench-")
		if benchErr != nil {
			return
		}
		if benchErr = writeBenchCSV(filepath.Join(benchDir, "bench.csv"), benchRows); benchErr != nil {
			return
		}
		if benchErr = writeBenchXLSX(filepath.Join(benchDir, "bench.xlsx"), benchRows); benchErr != nil {
			return
		}
		benchErr = writeSharedStringsXLSX(filepath.Join(benchDir, "shared.xlsx"), benchRows)
	})
	if benchErr != nil {
		b.Fatalf("write benchmark files: %v", benchErr)
	}
	return filepath.Join(benchDir, "bench.csv"), filepath.Join(benchDir, "bench.xlsx"), filepath.Join(benchDir, "shared.xlsx")
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{benchDir, fuzzDir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

var benchHeader = []string{"Credential ID", "Recipient ID", "Recipient Name", "Recipient Email", "Issued On", "Expires On", "Grade", "Course Hours", "Description", "Notes"}

var (
	firstNames = []string{"Ana", "João", "Zoë", "Chloé", "Łukasz", "Mei", "Oluwaseun", "Søren", "Priya", "Hiroshi", "Fatima", "Liam"}
	lastNames  = []string{"Souza", "Müller", "García", "Nguyen", "O'Connor", "Kowalski", "Tanaka", "Haddad", "Smith", "Dubois", "Rossi"}
	grades     = []string{"A", "B+", "B", "Pass", "Merit", "Distinction", ""}
)

// benchRecord is row i of the benchmark data, as text.
func benchRecord(i int) []string {
	first, last := firstNames[i%len(firstNames)], lastNames[(i/7)%len(lastNames)]
	issued := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%1500)
	return []string{
		fmt.Sprintf("c-%07d", i),
		fmt.Sprintf("S-%06d", i%900_000),
		first + " " + last,
		fmt.Sprintf("%s.%s.%d@example.com", first, last, i),
		issued.Format("2006-01-02"),
		issued.AddDate(2, 0, 0).Format("2006-01-02"),
		grades[i%len(grades)],
		fmt.Sprint(4 + i%60),
		"UX Foundations, cohort " + fmt.Sprint(i%40),
		"",
	}
}

func writeBenchCSV(path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(bufio.NewWriter(f))
	if err := w.Write(benchHeader); err != nil {
		return err
	}
	for i := range rows {
		if err := w.Write(benchRecord(i)); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return f.Close()
}

// writeBenchXLSX writes the data with excelize's StreamWriter: inline
// strings, numbers, and the dates as date cells.
func writeBenchXLSX(path string, rows int) error {
	f := excelize.NewFile()
	defer f.Close()
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	header := make([]any, len(benchHeader))
	for i, h := range benchHeader {
		header[i] = h
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	for i := range rows {
		rec := benchRecord(i)
		issued, _ := time.Parse("2006-01-02", rec[4])
		expires, _ := time.Parse("2006-01-02", rec[5])
		row := []any{
			rec[0], rec[1], rec[2], rec[3],
			excelize.Cell{StyleID: dateStyle, Value: issued},
			excelize.Cell{StyleID: dateStyle, Value: expires},
			rec[6], 4 + i%60, rec[8], nil,
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}

// writeSharedStringsXLSX writes the data the way Excel itself does: text in
// the shared string table.
func writeSharedStringsXLSX(path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	recs := func(yield func([]string) bool) {
		if !yield(benchHeader) {
			return
		}
		for i := range rows {
			if !yield(benchRecord(i)) {
				return
			}
		}
	}
	if err := writeExcelLikeXLSX(f, recs); err != nil {
		return err
	}
	return f.Close()
}

func BenchmarkReadCSV(b *testing.B) {
	path, _, _ := benchFiles(b)
	benchSheet(b, path)
}

func BenchmarkFloorCSV(b *testing.B) {
	path, _, _ := benchFiles(b)
	benchFloor(b, func() (int, error) { return enginetest.FloorCSV(path) })
}

func BenchmarkReadXLSX(b *testing.B) {
	_, path, _ := benchFiles(b)
	benchSheet(b, path)
}

func BenchmarkFloorXLSX(b *testing.B) {
	_, path, _ := benchFiles(b)
	benchExcelize(b, path)
}

func BenchmarkReadXLSXSharedStrings(b *testing.B) {
	_, _, path := benchFiles(b)
	benchSheet(b, path)
}

func BenchmarkFloorXLSXSharedStrings(b *testing.B) {
	_, _, path := benchFiles(b)
	benchExcelize(b, path)
}

func benchSheet(b *testing.B, path string) {
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r, err := OpenFile(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		r.Close()
	}
	if rows != benchRows+1 {
		b.Fatalf("read %d rows, want %d", rows, benchRows+1)
	}
	reportRows(b, rows)
}

func benchExcelize(b *testing.B, path string) {
	benchFloor(b, func() (int, error) { return enginetest.FloorXLSX(path, b.TempDir()) })
}

// benchFloor measures a plain-library read, the floor credup's readers are
// held to.
func benchFloor(b *testing.B, read func() (int, error)) {
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		var err error
		if rows, err = read(); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, rows)
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadCSVHeap shows that reading does not hold on to rows: the
// live heap, sampled as the rows stream by, stays the same for 20 000 and
// 200 000 rows (peak-live-B), while bytes allocated (B/op) grow with them.
func BenchmarkReadCSVHeap(b *testing.B) {
	dir := b.TempDir()
	for _, n := range []int{20_000, 200_000} {
		path := filepath.Join(dir, fmt.Sprintf("rows-%d.csv", n))
		if err := writeBenchCSV(path, n); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				r, err := OpenFile(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; ; i++ {
					if _, err := r.Next(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
					if i%(n/10) == 0 {
						runtime.GC()
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc)
					}
				}
				r.Close()
			}
			b.ReportMetric(float64(peak), "peak-live-B")
		})
	}
}
