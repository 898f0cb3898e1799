package reportout

import (
	"bytes"
	"fmt"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine"
)

// batchRows is how many rows the encoder takes at a time.
const batchRows = 256

// batches is how many batches may wait for the encoder.
const batches = 4

// encoder turns rows into JSON and spools them on a goroutine of its own,
// so encoding overlaps with validating.
type encoder struct {
	sp       *spool
	keepHTML bool
	cur      []bulk.Row
	full     chan []bulk.Row
	empty    chan []bulk.Row
	done     chan struct{}
	stopped  chan struct{} // closed when encoding fails
	err      error         // why it failed; read once stopped is closed
	finished bool
}

func startEncoder(sp *spool, keepHTML bool) *encoder {
	e := &encoder{
		sp:       sp,
		keepHTML: keepHTML,
		full:     make(chan []bulk.Row, batches),
		empty:    make(chan []bulk.Row, batches+1),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	for range batches {
		e.empty <- make([]bulk.Row, 0, batchRows)
	}
	e.cur = make([]bulk.Row, 0, batchRows)
	go e.loop()
	return e
}

func (e *encoder) loop() {
	defer close(e.done)
	var buf bytes.Buffer
	for b := range e.full {
		if e.err != nil {
			continue // drain, so add never waits on a stopped encoder
		}
		for i := range b {
			r := &b[i]
			buf.Reset()
			err := encode(&buf, r, rowPrefix, e.keepHTML)
			if err != nil {
				err = fmt.Errorf("encode row %d: %w", r.Row, err)
			} else {
				err = e.sp.put(r.Row, buf.Bytes())
			}
			if err != nil {
				e.err = err
				close(e.stopped)
				break
			}
		}
		clear(b)
		e.empty <- b[:0]
	}
}

// add is the engine's emit: the row is valid only while add runs, so a
// copy of it is queued.
func (e *encoder) add(o engine.Outcome) error {
	e.cur = append(e.cur, *o.Row)
	if len(e.cur) < batchRows {
		return nil
	}
	return e.flush()
}

func (e *encoder) flush() error {
	select {
	case <-e.stopped:
		return e.err
	default:
	}
	e.full <- e.cur
	e.cur = <-e.empty
	return nil
}

// finish encodes what is queued and waits for the encoder to stop.
func (e *encoder) finish() error {
	if !e.finished {
		e.finished = true
		if len(e.cur) > 0 {
			e.full <- e.cur
		}
		close(e.full)
	}
	<-e.done
	return e.err
}
