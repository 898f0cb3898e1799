package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/credup/credup/internal/bulk"
)

// A sheet in the order of the credentials is matched through the
// credential after the last one matched; the report must be what the index
// alone gives, whatever the order.
func TestMatchingDoesNotDependOnOrder(t *testing.T) {
	header := []string{"Email", "Grade"}
	tests := []struct {
		name  string
		lines [][]string
		row   int
		want  string // outcome
		code  string // first error
	}{
		{"the next credential shares its email", [][]string{header, {"bo@example.com", "B"}, {"shared@example.com", "A"}}, 3, bulk.OutcomeError, bulk.ErrAmbiguousMatch},
		{"an earlier credential after a later one", [][]string{header, {"bo@example.com", "B+"}, {"ana@example.com", "A+"}}, 3, bulk.OutcomeUpdate, ""},
		{"another group's credential after a match", [][]string{header, {"bo@example.com", "B+"}, {"dee@example.com", "A"}}, 3, bulk.OutcomeError, bulk.ErrOtherGroup},
		{"the same credential twice in a row", [][]string{header, {"ana@example.com", "A+"}, {"ANA@example.com", "A"}}, 3, bulk.OutcomeError, bulk.ErrDuplicateTarget},
		{"in credential order", [][]string{header, {"ana@example.com", "A+"}, {"bo@example.com", "B+"}}, 3, bulk.OutcomeUpdate, ""},
		{"a blank key after a match", [][]string{header, {"ana@example.com", "A+"}, {" ", "B+"}}, 3, bulk.OutcomeError, bulk.ErrMissingKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := credentials()
			forward := check(t, csvRows(tt.lines...), bulk.Mapping{})
			slices.Reverse(creds)
			backward, err := Check(context.Background(), csvRows(tt.lines...), Input{Group: group, Credentials: creds, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			got := rowNumbered(t, forward, tt.row)
			if got.Outcome != tt.want || tt.code != "" && (len(got.Errors) == 0 || got.Errors[0].Code != tt.code) {
				t.Errorf("row %d = %+v, want outcome %s with error %q", tt.row, got, tt.want, tt.code)
			}
			a, _ := json.Marshal(forward)
			b, _ := json.Marshal(backward)
			if string(a) != string(b) || forward.Fingerprint != backward.Fingerprint {
				t.Errorf("credentials in reverse order give another report:\n%s\n%s", a, b)
			}
		})
	}
}

// Credentials come from stores keyed by ID, but a file of credentials may
// repeat one: rows reaching both records of one ID target one credential.
func TestRepeatedCredentialID(t *testing.T) {
	creds := credentials()
	creds[1].ID = creds[0].ID // c-1 twice: ana@ and bo@
	slices.Reverse(creds)     // not in ID order, as a store would give them
	rep, err := Check(context.Background(), csvRows(
		[]string{"Email", "Grade"},
		[]string{"ana@example.com", "A+"},
		[]string{"bo@example.com", "B+"},
	), Input{Group: group, Credentials: creds, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 3} {
		r := rowNumbered(t, rep, n)
		if r.Outcome != bulk.OutcomeError || !reflect.DeepEqual(codes(r.Errors), []string{bulk.ErrDuplicateTarget}) {
			t.Errorf("row %d = %+v, want a duplicate_target error", n, r)
		}
	}
}

// After shares the custom attributes with Before unless the row changes
// one; either way Before stays the stored credential.
func TestAfterLeavesBeforeAsItIs(t *testing.T) {
	creds := credentials()
	var got []emitted
	_, err := Run(context.Background(), csvRows(
		[]string{"Email", "Course Hours", "Grade"},
		[]string{"ana@example.com", "42", "A"},
		[]string{"bo@example.com", "", "B+"},
	), Input{Group: group, Credentials: creds, Now: now}, func(o Outcome) error {
		got = append(got, emitted{Row: *o.Row, Before: o.Before, After: o.After()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := credentials()
	for _, o := range got {
		if o.After == nil {
			t.Fatalf("row %d has no after: %+v", o.Row.Row, o.Row)
		}
		switch o.Before.ID {
		case "c-1":
			if o.After.Custom["course_hours"] != "42" || o.After.Custom["cohort"] != "2024-A" {
				t.Errorf("after custom = %v, want course_hours 42 and cohort kept", o.After.Custom)
			}
		case "c-2":
			if o.After.Grade != "B+" {
				t.Errorf("after grade = %q, want B+", o.After.Grade)
			}
		}
	}
	if !reflect.DeepEqual(creds, stored) {
		t.Errorf("the credentials changed under the validation:\n%+v\nwant\n%+v", creds, stored)
	}
}

// A large group's index is built on two goroutines; every look-up must be
// what one map of the keys, built in position order, gives.
func TestLargeIndexMatchesAMap(t *testing.T) {
	const n = 3 * parallelIndex
	creds := make([]bulk.Credential, n)
	for i := range creds {
		c := &creds[i]
		c.ID = fmt.Sprintf("c-%06d", i)
		c.GroupID = group.ID
		c.Recipient.Email = fmt.Sprintf("Learner.%d@Example.com", i)
		switch {
		case i%97 == 0:
			c.Recipient.Email = fmt.Sprintf("shared.%d@example.com", i%5) // shared by several
		case i%89 == 0:
			c.GroupID = "g-other"
		case i%83 == 0:
			c.Recipient.Email = " "
		}
	}
	creds[n/2+1].ID = creds[10].ID // an ID repeated across the halves
	x := newIndex(creds, group.ID, bulk.AttrEmail)

	first, count, other := map[string]int{}, map[string]int{}, map[string]int{}
	for i, c := range creds {
		k := bulk.NormalizeEmail(c.Recipient.Email)
		if k == "" {
			continue
		}
		if c.GroupID != group.ID {
			if _, ok := other[k]; !ok {
				other[k] = i
			}
			continue
		}
		if _, ok := first[k]; !ok {
			first[k] = i
		}
		count[k]++
	}
	for k, want := range first {
		pos, got := x.lookupBytes([]byte(k))
		switch {
		case count[k] > 1 && (pos != -1 || got != count[k]):
			t.Fatalf("lookup %q = %d, %d; want -1, %d", k, pos, got, count[k])
		case count[k] == 1 && (pos != want || got != 1 || !x.is(want, []byte(k))):
			t.Fatalf("lookup %q = %d, %d; want %d, 1", k, pos, got, want)
		}
	}
	for k, want := range other {
		if p, ok := x.other[k]; !ok || int(p) != want {
			t.Fatalf("other group %q = %d, %v; want %d", k, p, ok, want)
		}
		if pos, got := x.lookupBytes([]byte(k)); pos != -1 || got != 0 {
			t.Fatalf("lookup of another group's %q = %d, %d", k, pos, got)
		}
	}
	if pos, got := x.lookupBytes([]byte("nobody@example.com")); pos != -1 || got != 0 {
		t.Fatalf("lookup of an unknown key = %d, %d", pos, got)
	}
	if x.slot == nil || x.slotOf(n/2+1) != 10 {
		t.Fatalf("repeated ID: slot of %d = %d, want 10", n/2+1, x.slotOf(n/2+1))
	}
}

// appendEmailKey and emailKey look at eight bytes at a time, and trim
// skips strings.TrimSpace for most values: all must give what the plain
// functions give, for every byte.
func TestKeysAsThePlainFunctionsGiveThem(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "Z", "@", "[", "`", "{", "A", "z", "0", ".", " ", "\t", "é", "É", "\u00a0", "\x85", "\x7f", "\x01", "Ω", "Ö"}
	for range 100_000 {
		var b strings.Builder
		for range r.IntN(24) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if got := trim(s); got != strings.TrimSpace(s) {
			t.Fatalf("trim(%q) = %q, want %q", s, got, strings.TrimSpace(s))
		}
		key, ok := appendEmailKey([]byte("x"), s)
		want := bulk.NormalizeEmail(s)
		if got := emailKey(s); got != want {
			t.Fatalf("emailKey(%q) = %q, want %q", s, got, want)
		}
		switch {
		case ok && string(key) != "x"+want:
			t.Fatalf("appendEmailKey(%q) = %q, want %q", s, key[1:], want)
		case !ok && (string(key) != "x" || isASCII(s)):
			t.Fatalf("appendEmailKey(%q) refused an ASCII address or kept %q", s, key)
		}
	}
	// Every byte, in every place of a word.
	for c := range 128 {
		for at := range 9 {
			s := strings.Repeat("q", at) + string(rune(c)) + "rst"
			key, ok := appendEmailKey(nil, s)
			if !ok || string(key) != bulk.NormalizeEmail(s) {
				t.Fatalf("appendEmailKey(%q) = %q, %v; want %q", s, key, ok, bulk.NormalizeEmail(s))
			}
			if got := emailKey(s); got != bulk.NormalizeEmail(s) {
				t.Fatalf("emailKey(%q) = %q, want %q", s, got, bulk.NormalizeEmail(s))
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// accessor.get is bulk.Credential.Get resolved once per column, for the
// hot path: the two must read the same value of every attribute.
func TestAccessorReadsAsCredentialGet(t *testing.T) {
	c := bulk.Credential{ID: "c-1", GroupID: "g", Recipient: bulk.Recipient{ID: "S-1", Name: "Ana", Email: "ana@example.com"},
		IssuedOn: "2024-01-15", ExpiresOn: "2027-01-15", Grade: "A", Description: "d", Custom: map[string]string{"hours": "40"}}
	for _, attr := range []string{bulk.AttrCredentialID, bulk.AttrRecipientID, bulk.AttrRecipientName, bulk.AttrEmail,
		bulk.AttrGrade, bulk.AttrIssuedOn, bulk.AttrExpiresOn, bulk.AttrDescription,
		bulk.CustomPrefix + "hours", bulk.CustomPrefix + "missing", "unknown"} {
		if got, want := accessorOf(attr).get(&c), c.Get(attr); got != want {
			t.Errorf("%s: accessor reads %q, Credential.Get %q", attr, got, want)
		}
	}
}
