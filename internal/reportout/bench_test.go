package reportout

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/engine/enginetest"
	"github.com/credup/credup/internal/sheet"
)

// The benchmarks write the JSON report of 100 000 rows validated against
// 100 000 credentials (the workload of the engine's benchmarks):
//
//	go test -run '^$' -bench . -benchmem ./internal/reportout/

func BenchmarkWriteJSON100k(b *testing.B) {
	const rows, creds = 100_000, 100_000
	path := filepath.Join(b.TempDir(), "bench.csv")
	if err := enginetest.WriteCSV(path, rows, creds); err != nil {
		b.Fatal(err)
	}
	in := engine.Input{Group: enginetest.Group(), Credentials: enginetest.Credentials(creds), Now: enginetest.Now}
	b.ReportAllocs()
	var written int64
	for b.Loop() {
		src, err := sheet.OpenFile(path, sheet.Options{})
		if err != nil {
			b.Fatal(err)
		}
		w := &countingWriter{}
		if _, err := WriteJSON(context.Background(), w, src, in); err != nil {
			b.Fatal(err)
		}
		src.Close()
		written = w.n
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(written), "json-B")
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// BenchmarkWriteJSONHeap shows that the memory a report takes does not grow
// with the sheet: against the same 20 000 credentials, the live heap
// sampled as rows stream by (peak-live-B) is about the same for a sheet of
// 20 000 rows and one of 200 000, while bytes allocated (B/op) grow with
// the rows.
func BenchmarkWriteJSONHeap(b *testing.B) {
	const creds = 20_000
	in := engine.Input{Group: enginetest.Group(), Credentials: enginetest.Credentials(creds), Now: enginetest.Now}
	dir := b.TempDir()
	for _, n := range []int{20_000, 200_000} {
		path := filepath.Join(dir, fmt.Sprintf("rows-%d.csv", n))
		if err := enginetest.WriteCSV(path, n, creds); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				f, err := sheet.OpenFile(path, sheet.Options{})
				if err != nil {
					b.Fatal(err)
				}
				src := &sampling{Reader: f, every: n / 10, peak: &peak}
				if _, err := WriteJSON(context.Background(), io.Discard, src, in); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			b.ReportMetric(float64(peak), "peak-live-B")
		})
	}
}

// sampling reads a sheet and samples the live heap every so many rows.
type sampling struct {
	sheet.Reader
	every, n int
	peak     *uint64
}

func (s *sampling) Next() (sheet.Row, error) {
	s.n++
	if s.n%s.every == 0 {
		s.sample()
	}
	return s.Reader.Next()
}

func (s *sampling) sample() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	*s.peak = max(*s.peak, ms.HeapAlloc)
}

// NextInto samples as Next does, and reads as the sheet's reader would
// (sheet.IntoReader), as a validation reads it.
func (s *sampling) NextInto(buf []sheet.Cell) (sheet.Row, error) {
	s.n++
	if s.n%s.every == 0 {
		s.sample()
	}
	return sheet.NextInto(s.Reader, buf)
}
