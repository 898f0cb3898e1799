package engine

import (
	"sync"

	"github.com/credup/credup/internal/sheet"
)

// A validation needs memory in proportion to the group (the index, where
// matched rows wait) and to the read-ahead. It gives that memory back when
// it ends, for the next validation in the process to use again: a warm
// Lambda function validates upload after upload, and every megabyte made
// anew brings the next garbage collection nearer, which then marks the
// whole group again. What is given back is cleared first, so it holds
// nothing of the validation that used it.

// pool keeps slices of T, all of the same use, for validations to come.
type pool[T any] struct{ p sync.Pool }

// get returns a zeroed slice of n elements, used before if one of that size
// or larger is at hand.
func (p *pool[T]) get(n int) []T {
	if s, ok := p.p.Get().(*[]T); ok {
		if cap(*s) >= n {
			return (*s)[:n]
		}
	}
	return make([]T, n)
}

// put gives s back, cleared.
func (p *pool[T]) put(s []T) {
	if cap(s) == 0 {
		return
	}
	s = s[:cap(s)]
	clear(s)
	p.p.Put(&s)
}

// One pool per use, so what a pool holds is of the size that use asks for.
var (
	keyPool    pool[string]     // index.keys
	hashPool   pool[uint64]     // the hashes an index is built from
	slotPool   pool[uint64]     // keyTable.slots
	heldAtPool pool[int32]      // validation.heldAt
	heldPool   pool[heldRow]    // heldRows' blocks
	rowPool    pool[sheet.Row]  // rowBuf.rows
	cellPool   pool[sheet.Cell] // rowBuf.cells
)
