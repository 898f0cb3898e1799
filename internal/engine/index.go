package engine

import (
	"strings"
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
// up every row in it, so it holds positions in Input.Credentials rather than
// slices of pointers: one map entry and no allocation per credential.
type index struct {
	creds []bulk.Credential
	group string
	get   accessor
	email bool
	// byKey maps a key to the position of the only credential of the group
	// with it, or to -1 when several have it (shared counts them).
	byKey  map[string]int32
	shared map[string]int
	// other maps a key to the first credential of another group with it.
	other map[string]int32
	// slot is, by position, the first credential of the group with the same
	// ID, for inputs that repeat an ID; nil when every ID is unique, the
	// usual case, and a credential's slot is its own position.
	slot []int32
}

// lookup returns the position of the group's credential with key k, or
// the number n of the group's credentials sharing it (0 for none).
func (x *index) lookup(k string) (pos int, n int) {
	p, ok := x.byKey[k]
	switch {
	case !ok:
		return -1, 0
	case p >= 0:
		return int(p), 1
	}
	return -1, x.shared[k]
}

// lookupBytes is lookup for a key being built in a buffer; the map access
// does not copy it into a string.
func (x *index) lookupBytes(k []byte) (pos int, n int) {
	p, ok := x.byKey[string(k)]
	switch {
	case !ok:
		return -1, 0
	case p >= 0:
		return int(p), 1
	}
	return -1, x.shared[string(k)]
}

// is reports whether the credential at pos is the one a look-up of key k
// (as lookupBytes takes it) would return, without the look-up: it checks
// the credential's own key, and that no other credential of the group
// shares it.
func (x *index) is(pos int, k []byte) bool {
	if pos < 0 || pos >= len(x.creds) || len(k) == 0 {
		return false
	}
	c := &x.creds[pos]
	if c.GroupID != x.group {
		return false
	}
	v := strings.TrimSpace(x.get.get(c))
	if len(v) != len(k) {
		return false
	}
	if x.email {
		for i := 0; i < len(v); i++ {
			b := v[i]
			if b >= utf8.RuneSelf {
				// Case-folding beyond ASCII is the map's to do.
				return false
			}
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			if b != k[i] {
				return false
			}
		}
	} else if v != string(k) {
		return false
	}
	return x.shared == nil || x.shared[string(k)] == 0
}

// slotOf returns the position rows matching the credential at pos are held
// under: one per credential ID.
func (x *index) slotOf(pos int) int {
	if x.slot == nil {
		return pos
	}
	return int(x.slot[pos])
}

func newIndex(creds []bulk.Credential, group, attr string) *index {
	x := &index{creds: creds, group: group, get: accessorOf(attr), email: attr == bulk.AttrEmail,
		byKey: make(map[string]int32, len(creds)), other: map[string]int32{}}
	get, email := x.get, x.email
	sorted := true
	prev := -1
	for i := range creds {
		c := &creds[i]
		if c.GroupID == group {
			if prev >= 0 && c.ID <= creds[prev].ID {
				sorted = false
			}
			prev = i
		}
		k := get.get(c)
		if email {
			k = bulk.NormalizeEmail(k)
		} else {
			k = strings.TrimSpace(k)
		}
		if k == "" {
			continue
		}
		if c.GroupID != group {
			if _, ok := x.other[k]; !ok {
				x.other[k] = int32(i)
			}
			continue
		}
		// Assigning first and checking the size after costs one hash for
		// the usual key that no other credential has.
		n := len(x.byKey)
		x.byKey[k] = int32(i)
		if len(x.byKey) == n {
			x.byKey[k] = -1
			if x.shared == nil {
				x.shared = map[string]int{}
			}
			if x.shared[k] == 0 {
				x.shared[k] = 1
			}
			x.shared[k]++
		}
	}
	if !sorted {
		// Stores hand out a group's credentials in ID order, which shows
		// the IDs are unique without a map; any other order is checked.
		x.slot = slotsByID(creds, group)
	}
	return x
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
func appendEmailKey(b []byte, s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return b, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b, true
}
