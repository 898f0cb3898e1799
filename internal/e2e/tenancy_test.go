package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/credup/credup/internal/apiclient"
	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/objectkey"
)

// TestCrossTenant checks that one tenant can reach nothing of another's:
// not through the API with its own token, not by dropping a file that
// names the other's group.
func TestCrossTenant(t *testing.T) {
	t.Parallel()
	s := shared
	ctx := timeout(t, time.Minute)
	a := demoTenant(t, s, "tenant-a", demo.Credits)
	bGroup := bulk.Group{ID: "g-b", Name: "B's group", Attributes: demo.Group().Attributes, DropPolicy: bulk.DropReview}
	bCred := bulk.Credential{ID: "b-0001", GroupID: "g-b", Version: 1, IssuedOn: "2024-01-01",
		Recipient: bulk.Recipient{ID: "B-1", Name: "Bea Example", Email: "bea@example.net"}}
	b := newTenant(t, s, "tenant-b", demo.Credits, []bulk.Group{bGroup}, []bulk.Credential{bCred})

	committed := a.readyDemoUpload(ctx, t)
	if _, err := a.api.Commit(ctx, committed.ID); err != nil {
		t.Fatal(err)
	}
	a.wait(ctx, t, committed.ID, bulk.StatusCompletedWithErrors)
	pending := a.readyDemoUpload(ctx, t)
	before := map[string]string{}
	for _, id := range []string{committed.ID, pending.ID} {
		u, err := a.api.Upload(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		before[id] = mustJSON(t, u)
	}
	credsBefore := mustJSON(t, groupSnapshot(ctx, t, a, demo.GroupID))
	balance := a.credits(ctx, t)

	for _, up := range []struct{ name, id string }{{"committed upload", committed.ID}, {"upload ready to commit", pending.ID}} {
		t.Run("B's token on A's "+up.name, func(t *testing.T) {
			for _, r := range uploadRoutes(up.id) {
				t.Run(r.name, func(t *testing.T) {
					wantProblem(t, r.call(t, b, "Bearer "+b.api.Token), http.StatusNotFound, bulk.ENotFound)
				})
			}
		})
	}
	t.Run("B's token on A's group", func(t *testing.T) {
		for _, r := range []route{
			{name: "template", method: http.MethodGet, path: "/groups/" + demo.GroupID + "/template?prefill=true"},
			{name: "new upload", method: http.MethodPost, path: "/groups/" + demo.GroupID + "/bulk-updates", body: `{"fileName":"a.csv"}`},
		} {
			t.Run(r.name, func(t *testing.T) {
				wantProblem(t, r.call(t, b, "Bearer "+b.api.Token), http.StatusNotFound, bulk.ENotFound)
			})
		}
	})
	t.Run("a body cannot name the tenant", func(t *testing.T) {
		r := route{method: http.MethodPost, path: "/groups/g-b/bulk-updates", body: `{"fileName":"a.csv","tenant":"` + a.id + `"}`}
		wantProblem(t, r.call(t, b, "Bearer "+b.api.Token), http.StatusBadRequest, bulk.EInvalid)
	})
	t.Run("A's own token still reaches both uploads", func(t *testing.T) {
		// The 404s above are about tenancy, not about the uploads' state.
		for _, id := range []string{committed.ID, pending.ID} {
			if err := (route{method: http.MethodGet, path: "/bulk-updates/" + id + "/rows"}).call(t, a, "Bearer "+a.api.Token); err != nil {
				t.Errorf("A's rows of %s: %v", id, err)
			}
		}
		if err := (route{method: http.MethodGet, path: "/bulk-updates/" + committed.ID + "/results"}).call(t, a, "Bearer "+a.api.Token); err != nil {
			t.Errorf("A's results: %v", err)
		}
	})

	t.Run("a file B drops under A's group ID touches nothing of A's", func(t *testing.T) {
		intruder := objectkey.DropboxPrefix(b.id, demo.GroupID) + "takeover.csv"
		s.put(ctx, t, intruder, csvFile(t, cleanHeader, cleanRows(a.seed[:20])))
		// Handled synchronously too, so the outcome does not hang on timing.
		s.invoke(ctx, t, "ValidateFunction", s3Event(t, s.stack.BucketName, intruder, s.etag(ctx, t, intruder)))
		// A file B drops into its own group afterwards shows the
		// notifications have been handled.
		sentinel := objectkey.DropboxPrefix(b.id, bGroup.ID) + "sentinel.csv"
		s.put(ctx, t, sentinel, csvFile(t, cleanHeader, cleanRows([]bulk.Credential{bCred})))
		b.wait(ctx, t, s.awaitUpload(ctx, t, b.id, sentinel).ID, bulk.StatusReadyForReview)
		s.settle(ctx, t)

		for _, tenantID := range []string{a.id, b.id} {
			if us := s.uploadsOf(ctx, t, tenantID, intruder); len(us) != 0 {
				t.Errorf("tenant %s got %d uploads from B's file under A's group ID", tenantID, len(us))
			}
		}
	})

	t.Run("A's data is as it was", func(t *testing.T) {
		for _, id := range []string{committed.ID, pending.ID} {
			u, err := a.api.Upload(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustJSON(t, u); got != before[id] {
				t.Errorf("upload %s changed:\n%s\nwas\n%s", id, got, before[id])
			}
		}
		if got := mustJSON(t, groupSnapshot(ctx, t, a, demo.GroupID)); got != credsBefore {
			t.Error("A's credentials changed")
		}
		if got := a.credits(ctx, t); got != balance {
			t.Errorf("A's balance %d, was %d", got, balance)
		}
	})
}

// TestLearnedMappings checks that a column a tenant placed is placed the
// same way in its next upload, and in no other tenant's.
func TestLearnedMappings(t *testing.T) {
	t.Parallel()
	s := shared
	ctx := timeout(t, time.Minute)
	learner := demoTenant(t, s, "learner", demo.Credits)
	other := demoTenant(t, s, "stranger", demo.Credits)
	var rows [][]string
	for _, c := range demo.Seed()[:5] {
		rows = append(rows, []string{c.Recipient.Email, "Stufe 1"})
	}
	file := csvFile(t, []string{"Recipient Email", "Kursnotiz"}, rows)
	column := func(u apiclient.Upload) apiclient.Column {
		t.Helper()
		for _, c := range u.Report.Columns {
			if c.Header == "Kursnotiz" {
				return c
			}
		}
		t.Fatalf("report has no Kursnotiz column: %+v", u.Report.Columns)
		return apiclient.Column{}
	}

	first := learner.upload(ctx, t, demo.GroupID, "notes.csv", file)
	if c := column(learner.wait(ctx, t, first.ID, bulk.StatusNeedsMapping)); c.How != bulk.HowUnmapped {
		t.Fatalf("Kursnotiz is %s/%s before anyone placed it, want unmapped", c.Attribute, c.How)
	}
	u := learner.mapAndWait(ctx, t, first.ID, bulk.Mapping{Columns: map[string]string{"Kursnotiz": bulk.AttrDescription}}, bulk.StatusReadyForReview)
	if c := column(u); c.Attribute != bulk.AttrDescription || c.How != bulk.HowAssigned {
		t.Errorf("Kursnotiz is %s/%s after the mapping, want description/assigned", c.Attribute, c.How)
	}

	t.Run("the same tenant's next upload", func(t *testing.T) {
		next := learner.upload(ctx, t, demo.GroupID, "notes again.csv", file)
		if c := column(learner.wait(ctx, t, next.ID, bulk.StatusReadyForReview)); c.Attribute != bulk.AttrDescription || c.How != bulk.HowLearned {
			t.Errorf("Kursnotiz is %s/%s, want description/learned", c.Attribute, c.How)
		}
	})
	t.Run("another tenant's upload", func(t *testing.T) {
		theirs := other.upload(ctx, t, demo.GroupID, "notes.csv", file)
		if c := column(other.wait(ctx, t, theirs.ID, bulk.StatusNeedsMapping)); c.How != bulk.HowUnmapped {
			t.Errorf("Kursnotiz is %s/%s for another tenant, want unmapped", c.Attribute, c.How)
		}
	})
}
