package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

// testInvalidKeys calls every method with a key that has no tenant, or an ID
// that holds the # delimiter, and expects an invalid-argument error.
func testInvalidKeys(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	seed(t, s, 5, 1)
	must(t, s.CreateUpload(ctx, bulk.Upload{Tenant: acme, ID: "u1", GroupID: "g1", Status: bulk.StatusAwaitingUpload}))
	good := bulk.Credential{ID: "c9", GroupID: "g1"}
	tooMany := make([]store.Op, store.MaxBatchOps+1)
	for i := range tooMany {
		tooMany[i] = store.Op{CredentialID: fmt.Sprintf("x%d", i), ExpectedVersion: 1, After: bulk.Credential{GroupID: "g1"}}
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"PutTenant empty", func() error { return s.PutTenant(ctx, bulk.Tenant{ID: ""}) }},
		{"PutTenant with #", func() error { return s.PutTenant(ctx, bulk.Tenant{ID: "a#b"}) }},
		{"GetTenant empty", func() error { _, err := s.GetTenant(ctx, ""); return err }},
		{"PutGroup no tenant", func() error { return s.PutGroup(ctx, "", bulk.Group{ID: "g1"}) }},
		{"PutGroup id with #", func() error { return s.PutGroup(ctx, acme, bulk.Group{ID: "g#CRED"}) }},
		{"GetGroup empty id", func() error { _, err := s.GetGroup(ctx, acme, ""); return err }},
		{"PutCredentials no tenant", func() error { return s.PutCredentials(ctx, "", []bulk.Credential{good}) }},
		{"PutCredentials tenant with #", func() error { return s.PutCredentials(ctx, "acme#x", []bulk.Credential{good}) }},
		{"PutCredentials id with #", func() error {
			return s.PutCredentials(ctx, acme, []bulk.Credential{{ID: "c#1", GroupID: "g1"}})
		}},
		{"PutCredentials no group", func() error { return s.PutCredentials(ctx, acme, []bulk.Credential{{ID: "c9"}}) }},
		{"GetCredential no tenant", func() error { _, err := s.GetCredential(ctx, "", "c1"); return err }},
		{"GetCredential id with #", func() error { _, err := s.GetCredential(ctx, acme, "c1#x"); return err }},
		{"GroupCredentials no tenant", func() error { _, err := s.GroupCredentials(ctx, "", "g1"); return err }},
		{"GroupCredentials group with #", func() error { _, err := s.GroupCredentials(ctx, acme, "g1#S#00"); return err }},
		{"FindCredentials no tenant", func() error {
			_, err := s.FindCredentials(ctx, "", bulk.AttrEmail, "c1@example.com")
			return err
		}},
		{"FindCredentials by grade", func() error { _, err := s.FindCredentials(ctx, acme, bulk.AttrGrade, "A"); return err }},
		{"CreateUpload no tenant", func() error { return s.CreateUpload(ctx, bulk.Upload{ID: "u2"}) }},
		{"CreateUpload id with #", func() error { return s.CreateUpload(ctx, bulk.Upload{Tenant: acme, ID: "u#2"}) }},
		{"GetUpload empty id", func() error { _, err := s.GetUpload(ctx, acme, ""); return err }},
		{"UpdateUpload no tenant", func() error {
			_, err := s.UpdateUpload(ctx, "", "u1", func(*bulk.Upload) error { t.Error("fn ran for an invalid key"); return nil })
			return err
		}},
		{"UpdateUpload changes id", func() error {
			_, err := s.UpdateUpload(ctx, acme, "u1", func(u *bulk.Upload) error { u.ID = "u2"; return nil })
			return err
		}},
		{"PutReportRows no tenant", func() error { return s.PutReportRows(ctx, "", "u1", 1, []bulk.Row{{Row: 2}}) }},
		{"PutReportRows upload with #", func() error { return s.PutReportRows(ctx, acme, "u1#", 1, []bulk.Row{{Row: 2}}) }},
		{"PutReportRows negative version", func() error { return s.PutReportRows(ctx, acme, "u1", -1, []bulk.Row{{Row: 2}}) }},
		{"PutReportRows row zero", func() error { return s.PutReportRows(ctx, acme, "u1", 1, []bulk.Row{{Row: 0}}) }},
		{"ListReportRows no tenant", func() error { _, _, err := s.ListReportRows(ctx, "", "u1", 1, "", "", 10); return err }},
		{"ListReportRows unknown outcome", func() error {
			_, _, err := s.ListReportRows(ctx, acme, "u1", 1, "renewal", "", 10)
			return err
		}},
		{"ListReportRows garbage cursor", func() error {
			_, _, err := s.ListReportRows(ctx, acme, "u1", 1, "", "not a cursor!", 10)
			return err
		}},
		{"LearnedMappings no tenant", func() error { _, err := s.LearnedMappings(ctx, ""); return err }},
		{"LearnMappings tenant with #", func() error { return s.LearnMappings(ctx, "a#", map[string]string{"email": bulk.AttrEmail}) }},
		{"LearnMappings empty header", func() error { return s.LearnMappings(ctx, acme, map[string]string{"": bulk.AttrEmail}) }},
		{"ApplyBatch no tenant", func() error { _, err := s.ApplyBatch(ctx, "", store.Batch{Upload: "u1"}); return err }},
		{"ApplyBatch upload with #", func() error { _, err := s.ApplyBatch(ctx, acme, store.Batch{Upload: "u#1"}); return err }},
		{"ApplyBatch negative number", func() error {
			_, err := s.ApplyBatch(ctx, acme, store.Batch{Upload: "u1", Number: -1})
			return err
		}},
		{"ApplyBatch too many ops", func() error {
			_, err := s.ApplyBatch(ctx, acme, store.Batch{Upload: "u1", Ops: tooMany})
			return err
		}},
		{"ApplyBatch one credential twice", func() error {
			_, err := s.ApplyBatch(ctx, acme, store.Batch{Upload: "u1", Number: 4, Ops: []store.Op{tooMany[0], tooMany[0]}})
			return err
		}},
		{"ApplyBatch credential id with #", func() error {
			op := store.Op{CredentialID: "c#1", After: bulk.Credential{GroupID: "g1"}}
			_, err := s.ApplyBatch(ctx, acme, store.Batch{Upload: "u1", Number: 5, Ops: []store.Op{op}})
			return err
		}},
		{"GetBatchResult no tenant", func() error { _, err := s.GetBatchResult(ctx, "", "u1", 0); return err }},
		{"ListResults no tenant", func() error { _, _, err := s.ListResults(ctx, "", "u1", "", 10); return err }},
		{"ListResults garbage cursor", func() error { _, _, err := s.ListResults(ctx, acme, "u1", "%%%", 10); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(), bulk.EInvalid)
		})
	}

	t.Run("nothing was written", func(t *testing.T) {
		_, err := s.GetTenant(ctx, "a")
		wantCode(t, err, bulk.ENotFound)
		_, err = s.GetGroup(ctx, acme, "g")
		wantCode(t, err, bulk.ENotFound)
		_, err = s.GetCredential(ctx, acme, "c")
		wantCode(t, err, bulk.ENotFound)
		got, err := s.GroupCredentials(ctx, acme, "g1")
		must(t, err)
		equal(t, "credentials of g1", ids(got), []string{"c1"})
		u, err := s.GetUpload(ctx, acme, "u1")
		must(t, err)
		equal(t, "upload id", u.ID, "u1")
		for _, n := range []int{0, 4, 5} {
			_, err := s.GetBatchResult(ctx, acme, "u1", n)
			wantCode(t, err, bulk.ENotFound)
		}
		equal(t, "credits", credits(t, s, acme), 5)
	})
}

func testTenants(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	_, err := s.GetTenant(ctx, acme)
	wantCode(t, err, bulk.ENotFound)

	must(t, s.PutTenant(ctx, bulk.Tenant{ID: acme, Name: "Acme Academy", Credits: 12}))
	must(t, s.PutTenant(ctx, bulk.Tenant{ID: globex, Name: "Globex", Credits: 0}))
	got, err := s.GetTenant(ctx, acme)
	must(t, err)
	equal(t, "acme", got, bulk.Tenant{ID: acme, Name: "Acme Academy", Credits: 12})

	must(t, s.PutTenant(ctx, bulk.Tenant{ID: acme, Name: "Acme Academy", Credits: 30}))
	equal(t, "credits after top-up", credits(t, s, acme), 30)
	equal(t, "other tenant's credits", credits(t, s, globex), 0)
}

func testGroups(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	groups := []bulk.Group{
		{ID: "g-ux", Name: "UX Foundations", DropPolicy: bulk.DropCommitIfClean, Attributes: []bulk.Attribute{
			{Key: "course_hours", Label: "Course Hours", Kind: bulk.KindNumber},
			{Key: "mentor_email", Label: "Mentor", Kind: bulk.KindEmail},
		}},
		{ID: "g-plain", Name: "Plain"},
	}
	for _, g := range groups {
		must(t, s.PutGroup(ctx, acme, g))
	}
	for _, g := range groups {
		t.Run(g.ID, func(t *testing.T) {
			got, err := s.GetGroup(ctx, acme, g.ID)
			must(t, err)
			equal(t, "group", got, g)
		})
	}
	t.Run("other tenant", func(t *testing.T) {
		_, err := s.GetGroup(ctx, globex, "g-ux")
		wantCode(t, err, bulk.ENotFound)
	})
	t.Run("missing", func(t *testing.T) {
		_, err := s.GetGroup(ctx, acme, "g-none")
		wantCode(t, err, bulk.ENotFound)
	})
}

func testCredentialRoundTrip(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	cases := []struct {
		name string
		c    bulk.Credential
	}{
		{"never expires, no custom fields", bulk.Credential{
			ID: "c-1", GroupID: "g1", Version: 3, IssuedOn: "2024-01-15",
			Recipient: bulk.Recipient{ID: "S-001", Name: "Ana Souza", Email: "ana@example.com"},
		}},
		{"expires, with custom fields", bulk.Credential{
			ID: "c-2", GroupID: "g1", Version: 1, IssuedOn: "2024-01-15", ExpiresOn: "2025-01-15",
			Grade: "A", Description: "Level 1",
			Recipient: bulk.Recipient{ID: "S-002", Name: "Bo", Email: "bo@example.com"},
			Custom:    map[string]string{"course_hours": "40", "room": ""},
		}},
		{"empty custom map", bulk.Credential{
			ID: "c-3", GroupID: "g1", Version: 7, Custom: map[string]string{},
			Recipient: bulk.Recipient{Email: "cy@example.com"},
		}},
		{"name corrected by recipient", bulk.Credential{
			ID: "c-4", GroupID: "g2", Version: 2,
			Recipient: bulk.Recipient{ID: "S-004", Name: "Zoë Ñúñez-O'Brien", Email: "ZOE@Example.com", NameCorrectedByRecipient: true},
		}},
		{"no recipient id or email", bulk.Credential{ID: "c-5", GroupID: "g2", Recipient: bulk.Recipient{Name: "Anon"}}},
	}
	all := make([]bulk.Credential, len(cases))
	for i, tc := range cases {
		all[i] = tc.c
	}
	must(t, s.PutCredentials(ctx, acme, all))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetCredential(ctx, acme, tc.c.ID)
			must(t, err)
			equal(t, "credential", got, tc.c)
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := s.GetCredential(ctx, acme, "c-404")
		wantCode(t, err, bulk.ENotFound)
	})
	t.Run("other tenant", func(t *testing.T) {
		_, err := s.GetCredential(ctx, globex, "c-1")
		wantCode(t, err, bulk.ENotFound)
	})
	t.Run("put replaces", func(t *testing.T) {
		c := cases[1].c
		c.Version, c.ExpiresOn, c.Custom = 2, "", nil
		must(t, s.PutCredentials(ctx, acme, []bulk.Credential{c}))
		got, err := s.GetCredential(ctx, acme, c.ID)
		must(t, err)
		equal(t, "credential", got, c)
	})
}

// testGroupCredentials lists groups of 130 and 90 credentials next to a
// same-named group of another tenant, stored in shuffled order.
func testGroupCredentials(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	var ux, data, other []bulk.Credential
	for i := range 130 {
		ux = append(ux, credential(fmt.Sprintf("ux-%03d", i), "g-ux"))
	}
	for i := range 90 {
		data = append(data, credential(fmt.Sprintf("da-%03d", i), "g-data"))
	}
	for i := range 40 {
		other = append(other, credential(fmt.Sprintf("ux-%03d", i), "g-ux"))
		other[i].Grade = "globex"
	}
	mixed := append(append([]bulk.Credential{}, ux...), data...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
	must(t, s.PutCredentials(ctx, acme, mixed))
	must(t, s.PutCredentials(ctx, globex, other))

	cases := []struct {
		name          string
		tenant, group string
		want          []bulk.Credential
	}{
		{"acme g-ux", acme, "g-ux", ux},
		{"acme g-data", acme, "g-data", data},
		{"globex g-ux", globex, "g-ux", other},
		{"globex g-data", globex, "g-data", nil},
		{"unknown group", acme, "g-none", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GroupCredentials(ctx, tc.tenant, tc.group)
			must(t, err)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d credentials, want %d", len(got), len(tc.want))
			}
			for i := range got {
				equal(t, fmt.Sprintf("credential %d", i), got[i], tc.want[i])
			}
			if !slices.IsSortedFunc(got, func(a, b bulk.Credential) int { return compare(a.ID, b.ID) }) {
				t.Errorf("not in ID order: %v", ids(got))
			}
		})
	}

	t.Run("moving a credential between groups", func(t *testing.T) {
		moved := ux[7]
		moved.GroupID = "g-data"
		must(t, s.PutCredentials(ctx, acme, []bulk.Credential{moved}))
		gotUX, err := s.GroupCredentials(ctx, acme, "g-ux")
		must(t, err)
		gotData, err := s.GroupCredentials(ctx, acme, "g-data")
		must(t, err)
		if len(gotUX) != 129 || slices.Contains(ids(gotUX), moved.ID) {
			t.Errorf("g-ux has %d credentials, %s among them: %v", len(gotUX), moved.ID, slices.Contains(ids(gotUX), moved.ID))
		}
		if len(gotData) != 91 || !slices.Contains(ids(gotData), moved.ID) {
			t.Errorf("g-data has %d credentials, %s missing", len(gotData), moved.ID)
		}
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testFindCredentials(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	mk := func(id, group, rid, email string) bulk.Credential {
		c := credential(id, group)
		c.Recipient.ID, c.Recipient.Email = rid, email
		return c
	}
	must(t, s.PutCredentials(ctx, acme, []bulk.Credential{
		mk("c1", "g1", "S-1", "Ana@Example.com"),
		mk("c2", "g2", "S-2", "ana@example.com"),
		mk("c3", "g1", "S-1", "bo@example.com"),
		mk("c4", "g1", "", ""),
	}))
	must(t, s.PutCredentials(ctx, globex, []bulk.Credential{mk("c1", "g1", "S-1", "ana@example.com")}))

	cases := []struct {
		name         string
		tenant, attr string
		value        string
		want         []string
	}{
		{"email any case and spacing", acme, bulk.AttrEmail, "  ANA@example.COM ", []string{"c1", "c2"}},
		{"email one match", acme, bulk.AttrEmail, "bo@example.com", []string{"c3"}},
		{"email no match", acme, bulk.AttrEmail, "nobody@example.com", []string{}},
		{"blank email", acme, bulk.AttrEmail, " ", []string{}},
		{"recipient id shared", acme, bulk.AttrRecipientID, "S-1", []string{"c1", "c3"}},
		{"recipient id no match", acme, bulk.AttrRecipientID, "S-404", []string{}},
		{"recipient id is exact", acme, bulk.AttrRecipientID, "s-1", []string{}},
		{"blank recipient id", acme, bulk.AttrRecipientID, "", []string{}},
		{"credential id", acme, bulk.AttrCredentialID, "c2", []string{"c2"}},
		{"credential id no match", acme, bulk.AttrCredentialID, "c404", []string{}},
		{"credential id with # matches nothing", acme, bulk.AttrCredentialID, "c1#x", []string{}},
		{"other tenant by email", globex, bulk.AttrEmail, "ana@example.com", []string{"c1"}},
		{"other tenant by recipient id", globex, bulk.AttrRecipientID, "S-1", []string{"c1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindCredentials(ctx, tc.tenant, tc.attr, tc.value)
			must(t, err)
			equal(t, "found", ids(got), tc.want)
			for _, c := range got {
				stored, err := s.GetCredential(ctx, tc.tenant, c.ID)
				must(t, err)
				equal(t, "found credential", c, stored)
			}
		})
	}

	t.Run("after an email change", func(t *testing.T) {
		c := mk("c3", "g1", "S-9", "new@example.com")
		must(t, s.PutCredentials(ctx, acme, []bulk.Credential{c}))
		cases := []struct {
			attr, value string
			want        []string
		}{
			{bulk.AttrEmail, "bo@example.com", []string{}},
			{bulk.AttrEmail, "NEW@example.com", []string{"c3"}},
			{bulk.AttrRecipientID, "S-1", []string{"c1"}},
			{bulk.AttrRecipientID, "S-9", []string{"c3"}},
		}
		for _, tc := range cases {
			got, err := s.FindCredentials(ctx, acme, tc.attr, tc.value)
			must(t, err)
			equal(t, tc.attr+" "+tc.value, ids(got), tc.want)
		}
	})
}

// testCopies checks that values handed in or out are not the stored ones.
func testCopies(t *testing.T, newStore func(*testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	c := credential("c1", "g1")
	must(t, s.PutCredentials(ctx, acme, []bulk.Credential{c}))
	c.Custom["course_hours"] = "changed by caller"
	got, err := s.GetCredential(ctx, acme, "c1")
	must(t, err)
	got.Custom["course_hours"] = "changed by reader"
	again, err := s.GetCredential(ctx, acme, "c1")
	must(t, err)
	equal(t, "stored custom field", again.Custom["course_hours"], "40")

	g := bulk.Group{ID: "g1", Attributes: []bulk.Attribute{{Key: "course_hours", Kind: bulk.KindNumber}}}
	must(t, s.PutGroup(ctx, acme, g))
	g.Attributes[0].Key = "changed"
	gotG, err := s.GetGroup(ctx, acme, "g1")
	must(t, err)
	equal(t, "stored attribute", gotG.Attributes[0].Key, "course_hours")

	u := bulk.Upload{Tenant: acme, ID: "u1", GroupID: "g1", Status: bulk.StatusAwaitingUpload,
		Mapping: bulk.Mapping{Columns: map[string]string{"E-mail": bulk.AttrEmail}}}
	must(t, s.CreateUpload(ctx, u))
	u.Mapping.Columns["E-mail"] = bulk.Skip
	var kept *bulk.Upload
	_, err = s.UpdateUpload(ctx, acme, "u1", func(u *bulk.Upload) error { kept = u; return nil })
	must(t, err)
	kept.Mapping.Columns["E-mail"] = bulk.Skip
	gotU, err := s.GetUpload(ctx, acme, "u1")
	must(t, err)
	equal(t, "stored mapping", gotU.Mapping.Columns["E-mail"], bulk.AttrEmail)

	rows := []bulk.Row{{Row: 2, Outcome: bulk.OutcomeUpdate, Changes: []bulk.Change{{Field: "grade", From: "A", To: "B"}}}}
	must(t, s.PutReportRows(ctx, acme, "u1", 1, rows))
	rows[0].Changes[0].To = "changed"
	gotRows, _, err := s.ListReportRows(ctx, acme, "u1", 1, "", "", 10)
	must(t, err)
	equal(t, "stored change", gotRows[0].Changes[0].To, "B")
}
