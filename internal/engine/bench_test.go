package engine

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine/enginetest"
	"github.com/credup/credup/internal/sheet"
)

// The benchmarks validate 100 000 rows against a group of 100 000
// credentials, and read the same files with the plain libraries each format
// is measured against:
//
//	go test -run '^$' -bench . -benchmem ./internal/engine/
//
// BenchmarkValidateCSV100k / BenchmarkFloorCSV100k is the cost of a CSV
// validation over a bare read (target: < 3×), BenchmarkValidateXLSX100k /
// BenchmarkFloorXLSX100k the XLSX one (target: < 1.3×). A validation
// includes opening the sheet and indexing the credentials; generating them
// does not count. The rows are in the credentials' order, as a template
// pre-filled from the group comes back; BenchmarkValidateCSV100kShuffled
// validates the same rows in another order.

const (
	benchRows  = 100_000
	benchCreds = 100_000
)

var (
	benchOnce  sync.Once
	benchDir   string
	benchErr   error
	benchInput Input
)

// benchFiles writes the benchmark sheets and builds the credentials once per
// test process.
func benchFiles(b *testing.B) (csvPath, xlsxPath string, in Input) {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "credup-engine-bench-")
		if benchErr != nil {
			return
		}
		if benchErr = enginetest.WriteCSV(filepath.Join(benchDir, "bench.csv"), benchRows, benchCreds); benchErr != nil {
			return
		}
		if benchErr = enginetest.WriteShuffledCSV(filepath.Join(benchDir, "shuffled.csv"), benchRows, benchCreds); benchErr != nil {
			return
		}
		if benchErr = enginetest.WriteXLSX(filepath.Join(benchDir, "bench.xlsx"), benchRows, benchCreds); benchErr != nil {
			return
		}
		benchInput = Input{Group: enginetest.Group(), Credentials: enginetest.Credentials(benchCreds), Now: enginetest.Now}
	})
	if benchErr != nil {
		b.Fatalf("write benchmark files: %v", benchErr)
	}
	return filepath.Join(benchDir, "bench.csv"), filepath.Join(benchDir, "bench.xlsx"), benchInput
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func BenchmarkValidateCSV100k(b *testing.B) {
	path, _, in := benchFiles(b)
	benchValidate(b, path, in)
}

func BenchmarkValidateCSV100kShuffled(b *testing.B) {
	path, _, in := benchFiles(b)
	benchValidate(b, filepath.Join(filepath.Dir(path), "shuffled.csv"), in)
}

func BenchmarkValidateXLSX100k(b *testing.B) {
	_, path, in := benchFiles(b)
	benchValidate(b, path, in)
}

// benchValidate opens and validates the sheet, handing rows to an emit that
// only counts them, as a caller streaming the report out would.
func benchValidate(b *testing.B, path string, in Input) {
	ctx := context.Background()
	b.ReportAllocs()
	var rep *bulk.Report
	emitted := 0
	cpu := cpuTime()
	for b.Loop() {
		src, err := sheet.OpenFile(path, sheet.Options{})
		if err != nil {
			b.Fatal(err)
		}
		emitted = 0
		rep, err = Run(ctx, src, in, func(Outcome) error {
			emitted++
			return nil
		})
		src.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	// A validation that went wrong quickly is no measurement.
	s := rep.Summary
	if rep.DataRows != benchRows || emitted != benchRows || s.Update+s.Unchanged+s.Error != benchRows {
		b.Fatalf("validated %d rows, emitted %d, summary %+v; want %d rows", rep.DataRows, emitted, s, benchRows)
	}
	if s.Renewals < benchRows/4 || s.Error == 0 || s.Error > benchRows/10 || rep.DateFormat != "DD/MM/YYYY" && rep.Format == "csv" {
		b.Fatalf("unexpected report: format %s, date format %q, summary %+v", rep.Format, rep.DateFormat, s)
	}
	reportRows(b, benchRows, cpuTime()-cpu)
}

// BenchmarkIndex100k indexes the group's credentials by email, as every
// validation does before its rows can be matched.
func BenchmarkIndex100k(b *testing.B) {
	_, _, in := benchFiles(b)
	b.ReportAllocs()
	for b.Loop() {
		x := newIndex(in.Credentials, in.Group.ID, bulk.AttrEmail)
		if len(x.other) != benchCreds/100 {
			b.Fatalf("%d keys of another group, want %d", len(x.other), benchCreds/100)
		}
		x.release()
	}
}

// BenchmarkReadCSV100k and BenchmarkReadXLSX100k read the same sheets with
// credup's reader and nothing else: the part of a validation that is
// reading.
func BenchmarkReadCSV100k(b *testing.B) {
	path, _, _ := benchFiles(b)
	benchRead(b, path)
}

func BenchmarkReadXLSX100k(b *testing.B) {
	_, path, _ := benchFiles(b)
	benchRead(b, path)
}

func benchRead(b *testing.B, path string) {
	b.ReportAllocs()
	rows := 0
	cpu := cpuTime()
	for b.Loop() {
		src, err := sheet.OpenFile(path, sheet.Options{})
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for {
			_, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		src.Close()
	}
	if rows != benchRows+1 {
		b.Fatalf("read %d rows, want %d", rows, benchRows+1)
	}
	reportRows(b, benchRows, cpuTime()-cpu)
}

func BenchmarkFloorCSV100k(b *testing.B) {
	path, _, _ := benchFiles(b)
	benchFloor(b, func() (int, error) { return enginetest.FloorCSV(path) })
}

func BenchmarkFloorXLSX100k(b *testing.B) {
	_, path, _ := benchFiles(b)
	benchFloor(b, func() (int, error) { return enginetest.FloorXLSX(path, b.TempDir()) })
}

func benchFloor(b *testing.B, read func() (int, error)) {
	b.ReportAllocs()
	rows := 0
	cpu := cpuTime()
	for b.Loop() {
		var err error
		if rows, err = read(); err != nil {
			b.Fatal(err)
		}
	}
	if rows != benchRows+1 {
		b.Fatalf("read %d rows, want %d", rows, benchRows+1)
	}
	reportRows(b, benchRows, cpuTime()-cpu)
}

// reportRows reports data rows per second of wall time, and the processor
// time an operation used on all threads (cpu-ms/op): on a busy machine the
// latter varies less, and a Lambda function is billed for wall time with a
// share of one processor.
func reportRows(b *testing.B, rows int, cpu time.Duration) {
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
