package engine

import (
	"encoding/binary"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/credup/credup/internal/bulk"
)

// field is a canonical attribute resolved once per column, so reading a
// credential's value is a switch on a small integer per cell rather than on
// the attribute's name.
type field uint8

const (
	fieldCredentialID field = iota
	fieldRecipientID
	fieldName
	fieldEmail
	fieldGrade
	fieldIssuedOn
	fieldExpiresOn
	fieldDescription
	fieldCustom
	fieldUnknown
)

// accessor reads one attribute of a credential.
type accessor struct {
	field field
	key   string // fieldCustom: the design attribute's key
}

func accessorOf(attr string) accessor {
	switch attr {
	case bulk.AttrCredentialID:
		return accessor{field: fieldCredentialID}
	case bulk.AttrRecipientID:
		return accessor{field: fieldRecipientID}
	case bulk.AttrRecipientName:
		return accessor{field: fieldName}
	case bulk.AttrEmail:
		return accessor{field: fieldEmail}
	case bulk.AttrGrade:
		return accessor{field: fieldGrade}
	case bulk.AttrIssuedOn:
		return accessor{field: fieldIssuedOn}
	case bulk.AttrExpiresOn:
		return accessor{field: fieldExpiresOn}
	case bulk.AttrDescription:
		return accessor{field: fieldDescription}
	}
	if key, ok := strings.CutPrefix(attr, bulk.CustomPrefix); ok {
		return accessor{field: fieldCustom, key: key}
	}
	return accessor{field: fieldUnknown}
}

// get is bulk.Credential.Get for the accessor's attribute.
func (a accessor) get(c *bulk.Credential) string {
	switch a.field {
	case fieldCredentialID:
		return c.ID
	case fieldRecipientID:
		return c.Recipient.ID
	case fieldName:
		return c.Recipient.Name
	case fieldEmail:
		return c.Recipient.Email
	case fieldGrade:
		return c.Grade
	case fieldIssuedOn:
		return c.IssuedOn
	case fieldExpiresOn:
		return c.ExpiresOn
	case fieldDescription:
		return c.Description
	case fieldCustom:
		return c.Custom[a.key]
	}
	return ""
}

// index finds credentials by the value of the match key. A validation looks
// up every row in it, so it is a table of its own rather than a map: one
// slot of eight bytes per credential, sized once, holding a credential's
// position and part of its key's hash, and the keys in a slice by position.
// It is built on the critical path of every validation, so it is built in
// halves on two goroutines: the credentials' keys by range, then the two
// tables (keys by the top bit of their hash).
type index struct {
	creds []bulk.Credential
	group string
	get   accessor
	email bool
	seed  maphash.Seed
	keys  []string // by position: the credential's key as rows are matched by it
	tabs  [2]keyTable
	// shared counts the group's credentials that have a key several of
	// them share; nil when no key is shared, the usual case.
	shared map[string]int
	// other maps a key to the first credential of another group with it.
	other map[string]int32
	// slot is, by position, the first credential of the group with the same
	// ID, for inputs that repeat an ID; nil when every ID is unique, the
	// usual case, and a credential's slot is its own position.
	slot []int32
}

// keyTable is an open-addressing table of the credentials whose keys' hash
// has one top bit. Its slots hold 1 + the position of the first credential
// of the group with a key, and the top half of the key's hash; 0 is empty.
type keyTable struct {
	slots  []uint64
	mask   uint64
	shared map[string]int
}

// find returns the slot for key k with hash h: the one holding it, or the
// empty one where it would go.
func (x *index) find(k string, h uint64) *uint64 {
	t := &x.tabs[h>>63]
	tag := h &^ (1<<32 - 1)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if *s == 0 || *s&^(1<<32-1) == tag && x.keys[*s&(1<<32-1)-1] == k {
			return s
		}
	}
}

// lookupBytes returns the position of the group's credential with key k
// (a key being built in a buffer: the look-up makes no string), or the
// number n of the group's credentials sharing it (0 for none).
func (x *index) lookupBytes(k []byte) (pos int, n int) {
	s := *x.find(string(k), maphash.Bytes(x.seed, k))
	switch {
	case s == 0:
		return -1, 0
	case x.shared != nil:
		if n := x.shared[string(k)]; n > 0 {
			return -1, n
		}
	}
	return int(s&(1<<32-1)) - 1, 1
}

// is reports whether the credential at pos is the one a look-up of key k
// (as lookupBytes takes it) would return, without the look-up: it checks
// the credential's own key, and that no other credential of the group
// shares it.
func (x *index) is(pos int, k []byte) bool {
	if pos < 0 || pos >= len(x.creds) || len(k) == 0 || x.creds[pos].GroupID != x.group {
		return false
	}
	return x.keys[pos] == string(k) && (x.shared == nil || x.shared[string(k)] == 0)
}

// slotOf returns the position rows matching the credential at pos are held
// under: one per credential ID.
func (x *index) slotOf(pos int) int {
	if x.slot == nil {
		return pos
	}
	return int(x.slot[pos])
}

// parallelIndex is the number of credentials from which an index is built
// on two goroutines.
const parallelIndex = 8192

func newIndex(creds []bulk.Credential, group, attr string) *index {
	x := &index{creds: creds, group: group, get: accessorOf(attr), email: attr == bulk.AttrEmail,
		seed: maphash.MakeSeed(), keys: keyPool.get(len(creds)), other: map[string]int32{}}
	hashes := hashPool.get(len(creds))
	inGroup := [2]int{}
	sorted := [2]bool{}
	var others [2][]otherKey
	n, par := len(creds), len(creds) >= parallelIndex && runtime.GOMAXPROCS(0) > 1
	both(par, func(half int) {
		from, to := half*(n/2), n/2+half*(n-n/2)
		inGroup[half], sorted[half], others[half] = x.keysOf(from, to, hashes)
	})
	for half := range x.tabs {
		// A key's hash picks its table as it would pick a half of them:
		// the tables hold about half the group each.
		size := 16
		for size < inGroup[0]+inGroup[1] {
			size *= 2
		}
		x.tabs[half] = keyTable{slots: slotPool.get(size), mask: uint64(size - 1)}
	}
	both(par, func(half int) { x.fill(half, hashes) })
	hashPool.put(hashes)
	for _, o := range append(others[0], others[1]...) {
		// Other groups' credentials, in the order of the input.
		if _, ok := x.other[o.key]; !ok {
			x.other[o.key] = o.pos
		}
	}
	for _, t := range x.tabs {
		for k, n := range t.shared {
			if x.shared == nil {
				x.shared = map[string]int{}
			}
			x.shared[k] = n
		}
	}
	if !sorted[0] || !sorted[1] || !x.sortedAcross(len(creds)/2) {
		// Stores hand out a group's credentials in ID order, which shows
		// the IDs are unique without a map; any other order is checked.
		x.slot = slotsByID(creds, group)
	}
	return x
}

// release gives the index's memory back (pool.go); it is not used again.
func (x *index) release() {
	keyPool.put(x.keys)
	for _, t := range x.tabs {
		slotPool.put(t.slots)
	}
	*x = index{}
}

// both runs fn(0) and fn(1), on two goroutines when par is set.
func both(par bool, fn func(half int)) {
	if !par {
		fn(0)
		fn(1)
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { fn(1) })
	fn(0)
	wg.Wait()
}

// otherKey is the key of another group's credential, at pos.
type otherKey struct {
	key string
	pos int32
}

// keysOf works out the keys (and their hashes) of the group's credentials
// from..to, and says how many of them have a key, and whether their IDs are
// in ascending order. The keys of other groups' credentials are returned
// apart, in order; their place in keys stays empty.
func (x *index) keysOf(from, to int, hashes []uint64) (inGroup int, sorted bool, others []otherKey) {
	sorted = true
	prev := -1
	for i := from; i < to; i++ {
		c := &x.creds[i]
		if c.GroupID == x.group {
			if prev >= 0 && c.ID <= x.creds[prev].ID {
				sorted = false
			}
			prev = i
		}
		k := x.get.get(c)
		if x.email {
			k = emailKey(k)
		} else {
			k = trim(k)
		}
		switch {
		case k == "":
		case c.GroupID == x.group:
			x.keys[i] = k
			hashes[i] = maphash.String(x.seed, k)
			inGroup++
		default:
			others = append(others, otherKey{key: k, pos: int32(i)})
		}
	}
	return inGroup, sorted, others
}

// sortedAcross reports whether the group's IDs stay in ascending order
// across the boundary of the halves at mid.
func (x *index) sortedAcross(mid int) bool {
	last := -1
	for i := mid - 1; i >= 0; i-- {
		if x.creds[i].GroupID == x.group {
			last = i
			break
		}
	}
	for i := mid; i < len(x.creds) && last >= 0; i++ {
		if x.creds[i].GroupID == x.group {
			return x.creds[i].ID > x.creds[last].ID
		}
	}
	return true
}

// fill puts the group's keys whose hash has the top bit half into that
// half's table, in position order, so the first credential with a key is
// the one kept.
func (x *index) fill(half int, hashes []uint64) {
	t := &x.tabs[half]
	for i, h := range hashes {
		k := x.keys[i]
		if k == "" || int(h>>63) != half {
			continue
		}
		s := x.find(k, h)
		if *s == 0 {
			*s = h&^(1<<32-1) | uint64(i+1)
			continue
		}
		if t.shared == nil {
			t.shared = map[string]int{}
		}
		if t.shared[k] == 0 {
			t.shared[k] = 1
		}
		t.shared[k]++
	}
}

// slotsByID maps each credential of the group to the first one with its ID,
// or returns nil when no ID repeats.
func slotsByID(creds []bulk.Credential, group string) []int32 {
	first := make(map[string]int32, len(creds))
	var slot []int32
	for i := range creds {
		c := &creds[i]
		if c.GroupID != group {
			continue
		}
		p, ok := first[c.ID]
		if !ok {
			first[c.ID] = int32(i)
			continue
		}
		if slot == nil {
			slot = make([]int32, len(creds))
			for j := range slot {
				slot[j] = int32(j)
			}
		}
		slot[i] = p
	}
	return slot
}

// appendEmailKey appends s as bulk.NormalizeEmail gives it, without making a
// string for the usual ASCII address; ok is false for one that is not ASCII.
// It folds eight bytes at a time.
func appendEmailKey(b []byte, s string) ([]byte, bool) {
	s = trim(s)
	n := len(b)
	b = slices.Grow(b, len(s))[:n+len(s)]
	out := b[n:]
	for len(s) >= 8 {
		w := word(s)
		if w&0x8080808080808080 != 0 {
			return b[:n], false
		}
		binary.LittleEndian.PutUint64(out, lowerASCII(w))
		s, out = s[8:], out[8:]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return b[:n], false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return b, true
}

// emailKey is bulk.NormalizeEmail, which a store's addresses seldom need:
// one in lower-case ASCII with nothing to trim is its own key, found so
// eight bytes at a time.
func emailKey(s string) string {
	if t := trim(s); len(t) != len(s) || !lowerAlready(s) {
		return bulk.NormalizeEmail(s)
	}
	return s
}

// lowerAlready reports whether s is ASCII without upper-case letters.
func lowerAlready(s string) bool {
	for len(s) >= 8 {
		w := word(s)
		if w&0x8080808080808080 != 0 || lowerASCII(w) != w {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// lowerASCII folds the upper-case letters among eight ASCII bytes. Adding
// to a byte below 0x80 a constant below 0x80 carries into no other byte:
// a byte's top bit then says whether it was at least 'A', or above 'Z'.
func lowerASCII(w uint64) uint64 {
	const ones = 0x0101010101010101
	atLeastA := w + ones*(0x80-'A')
	aboveZ := w + ones*(0x80-'Z'-1)
	upper := (atLeastA &^ aboveZ) & (ones * 0x80)
	return w | upper>>2
}
