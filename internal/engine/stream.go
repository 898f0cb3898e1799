package engine

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
	"github.com/credup/credup/internal/sheet"
)

// jobsInFlight is how many batches of rows may be out with the evaluating
// goroutines at a time. Each holds one of the read-ahead's buffers until it
// is settled, and the read-ahead needs one more to read into: there must be
// fewer jobs in flight than read-ahead batches, or the two would wait on
// each other.
const jobsInFlight = min(16, readAheadBatches)

// job is a batch of rows to evaluate on another goroutine, before the
// validation's goroutine settles them in sheet order.
//
// The date evidence is sequential by nature: a row's dates are read in the
// light of the rows before it. A job's rows are evaluated on the formats
// known to be in play when it starts, which hold those still in play at
// each of its rows; when the job is settled, its rows are added to the
// evidence in order, and the few rows whose dates it narrowed further are
// evaluated again, on the validation's goroutine (settleJob). The evidence
// settles within the first rows of most files, so little is evaluated
// twice, and no goroutine waits on another.
type job struct {
	rows   []sheet.Row
	buf    *rowBuf // the read-ahead's, to give back once the rows are settled
	states []rowState
	fits   []cellFit // behind states' fits
	out    []bulk.Row
	pos    []int
	amb    []bool
	hash   []uint64 // for the fingerprint
	done   chan struct{}
}

// stream validates the rows after the header scan: evaluating goroutines
// work out batches of rows, which are settled here in sheet order.
func (v *validation) stream(src *readAhead) error {
	v.known.Store(uint32(v.evidence.formats))
	jobs := make(chan *job, jobsInFlight)
	var wg sync.WaitGroup
	for range v.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m worker
			for j := range jobs {
				known := dates.Set(v.known.Load())
				for i, r := range j.rows {
					st := &j.states[i]
					v.readDates(r.Cells, st.fits, known, &m)
					st.formats = known
					j.pos[i], j.amb[i] = v.evaluate(&j.out[i], r.Number, r.Cells, st, &m, false)
					j.hash[i] = rowHash(&j.out[i])
				}
				close(j.done)
			}
		}()
	}
	// However the stream ends, the evaluating goroutines finish the jobs
	// they have and stop before the rows are given back.
	var queue []*job
	defer func() {
		close(jobs)
		wg.Wait()
	}()

	for {
		if err := v.ctx.Err(); err != nil {
			return err
		}
		rows, buf, err := src.nextBatch()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read sheet: %w", err)
		}
		v.report.DataRows += len(rows)
		j := v.newJob(rows, buf)
		jobs <- j
		queue = append(queue, j)
		if len(queue) == jobsInFlight {
			if err := v.settleJob(queue[0], src); err != nil {
				return err
			}
			queue = queue[1:]
		}
	}
	for len(queue) > 0 {
		if err := v.settleJob(queue[0], src); err != nil {
			return err
		}
		queue = queue[1:]
	}
	return nil
}

// newJob returns a job for rows, reusing one settled before.
func (v *validation) newJob(rows []sheet.Row, buf *rowBuf) *job {
	var j *job
	if n := len(v.free); n > 0 {
		j, v.free = v.free[n-1], v.free[:n-1]
	} else {
		j = &job{}
	}
	n, w := len(rows), len(v.dateCols)
	j.rows, j.buf = rows, buf
	if cap(j.states) < n {
		j.states = make([]rowState, n)
		j.fits = make([]cellFit, n*w)
		for i := range j.states {
			j.states[i].fits = j.fits[i*w : (i+1)*w : (i+1)*w]
		}
	}
	j.states = j.states[:n]
	if cap(j.pos) < n {
		j.pos = make([]int, n)
		j.amb = make([]bool, n)
		j.hash = make([]uint64, n)
	}
	j.pos, j.amb, j.hash = j.pos[:n], j.amb[:n], j.hash[:n]
	if cap(j.out) < n {
		j.out = make([]bulk.Row, n)
	}
	j.out = j.out[:n]
	j.done = make(chan struct{})
	return j
}

// settleJob waits for the job's rows to be worked out and settles them.
func (v *validation) settleJob(j *job, src *readAhead) error {
	<-j.done
	for i, r := range j.rows {
		row, pos, amb, hash := &j.out[i], j.pos[i], j.amb[i], j.hash[i]
		st := &j.states[i]
		read := st.formats
		v.evidence.narrow(st.fits)
		if v.evidence.formats != read && readsDates(st.fits) {
			// The rows before narrowed the formats down further than the
			// job knew: the row's dates are read again.
			st.formats = v.evidence.formats
			row = &v.scratch
			pos, amb = v.evaluate(row, r.Number, r.Cells, st, &v.seq, false)
			hash = rowHash(row)
		}
		if amb {
			// Held to the end: the cells must outlive the read-ahead's buffer.
			r.Cells = append([]sheet.Cell(nil), r.Cells...)
		}
		if err := v.decide(row, pos, amb, r, hash); err != nil {
			return err
		}
	}
	v.known.Store(uint32(v.evidence.formats))
	src.release(j.buf)
	j.rows, j.buf = nil, nil
	v.free = append(v.free, j)
	return nil
}

// readsDates reports whether a row has dates written as text, which are
// read in the light of the formats in play.
func readsDates(fits []cellFit) bool {
	for i := range fits {
		if fits[i].text != "" {
			return true
		}
	}
	return false
}
