package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"

	"github.com/credup/credup/internal/bulk"
)

// fingerprint sums a hash of every row, whatever order rows are emitted in,
// so two reports that would do the same thing share a fingerprint.
type fingerprint struct {
	total, xor uint64
	n          int
}

func (f *fingerprint) add(r *bulk.Row) {
	// FNV-1a over each value and a NUL after it, written out so a row
	// costs no allocation.
	var num [20]byte
	h := fnvString(fnvOffset, string(strconv.AppendInt(num[:0], int64(r.Row), 10)))
	h = fnvString(h, r.CredentialID)
	h = fnvString(h, r.Outcome)
	for _, c := range r.Changes {
		h = fnvString(h, c.Field)
		h = fnvString(h, c.From)
		h = fnvString(h, c.To)
	}
	for _, e := range r.Errors {
		h = fnvString(fnvByte(h, 'E'), e.Code)
	}
	for _, e := range r.Warnings {
		h = fnvString(fnvByte(h, 'W'), e.Code)
	}
	if r.Renewal {
		h = fnvString(h, "R")
	}
	f.total += h
	f.xor ^= h
	f.n++
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// fnvString hashes s and the NUL that ends it.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return fnvByte(h, 0)
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
