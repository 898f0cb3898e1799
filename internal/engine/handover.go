package engine

import (
	"sync"

	"github.com/credup/credup/internal/bulk"
)

// The rows held to the end are most of a sheet's rows. Handing them over
// means making each again from its compact form (heldRow), counting it in
// the summary and the fingerprint, and handing it to emit in sheet order,
// one row at a time on the validation's goroutine. All but the last is
// done on other goroutines, a chunk of rows at a time, while the chunks
// before are handed over: the summary and the fingerprint are sums, which
// the chunks' add up to whatever the order.

// handChunk is how many rows are made again at a time.
const handChunk = 1024

// handDepth is how many chunks may be made ahead of the one being handed
// over.
const handDepth = 4

// handOrder lists the rows of the end in sheet order: entry p is the
// number of a held row (1-based) or, negative, -(1 + the index) of a row of
// late.
type handOrder []int32

// handJob is a chunk of the rows of the end, positions from..to of the
// hand-over order, made again.
type handJob struct {
	from, to int
	rows     []bulk.Row
	before   []*bulk.Credential
	hash     []uint64
	sum      bulk.Summary
	fp       fingerprint
	done     chan struct{}
}

// handOver hands over the rows of the end: the held rows, made again, and
// late, merged in sheet order. Both are runs in sheet order, and so are
// the held rows numbered up to streamed and those after.
func (v *validation) handOver(streamed int, late []lateRow) error {
	order := v.handOrder(streamed, late)
	total := v.held.n + len(late)
	if total == 0 {
		return nil
	}
	workers := v.workers
	if total <= handChunk {
		workers = 0 // one chunk: made here
	}
	jobs := make(chan *handJob, handDepth)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				v.remake(j, order, late)
				close(j.done)
			}
		})
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()

	var queue, free []*handJob
	for next := 0; next < total || len(queue) > 0; {
		for next < total && len(queue) < handDepth {
			var j *handJob
			if n := len(free); n > 0 {
				j, free = free[n-1], free[:n-1]
			} else {
				j = &handJob{rows: make([]bulk.Row, handChunk), before: make([]*bulk.Credential, handChunk), hash: make([]uint64, handChunk)}
			}
			j.from, j.to, j.done = next, min(next+handChunk, total), make(chan struct{})
			next = j.to
			queue = append(queue, j)
			if workers == 0 {
				v.remake(j, order, late)
				close(j.done)
			} else {
				jobs <- j
			}
		}
		j := queue[0]
		queue = queue[1:]
		<-j.done
		v.report.Summary.Merge(j.sum)
		v.fp.merge(j.fp)
		for i := range j.to - j.from {
			if err := v.emit(Outcome{Row: &j.rows[i], Before: j.before[i]}); err != nil {
				return err
			}
		}
		free = append(free, j)
	}
	return nil
}

// handOrder merges the three runs by row number; it returns nil for the
// usual end, the held rows alone, in the order they were held.
func (v *validation) handOrder(streamed int, late []lateRow) handOrder {
	if streamed == v.held.n && len(late) == 0 {
		return nil
	}
	order := make(handOrder, 0, v.held.n+len(late))
	i, j, k := 1, streamed+1, 0
	for i <= streamed || j <= v.held.n || k < len(late) {
		// Pick the lowest row number of the three runs' heads.
		which, low := 0, 0
		if i <= streamed {
			which, low = 1, v.held.at(i).number
		}
		if j <= v.held.n && (which == 0 || v.held.at(j).number < low) {
			which, low = 2, v.held.at(j).number
		}
		if k < len(late) && (which == 0 || late[k].o.Row.Row < low) {
			which = 3
		}
		switch which {
		case 1:
			order = append(order, int32(i))
			i++
		case 2:
			order = append(order, int32(j))
			j++
		default:
			order = append(order, int32(-1-k))
			k++
		}
	}
	return order
}

// remake makes the job's rows again, and counts them. It only reads the
// validation, which nothing writes while the rows are handed over.
func (v *validation) remake(j *handJob, order handOrder, late []lateRow) {
	for p := j.from; p < j.to; p++ {
		i := p - j.from
		n := p + 1
		if order != nil {
			n = int(order[p])
		}
		if n < 0 {
			l := &late[-1-n]
			j.rows[i], j.before[i], j.hash[i] = *l.o.Row, l.o.Before, l.hash
			continue
		}
		h := v.held.at(n)
		cred := &v.in.Credentials[h.pos]
		row := &j.rows[i]
		h.row(cred, row)
		j.before[i], j.hash[i] = cred, h.hash
		if h.dup {
			markDuplicate(row, v.duplicates[n], cred.ID)
			j.hash[i] = rowHash(row)
		}
	}
	j.sum, j.fp = bulk.Summary{}, fingerprint{}
	for i := range j.to - j.from {
		j.sum.Add(&j.rows[i])
		j.fp.add(j.hash[i])
	}
}
