package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine/enginetest"
	"github.com/credup/credup/internal/sheet"
)

// runsOf splits row numbers into their ascending runs.
func runsOf(nums []int) [][]int {
	var runs [][]int
	for i, n := range nums {
		if i == 0 || n < nums[i-1] {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], n)
	}
	return runs
}

func TestRunHandsRowsOverInTwoRuns(t *testing.T) {
	header := []string{"Email", "Expiry Date", "Grade"}
	tests := []struct {
		name  string
		lines [][]string
	}{
		{
			name: "matches, misses and a duplicate",
			lines: [][]string{header,
				{"ana@example.com", "2027-01-15", "A"},
				{"nobody@example.com", "2027-01-15", "A"},
				{"bo@example.com", "2028-02-01", "B"},
				{"dee@example.com", "2027-01-15", "A"},
				{"ana@example.com", "2028-01-15", "A"},
				{"shared@example.com", "2027-01-15", "A"},
			},
		},
		{
			name: "dates decided at the end among rows decided at once",
			lines: [][]string{header,
				{"ana@example.com", "01/02/2027", "A"},
				{"nobody@example.com", "02/03/2027", "A"},
				{"ana@example.com", "03/04/2027", "A"},
				{"bo@example.com", "25/12/2027", "B"},
				{"other@example.com", "26/12/2027", "B"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nums []int
			_, err := Run(context.Background(), csvRows(tt.lines...), Input{Group: group, Credentials: credentials(), Now: now},
				func(o Outcome) error {
					nums = append(nums, o.Row.Row)
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if len(nums) != len(tt.lines)-1 {
				t.Fatalf("emitted rows %v, want each of the %d data rows once", nums, len(tt.lines)-1)
			}
			if runs := runsOf(nums); len(runs) > 2 {
				t.Errorf("rows emitted in order %v: %d ascending runs, want at most 2", nums, len(runs))
			}
		})
	}
}

// countingRows is a sheet of n generated rows (a header, then rows no
// credential matches) that counts reads and notes one after Run returned.
type countingRows struct {
	n, read int
	closed  atomic.Bool
	late    atomic.Bool
	err     error // returned instead of the row after the first 50
}

func (c *countingRows) Info() sheet.Info {
	return sheet.Info{Format: "csv", Encoding: "utf-8", Delimiter: ","}
}

func (c *countingRows) Next() (sheet.Row, error) {
	if c.closed.Load() {
		c.late.Store(true)
	}
	if c.read >= c.n {
		return sheet.Row{}, io.EOF
	}
	c.read++
	if c.err != nil && c.read > 50 {
		return sheet.Row{}, c.err
	}
	if c.read == 1 {
		return sheet.Row{Number: 1, Cells: []sheet.Cell{{Kind: sheet.Text, Text: "Email"}, {Kind: sheet.Text, Text: "Grade"}}}, nil
	}
	return sheet.Row{Number: c.read, Cells: []sheet.Cell{
		{Kind: sheet.Text, Text: fmt.Sprintf("p%d@example.com", c.read)}, {Kind: sheet.Text, Text: "A"}}}, nil
}

func TestRunStopsReadingWhenItReturns(t *testing.T) {
	stop := errors.New("stop")
	broken := errors.New("disk on fire")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		src  *countingRows
		emit func(Outcome) error
		want error
	}{
		{"emit fails", context.Background(), &countingRows{n: 100_000}, func(Outcome) error { return stop }, stop},
		{"context cancelled", cancelled, &countingRows{n: 100_000}, func(Outcome) error { return nil }, context.Canceled},
		{"sheet cannot be read", context.Background(), &countingRows{n: 100_000, err: broken}, func(Outcome) error { return nil }, broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(tt.ctx, tt.src, Input{Group: group, Credentials: credentials(), Now: now}, tt.emit)
			tt.src.closed.Store(true)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if tt.src.read >= tt.src.n {
				t.Errorf("read all %d rows; want Run to stop early", tt.src.n)
			}
			// With -race, a read after Run returned is also a data race on
			// src.read.
			if tt.src.late.Load() {
				t.Error("the sheet was read after Run returned")
			}
		})
	}
}

func TestRunReadsEveryRowOnce(t *testing.T) {
	for _, n := range []int{1, 2, readAheadRows, readAheadRows + 1, 5*readAheadRows + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src := &countingRows{n: n}
			rep, err := Run(context.Background(), src, Input{Group: group, Credentials: credentials(), Now: now}, func(Outcome) error { return nil })
			if n == 1 {
				// A header alone is a sheet without data, still a report.
				if err != nil || rep.DataRows != 0 {
					t.Fatalf("header only: report %+v, err %v", rep, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.DataRows != n-1 || rep.Summary.Error != n-1 {
				t.Errorf("data rows %d, errors %d; want %d of each (no row matches)", rep.DataRows, rep.Summary.Error, n-1)
			}
			if rep.Summary.Update+rep.Summary.Unchanged != 0 {
				t.Errorf("summary %+v, want no match", rep.Summary)
			}
		})
	}
}

// Rows are evaluated on several goroutines in batches: the rows handed
// over, their order and the report must not depend on how many.
func TestReportDoesNotDependOnWorkers(t *testing.T) {
	dir := t.TempDir()
	const rows, creds = 6000, 5000 // more rows than credentials: duplicates and misses
	for _, name := range []string{"ordered.csv", "shuffled.csv"} {
		path := filepath.Join(dir, name)
		write := enginetest.WriteCSV
		if name == "shuffled.csv" {
			write = enginetest.WriteShuffledCSV
		}
		if err := write(path, rows, creds); err != nil {
			t.Fatal(err)
		}
		in := Input{Group: enginetest.Group(), Credentials: enginetest.Credentials(creds), Now: enginetest.Now}
		var want []byte
		for _, workers := range []int{1, 2, 5} {
			src, err := sheet.OpenFile(path, sheet.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			enc := json.NewEncoder(&out)
			rep, err := run(context.Background(), src, in, func(o Outcome) error {
				return enc.Encode(o.Row)
			}, workers)
			src.Close()
			if err != nil {
				t.Fatal(err)
			}
			if rep.DataRows != rows || rep.Summary.Update == 0 || rep.Summary.Error == 0 {
				t.Fatalf("%s, %d workers: report %+v", name, workers, rep.Summary)
			}
			if err := enc.Encode(rep); err != nil {
				t.Fatal(err)
			}
			out.WriteString(rep.Fingerprint)
			if want == nil {
				want = out.Bytes()
				continue
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s: %d workers hand over other rows or another report than 1 worker", name, workers)
			}
		}
	}
}

// Batches of rows are evaluated on the date formats known when they
// start; rows whose dates the rows before them narrowed further are
// evaluated again. Each sheet changes what its dates say well after the
// header, while batches after that row are already out: every row must
// still read as the whole evidence up to it says, whatever the number of
// goroutines.
func TestEvidenceChangingLateInTheSheet(t *testing.T) {
	const n, turn = 4000, 2500
	var creds []bulk.Credential
	for i := range n {
		creds = append(creds, bulk.Credential{ID: fmt.Sprintf("c-%d", i), GroupID: group.ID, Version: 1,
			Recipient: bulk.Recipient{ID: fmt.Sprintf("S-%d", i), Name: "Ana Souza", Email: fmt.Sprintf("p%d@example.com", i)},
			IssuedOn:  "2024-01-15", ExpiresOn: "2025-01-15"})
	}
	tests := []struct {
		name string
		// day is the day of March 2027 row i's expiry reads as; write
		// writes it.
		day        func(i int) int
		write      func(i, day int) string
		candidates []string
	}{
		{
			// Day first until the turn, then ISO: from then on no one
			// format fits the column, and each date is read on its own.
			name: "no format fits from the turn on",
			day:  func(i int) int { return 13 + i%15 },
			write: func(i, day int) string {
				if i < turn {
					return fmt.Sprintf("%02d/03/2027", day)
				}
				return fmt.Sprintf("2027-03-%02d", day)
			},
			candidates: []string{},
		},
		{
			// Days up to 12 read either way until the first day after 12
			// settles the column: the rows before wait for the end, those
			// after are read at once.
			name: "the format settles at the turn",
			day: func(i int) int {
				if i < turn {
					return 1 + i%12
				}
				return 1 + i%28
			},
			write:      func(i, day int) string { return fmt.Sprintf("%02d/03/2027", day) },
			candidates: []string{"DD/MM/YYYY"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := [][]string{{"Email", "Expiry Date"}}
			for i := range n {
				lines = append(lines, []string{fmt.Sprintf("p%d@example.com", i), tt.write(i, tt.day(i))})
			}
			var want []byte
			for _, workers := range []int{1, 2, 5} {
				var out bytes.Buffer
				enc := json.NewEncoder(&out)
				rep, err := run(context.Background(), csvRows(lines...), Input{Group: group, Credentials: creds, Now: now}, func(o Outcome) error {
					i := o.Row.Row - 2
					to := fmt.Sprintf("2027-03-%02d", tt.day(i))
					if o.Row.Outcome != bulk.OutcomeUpdate || len(o.Row.Changes) != 1 || o.Row.Changes[0].To != to {
						t.Errorf("%d workers: row %d (%s) = %+v, want an update of the expiry to %s", workers, o.Row.Row, lines[i+1][1], o.Row, to)
					}
					return enc.Encode(o.Row)
				}, workers)
				if err != nil {
					t.Fatal(err)
				}
				if rep.DataRows != n || rep.Summary.Update != n {
					t.Fatalf("%d workers: %d rows, summary %+v; want %d updates", workers, rep.DataRows, rep.Summary, n)
				}
				if !reflect.DeepEqual(rep.DateFormatCandidates, tt.candidates) {
					t.Errorf("%d workers: candidates %v, want %v", workers, rep.DateFormatCandidates, tt.candidates)
				}
				if want == nil {
					want = out.Bytes()
				} else if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("%d workers hand over other rows than 1 worker", workers)
				}
			}
		})
	}
}

// Rows held to the end are made again on other goroutines while they are
// handed over: an emit that fails there stops the hand-over at once.
func TestHandOverStopsWhenEmitFails(t *testing.T) {
	const n = 5 * handChunk
	var creds []bulk.Credential
	lines := [][]string{{"Email", "Grade"}}
	for i := range n {
		creds = append(creds, bulk.Credential{ID: fmt.Sprintf("c-%d", i), GroupID: group.ID, Version: 1,
			Recipient: bulk.Recipient{ID: fmt.Sprintf("S-%d", i), Email: fmt.Sprintf("p%d@example.com", i)}, IssuedOn: "2024-01-15"})
		lines = append(lines, []string{fmt.Sprintf("p%d@example.com", i), "A"})
	}
	stop := errors.New("stop")
	for _, failAt := range []int{1, handChunk, 2*handChunk + 5, n} {
		for _, workers := range []int{1, 2} {
			emitted := 0
			_, err := run(context.Background(), csvRows(lines...), Input{Group: group, Credentials: creds, Now: now}, func(o Outcome) error {
				emitted++
				if o.Row.Row != emitted+1 || o.Row.Outcome != bulk.OutcomeUpdate {
					t.Errorf("emit %d: row %+v, want row %d, an update", emitted, o.Row, emitted+1)
				}
				if emitted == failAt {
					return stop
				}
				return nil
			}, workers)
			if !errors.Is(err, stop) || emitted != failAt {
				t.Errorf("failing at emit %d on %d workers: err %v after %d emits", failAt, workers, err, emitted)
			}
		}
	}
}
