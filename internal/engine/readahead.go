package engine

import "github.com/credup/credup/internal/sheet"

// readAheadRows is how many rows the read-ahead hands over at a time: enough
// to make the hand-over rare, few enough to start validating early.
const readAheadRows = 128

// readAheadWidth is the width of row a batch has room for at first; it
// grows to the widest row read (rows that do not fit have cells of their
// own).
const readAheadWidth = 8

// readAheadBatches is how many batches are in flight: the read-ahead may be
// this far ahead of the validation. While the credentials are being indexed
// the sheet is read on; what is read ahead is a fixed amount of memory,
// whatever the length of the sheet.
const readAheadBatches = 64

// readAhead reads a sheet on its own goroutine, so reading the file (and
// decoding CSV or XML) overlaps with validating the rows already read. It
// does nothing else: reading is the one part of a validation that cannot
// be split, and the stream goes no faster than it.
//
// It hands over a first batch of rows (where the header is looked for),
// then batches of readAheadRows. They come in buffers that are given back
// once their rows are settled, and read into again: a reader that can
// (sheet.NextInto) puts the cells of the rows there, so reading allocates
// little besides the text.
type readAhead struct {
	full  chan rowBatch
	empty chan *rowBuf
	stop  chan struct{}
	done  chan struct{}
	cur   rowBatch
	next  int
	// made are the buffers made, the read-ahead's own until done is
	// closed.
	made []*rowBuf
}

type rowBuf struct {
	rows  []sheet.Row
	cells []sheet.Cell
}

type rowBatch struct {
	buf *rowBuf
	err error // after the rows: io.EOF or why the sheet could not be read
}

// startReadAhead reads src ahead, first rows in the first batch.
func startReadAhead(src Rows, first int) *readAhead {
	ra := &readAhead{
		full:  make(chan rowBatch, readAheadBatches),
		empty: make(chan *rowBuf, readAheadBatches+1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go ra.fill(src, first)
	return ra
}

func (ra *readAhead) fill(src Rows, first int) {
	defer close(ra.done)
	width := readAheadWidth
	for batch := 0; ; batch++ {
		// Buffers are made as the read-ahead needs them: a short sheet
		// needs one.
		var b *rowBuf
		select {
		case b = <-ra.empty:
		default:
			if len(ra.made) <= readAheadBatches {
				b = &rowBuf{rows: rowPool.get(readAheadRows)[:0]}
				ra.made = append(ra.made, b)
				break
			}
			select {
			case b = <-ra.empty:
			case <-ra.stop:
				return
			}
		}
		size := readAheadRows
		if batch == 0 {
			size = first
		}
		b.rows = b.rows[:0]
		if len(b.cells) < readAheadRows*width {
			cellPool.put(b.cells)
			b.cells = cellPool.get(readAheadRows * width)
		}
		used := 0
		var err error
		for len(b.rows) < size {
			var r sheet.Row
			if r, err = sheet.NextInto(src, b.cells[used:used:len(b.cells)]); err != nil {
				break
			}
			used = min(used+len(r.Cells), len(b.cells))
			width = max(width, min(len(r.Cells), 64))
			b.rows = append(b.rows, r)
		}
		select {
		case ra.full <- rowBatch{buf: b, err: err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Next returns the next row as src.Next would; its cells are the caller's
// to keep.
func (ra *readAhead) Next() (sheet.Row, error) {
	for ra.cur.buf == nil || ra.next >= len(ra.cur.buf.rows) {
		if ra.cur.err != nil {
			return sheet.Row{}, ra.cur.err
		}
		if ra.cur.buf != nil {
			ra.release(ra.cur.buf)
		}
		ra.cur, ra.next = <-ra.full, 0
	}
	r := ra.cur.buf.rows[ra.next]
	ra.next++
	r.Cells = append([]sheet.Cell(nil), r.Cells...)
	return r, nil
}

// nextBatch returns the rows Next has not returned yet: the rest of the
// current batch, then the following batches whole. Their cells are valid
// until buf is given back with release.
func (ra *readAhead) nextBatch() (rows []sheet.Row, buf *rowBuf, err error) {
	for {
		if b := ra.cur.buf; b != nil && ra.next < len(b.rows) {
			rows = b.rows[ra.next:]
			ra.cur.buf, ra.next = nil, 0
			return rows, b, nil
		}
		if ra.cur.err != nil {
			return nil, nil, ra.cur.err
		}
		if ra.cur.buf != nil {
			ra.release(ra.cur.buf)
		}
		ra.cur, ra.next = <-ra.full, 0
	}
}

// release gives a buffer back to be read into again. There are as many
// places in empty as buffers: this never waits.
func (ra *readAhead) release(b *rowBuf) {
	ra.empty <- b
}

// close stops reading ahead and waits until src is no longer read, so the
// caller may close it. The rows read are not used again: their buffers
// are given back (pool.go).
func (ra *readAhead) close() {
	close(ra.stop)
	<-ra.done
	for _, b := range ra.made {
		rowPool.put(b.rows)
		cellPool.put(b.cells)
	}
	ra.made = nil
}
