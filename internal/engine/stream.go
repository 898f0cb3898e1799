package engine

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/sheet"
)

// jobsInFlight is how many batches of rows may be out with the evaluating
// goroutines at a time. Each holds one of the read-ahead's buffers until it
// is settled, and the read-ahead needs one more to read into: there must be
// fewer jobs in flight than read-ahead batches, or the two would wait on
// each other.
const jobsInFlight = min(16, readAheadBatches)

// job is a batch of rows to evaluate on another goroutine. The read-ahead
// has worked out what each row needs of the rows before it (observeDates is
// sequential by nature), an evaluating goroutine works the rows out, and
// the validation's goroutine settles them in sheet order.
type job struct {
	rows   []sheet.Row
	buf    *rowBuf    // the read-ahead's, to give back once the rows are settled
	states []rowState // the read-ahead's, by row
	out    []bulk.Row
	pos    []int
	amb    []bool
	hash   []uint64 // for the fingerprint
	done   chan struct{}
}

// stream validates the rows after the header scan: evaluating goroutines
// work out batches of rows, which are settled here in sheet order.
func (v *validation) stream(src *readAhead) error {
	jobs := make(chan *job, jobsInFlight)
	var wg sync.WaitGroup
	for range v.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m worker
			for j := range jobs {
				for i, r := range j.rows {
					j.pos[i], j.amb[i] = v.evaluate(&j.out[i], r.Number, r.Cells, &j.states[i], &m, false)
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
		rows, states, buf, err := src.nextBatch()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read sheet: %w", err)
		}
		v.report.DataRows += len(rows)
		j := v.newJob(rows, states, buf)
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
func (v *validation) newJob(rows []sheet.Row, states []rowState, buf *rowBuf) *job {
	var j *job
	if n := len(v.free); n > 0 {
		j, v.free = v.free[n-1], v.free[:n-1]
	} else {
		j = &job{}
	}
	n := len(rows)
	j.rows, j.buf, j.states = rows, buf, states
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
		if j.amb[i] {
			// Held to the end: the cells must outlive the read-ahead's buffer.
			r.Cells = append([]sheet.Cell(nil), r.Cells...)
		}
		if err := v.decide(&j.out[i], j.pos[i], j.amb[i], r, j.hash[i]); err != nil {
			return err
		}
	}
	src.release(j.buf)
	j.rows, j.buf, j.states = nil, nil, nil
	v.free = append(v.free, j)
	return nil
}
