package engine

import "github.com/credup/credup/internal/sheet"

// readAheadRows is how many rows the read-ahead hands over at a time: enough
// to make the hand-over rare, few enough to start validating early.
const readAheadRows = 128

// readAheadBatches is how many batches are in flight: the read-ahead may be
// this far ahead of the validation.
const readAheadBatches = 4

// readAhead reads a sheet on its own goroutine, so reading the file (and
// decoding CSV or XML) overlaps with validating the rows already read.
// Rows' cells are the caller's to keep (sheet.Reader), which is what makes
// reading ahead possible.
type readAhead struct {
	full  chan rowBatch
	empty chan []sheet.Row
	stop  chan struct{}
	done  chan struct{}
	cur   rowBatch
	next  int
}

type rowBatch struct {
	rows []sheet.Row
	err  error // after the rows: io.EOF or why the sheet could not be read
}

func startReadAhead(src Rows) *readAhead {
	ra := &readAhead{
		full:  make(chan rowBatch, readAheadBatches),
		empty: make(chan []sheet.Row, readAheadBatches+1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for range readAheadBatches + 1 {
		ra.empty <- make([]sheet.Row, 0, readAheadRows)
	}
	go ra.fill(src)
	return ra
}

func (ra *readAhead) fill(src Rows) {
	defer close(ra.done)
	for {
		var rows []sheet.Row
		select {
		case rows = <-ra.empty:
		case <-ra.stop:
			return
		}
		rows = rows[:0]
		var err error
		for len(rows) < readAheadRows {
			var r sheet.Row
			if r, err = src.Next(); err != nil {
				break
			}
			rows = append(rows, r)
		}
		select {
		case ra.full <- rowBatch{rows: rows, err: err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Next returns the next row as src.Next would.
func (ra *readAhead) Next() (sheet.Row, error) {
	for ra.next >= len(ra.cur.rows) {
		if ra.cur.err != nil {
			return sheet.Row{}, ra.cur.err
		}
		if ra.cur.rows != nil {
			// There are as many places in empty as batches: this never waits.
			ra.empty <- ra.cur.rows
		}
		ra.cur, ra.next = <-ra.full, 0
	}
	r := ra.cur.rows[ra.next]
	ra.next++
	return r, nil
}

// close stops reading ahead and waits until src is no longer read, so the
// caller may close it.
func (ra *readAhead) close() {
	close(ra.stop)
	<-ra.done
}
