package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"strconv"

	"github.com/credup/credup/internal/bulk"
)

// fingerprint sums a hash of every row, whatever order rows are emitted in,
// so two reports that would do the same thing share a fingerprint.
type fingerprint struct {
	total, xor uint64
	n        int
}

func (f *fingerprint) add(r *bulk.Row) {
	h := fnv.New64a()
	w := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	w(strconv.Itoa(r.Row))
	w(r.CredentialID)
	w(r.Outcome)
	for _, c := range r.Changes {
		w(c.Field)
		w(c.From)
		w(c.To)
	}
	for _, e := range r.Errors {
		w("E" + e.Code)
	}
	for _, e := range r.Warnings {
		w("W" + e.Code)
	}
	if r.Renewal {
		w("R")
	}
	x := h.Sum64()
	f.total += x
	f.xor ^= x
	f.n++
}

// sum combines the rows with the report's mapping into a hex digest.
func (f *fingerprint) sum(rep *bulk.Report) string {
	h := sha256.New()
	var b [8]byte
	for _, x := range []uint64{f.total, f.xor, uint64(f.n)} {
		binary.BigEndian.PutUint64(b[:], x)
		h.Write(b[:])
	}
	h.Write([]byte(rep.MatchBy + "\x00" + rep.DateFormat + "\x00"))
	for _, c := range rep.Columns {
		h.Write([]byte(strconv.Itoa(c.Index) + "\x00" + c.Attribute + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
