package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"strconv"

	"github.com/credup/credup/internal/bulk"
)

// fingerprint sums a hash of every row, whatever order rows are emitted in,
// so two reports that would do the same thing share a fingerprint.
type fingerprint struct {
	total, xor uint64
	n          int
}

// add counts a row by its hash (rowHash).
func (f *fingerprint) add(h uint64) {
	f.total += h
	f.xor ^= h
	f.n++
}

// merge counts the rows counted in o.
func (f *fingerprint) merge(o fingerprint) {
	f.total += o.total
	f.xor ^= o.xor
	f.n += o.n
}

// rowHash hashes what a row would do, eight bytes at a time, written out so
// a row costs no allocation.
func rowHash(r *bulk.Row) uint64 {
	h := mix(fpSeed, uint64(r.Row))
	h = hashString(h, r.CredentialID)
	h = hashString(h, r.Outcome)
	for _, c := range r.Changes {
		h = hashString(h, c.Field)
		h = hashString(h, c.From)
		h = hashString(h, c.To)
	}
	for _, e := range r.Errors {
		h = hashString(mix(h, 'E'), e.Code)
	}
	for _, e := range r.Warnings {
		h = hashString(mix(h, 'W'), e.Code)
	}
	if r.Renewal {
		h = mix(h, 'R')
	}
	return avalanche(h)
}

// The constants and rounds of xxHash64: the fingerprint is compared between
// processes (a report and the commit that re-validates it), so it must not
// depend on a per-process seed.
const (
	fpSeed  = 0x27D4EB2F165667C5
	fpPrime = 0x9E3779B185EBCA87
	fpMix   = 0xC2B2AE3D27D4EB4F
)

func mix(h, w uint64) uint64 {
	h ^= bits.RotateLeft64(w*fpMix, 31) * fpPrime
	return bits.RotateLeft64(h, 27)*fpPrime + 0x85EBCA77C2B2AE63
}

// hashString mixes s into h eight bytes at a time; the last word carries
// the length of what is left, so values are delimited.
func hashString(h uint64, s string) uint64 {
	for len(s) >= 8 {
		h = mix(h, word(s))
		s = s[8:]
	}
	w := uint64(len(s)+1) << 56
	for i := range len(s) {
		w |= uint64(s[i]) << (8 * i)
	}
	return mix(h, w)
}

// word reads the first eight bytes of s as a little-endian word (the
// compiler makes it one load).
func word(s string) uint64 {
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func avalanche(h uint64) uint64 {
	h ^= h >> 33
	h *= fpMix
	h ^= h >> 29
	h *= 0x165667B19E3779F9
	return h ^ h>>32
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
