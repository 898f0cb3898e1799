package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

// update is an op changing c's grade, and renewing it when renewal is set.
func update(row int, c bulk.Credential, renewal bool) store.Op {
	after := c
	after.Custom = map[string]string{"course_hours": "40"}
	after.Grade = "B"
	changes := []bulk.Change{{Field: bulk.AttrGrade, From: c.Grade, To: "B"}}
	if renewal {
		after.ExpiresOn = "2027-01-31"
		changes = append(changes, bulk.Change{Field: bulk.AttrExpiresOn, From: c.ExpiresOn, To: after.ExpiresOn})
	}
	return store.Op{Row: row, CredentialID: c.ID, ExpectedVersion: c.Version, Before: c, After: after, Renewal: renewal, Changes: changes}
}

// applied is what the store should hold for an applied op.
func applied(op store.Op) bulk.Credential {
	c := op.After
	c.Version = op.ExpectedVersion + 1
	return c
}

func result(upload string, number int, outcome string, appliedIDs, conflicts []string, charged int) store.BatchResult {
	return store.BatchResult{Upload: upload, Number: number, Outcome: outcome, Applied: appliedIDs, Conflicts: conflicts, CreditsCharged: charged}
}

func testApplyBatch(t *testing.T, newStore func(*testing.T) store.Store) {
	ctx := context.Background()
	cases := []struct {
		name    string
		credits int
		// prepare changes the store before the batch; ops builds the batch
		// from the seeded credentials c1..c4.
		prepare     func(t *testing.T, s store.Store, cs []bulk.Credential)
		ops         func(cs []bulk.Credential) []store.Op
		want        store.BatchResult
		wantCredits int
		// changed lists the ops (by index) whose after-values are stored.
		changed []int
	}{
		{
			name:    "applies and bumps versions",
			credits: 5,
			ops: func(cs []bulk.Credential) []store.Op {
				return []store.Op{update(2, cs[0], true), update(3, cs[1], false)}
			},
			want:        result("u1", 1, store.BatchApplied, []string{"c1", "c2"}, []string{}, 1),
			wantCredits: 4,
			changed:     []int{0, 1},
		},
		{
			name:    "changed credential is a conflict",
			credits: 5,
			prepare: func(t *testing.T, s store.Store, cs []bulk.Credential) {
				c := cs[1]
				c.Version, c.Grade = 2, "edited elsewhere"
				must(t, s.PutCredentials(ctx, acme, []bulk.Credential{c}))
			},
			ops: func(cs []bulk.Credential) []store.Op {
				return []store.Op{update(2, cs[0], true), update(3, cs[1], true), update(4, cs[2], false)}
			},
			want:        result("u1", 1, store.BatchApplied, []string{"c1", "c3"}, []string{"c2"}, 1),
			wantCredits: 4,
			changed:     []int{0, 2},
		},
		{
			name:    "missing credential is a conflict",
			credits: 5,
			ops: func(cs []bulk.Credential) []store.Op {
				return []store.Op{update(2, credential("c404", "g1"), true), update(3, cs[0], false)}
			},
			want:        result("u1", 1, store.BatchApplied, []string{"c1"}, []string{"c404"}, 0),
			wantCredits: 5,
			changed:     []int{1},
		},
		{
			name:    "insufficient credits",
			credits: 1,
			ops: func(cs []bulk.Credential) []store.Op {
				return []store.Op{update(2, cs[0], true), update(3, cs[1], true), update(4, cs[2], false)}
			},
			want:        result("u1", 1, store.BatchInsufficientCredits, []string{}, []string{}, 0),
			wantCredits: 1,
		},
		{
			name:    "conflicting renewal is not charged",
			credits: 1,
			prepare: func(t *testing.T, s store.Store, cs []bulk.Credential) {
				c := cs[0]
				c.Version = 9
				must(t, s.PutCredentials(ctx, acme, []bulk.Credential{c}))
			},
			ops: func(cs []bulk.Credential) []store.Op {
				return []store.Op{update(2, cs[0], true), update(3, cs[1], true)}
			},
			want:        result("u1", 1, store.BatchApplied, []string{"c2"}, []string{"c1"}, 1),
			wantCredits: 0,
			changed:     []int{1},
		},
		{
			name:    "every op conflicts",
			credits: 5,
			ops: func(cs []bulk.Credential) []store.Op {
				a, b := update(2, cs[0], true), update(3, cs[1], false)
				a.ExpectedVersion, b.ExpectedVersion = 7, 0
				return []store.Op{a, b}
			},
			want:        result("u1", 1, store.BatchApplied, []string{}, []string{"c1", "c2"}, 0),
			wantCredits: 5,
		},
		{
			name:        "empty batch",
			credits:     5,
			ops:         func([]bulk.Credential) []store.Op { return nil },
			want:        result("u1", 1, store.BatchApplied, []string{}, []string{}, 0),
			wantCredits: 5,
		},
		{
			name:    "renewal without a tenant balance",
			credits: -1,
			ops: func(cs []bulk.Credential) []store.Op {
				return []store.Op{update(2, cs[0], true)}
			},
			want:        result("u1", 1, store.BatchInsufficientCredits, []string{}, []string{}, 0),
			wantCredits: -1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			cs := seed(t, s, tc.credits, 4)
			if tc.prepare != nil {
				tc.prepare(t, s, cs)
			}
			before := make(map[string]bulk.Credential)
			for _, c := range cs {
				got, err := s.GetCredential(ctx, acme, c.ID)
				must(t, err)
				before[c.ID] = got
			}
			ops := tc.ops(cs)
			b := store.Batch{Upload: "u1", Number: 1, Ops: ops}

			got, err := s.ApplyBatch(ctx, acme, b)
			must(t, err)
			equal(t, "result", got, tc.want)

			check := func(t *testing.T) {
				if tc.credits >= 0 {
					equal(t, "credits", credits(t, s, acme), tc.wantCredits)
				}
				stored, err := s.GetBatchResult(ctx, acme, "u1", 1)
				must(t, err)
				equal(t, "stored result", stored, tc.want)
				want := before
				for _, i := range tc.changed {
					want[ops[i].CredentialID] = applied(ops[i])
				}
				for id, w := range want {
					c, err := s.GetCredential(ctx, acme, id)
					must(t, err)
					equal(t, "credential "+id, c, w)
				}
			}
			check(t)

			t.Run("replay", func(t *testing.T) {
				again, err := s.ApplyBatch(ctx, acme, b)
				must(t, err)
				equal(t, "replayed result", again, tc.want)
				check(t)
			})
			t.Run("replay with other ops", func(t *testing.T) {
				other := store.Batch{Upload: "u1", Number: 1, Ops: []store.Op{update(9, cs[3], true)}}
				again, err := s.ApplyBatch(ctx, acme, other)
				must(t, err)
				equal(t, "replayed result", again, tc.want)
				check(t)
			})
		})
	}

	t.Run("two batches of one upload each charge once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		cs := seed(t, s, 5, 4)
		b1 := store.Batch{Upload: "u1", Number: 1, Ops: []store.Op{update(2, cs[0], true), update(3, cs[1], true)}}
		b2 := store.Batch{Upload: "u1", Number: 2, Ops: []store.Op{update(4, cs[2], true)}}
		for range 2 {
			r1, err := s.ApplyBatch(ctx, acme, b1)
			must(t, err)
			equal(t, "batch 1", r1, result("u1", 1, store.BatchApplied, []string{"c1", "c2"}, []string{}, 2))
			r2, err := s.ApplyBatch(ctx, acme, b2)
			must(t, err)
			equal(t, "batch 2", r2, result("u1", 2, store.BatchApplied, []string{"c3"}, []string{}, 1))
			equal(t, "credits", credits(t, s, acme), 2)
		}
		// The same batch number of another upload is another batch.
		b3 := store.Batch{Upload: "u2", Number: 1, Ops: []store.Op{update(2, cs[3], true)}}
		r3, err := s.ApplyBatch(ctx, acme, b3)
		must(t, err)
		equal(t, "u2 batch 1", r3, result("u2", 1, store.BatchApplied, []string{"c4"}, []string{}, 1))
		equal(t, "credits", credits(t, s, acme), 1)
	})

	t.Run("applied values are found by the indexes", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		cs := seed(t, s, 5, 2)
		op := update(2, cs[0], false)
		op.After.Recipient.Email = "New.Address@example.com"
		op.After.Recipient.ID = "R-new"
		op.After.GroupID = "g2"
		_, err := s.ApplyBatch(ctx, acme, store.Batch{Upload: "u1", Number: 1, Ops: []store.Op{op}})
		must(t, err)
		lookups := []struct {
			name string
			find func() ([]bulk.Credential, error)
			want []string
		}{
			{"new email", func() ([]bulk.Credential, error) {
				return s.FindCredentials(ctx, acme, bulk.AttrEmail, "new.address@example.com")
			}, []string{"c1"}},
			{"old email", func() ([]bulk.Credential, error) {
				return s.FindCredentials(ctx, acme, bulk.AttrEmail, cs[0].Recipient.Email)
			}, []string{}},
			{"new recipient id", func() ([]bulk.Credential, error) {
				return s.FindCredentials(ctx, acme, bulk.AttrRecipientID, "R-new")
			}, []string{"c1"}},
			{"old group", func() ([]bulk.Credential, error) { return s.GroupCredentials(ctx, acme, "g1") }, []string{"c2"}},
			{"new group", func() ([]bulk.Credential, error) { return s.GroupCredentials(ctx, acme, "g2") }, []string{"c1"}},
		}
		for _, l := range lookups {
			got, err := l.find()
			must(t, err)
			equal(t, l.name, ids(got), l.want)
			for _, c := range got {
				if c.ID == "c1" {
					equal(t, l.name+" credential", c, applied(op))
				}
			}
		}
	})

	t.Run("missing batch", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, err := s.GetBatchResult(ctx, acme, "u1", 3)
		wantCode(t, err, bulk.ENotFound)
	})
}

// testConcurrentReplay applies one batch from several goroutines at once, as
// a retried task overlapping its first attempt would: one application, one
// charge, the same result for all.
func testConcurrentReplay(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	cs := seed(t, s, 10, 3)
	b := store.Batch{Upload: "u1", Number: 1, Ops: []store.Op{update(2, cs[0], true), update(3, cs[1], true), update(4, cs[2], false)}}
	want := result("u1", 1, store.BatchApplied, []string{"c1", "c2", "c3"}, []string{}, 2)
	const callers = 5
	var wg sync.WaitGroup
	got := make([]store.BatchResult, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = s.ApplyBatch(ctx, acme, b) })
	}
	wg.Wait()
	for i := range callers {
		must(t, errs[i])
		equal(t, fmt.Sprintf("caller %d", i), got[i], want)
	}
	equal(t, "credits", credits(t, s, acme), 8)
	for _, op := range b.Ops {
		c, err := s.GetCredential(ctx, acme, op.CredentialID)
		must(t, err)
		equal(t, "version of "+op.CredentialID, c.Version, int64(2))
	}
}

// testListResults pages through the results of batches 2 and 10 (so batch
// order is numeric), with a conflict listed as such.
func testListResults(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	cs := seed(t, s, 10, 8)
	changed := cs[5]
	changed.Version = 4
	must(t, s.PutCredentials(ctx, acme, []bulk.Credential{changed}))

	b2 := store.Batch{Upload: "u1", Number: 2, Ops: []store.Op{update(5, cs[2], true), update(3, cs[0], false), update(4, cs[1], true)}}
	b10 := store.Batch{Upload: "u1", Number: 10, Ops: []store.Op{update(8, cs[6], false), update(6, cs[4], true), update(7, cs[5], false)}}
	other := store.Batch{Upload: "u2", Number: 1, Ops: []store.Op{update(2, cs[7], false)}}
	refused := store.Batch{Upload: "u1", Number: 11, Ops: []store.Op{update(9, cs[3], true)}}
	for _, b := range []store.Batch{b10, b2, other} {
		_, err := s.ApplyBatch(ctx, acme, b)
		must(t, err)
	}
	must(t, s.PutTenant(ctx, bulk.Tenant{ID: acme, Credits: 0}))
	r, err := s.ApplyBatch(ctx, acme, refused)
	must(t, err)
	equal(t, "refused batch", r.Outcome, store.BatchInsufficientCredits)

	// Batch 2 in credential order, then batch 10 with the conflict c6 as
	// what it would have done, unapplied.
	var want []store.Result
	for _, op := range []store.Op{b2.Ops[1], b2.Ops[2], b2.Ops[0], b10.Ops[1], b10.Ops[2], b10.Ops[0]} {
		r := store.Result{
			Row: op.Row, CredentialID: op.CredentialID, Outcome: store.ResultUpdated,
			Before: op.Before, After: applied(op), Changes: op.Changes, Renewal: op.Renewal,
		}
		if op.CredentialID == changed.ID {
			r.Outcome, r.After = store.ResultConflict, op.After
		}
		want = append(want, r)
	}
	for _, limit := range []int{1, 2, 4, 5, 0} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			pageSize := limit
			if limit == 0 {
				pageSize = 100
			}
			got := walk(t, pageSize, func(c string) ([]store.Result, string, error) {
				return s.ListResults(ctx, acme, "u1", c, limit)
			})
			equal(t, "results", got, want)
		})
	}
	t.Run("cursor of another upload", func(t *testing.T) {
		_, cursor, err := s.ListResults(ctx, acme, "u1", "", 1)
		must(t, err)
		got, next, err := s.ListResults(ctx, acme, "u2", cursor, 10)
		must(t, err)
		if len(got) != 0 || next != "" {
			t.Errorf("u2 after u1's cursor: %d results, cursor %q", len(got), next)
		}
		got, _, err = s.ListResults(ctx, acme, "u2", "", 10)
		must(t, err)
		equal(t, "u2 results", len(got), 1)
		got, _, err = s.ListResults(ctx, globex, "u1", "", 10)
		must(t, err)
		equal(t, "globex results", len(got), 0)
	})
}
