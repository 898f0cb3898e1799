package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credup/credup/internal/apiclient"
	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/commit"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/objectkey"
	"github.com/credup/credup/internal/objects"
	"github.com/credup/credup/internal/store"
)

// TestDuplicateNotifications delivers one S3 notification several times,
// as S3 may: the file gets one upload and one report.
func TestDuplicateNotifications(t *testing.T) {
	t.Parallel()
	s := shared

	t.Run("API upload", func(t *testing.T) {
		t.Parallel()
		ctx := timeout(t, time.Minute)
		tn := demoTenant(t, s, "dup-api", demo.Credits)
		file := demoSheet(t)
		cr := tn.upload(ctx, t, demo.GroupID, "Cohort A+B été.xlsx", file)
		event := s3Event(t, s.stack.BucketName, cr.ObjectKey, s.etag(ctx, t, cr.ObjectKey))

		// Two more deliveries of the event S3 just sent, racing it.
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if _, err := s.tryInvoke(ctx, "ValidateFunction", event); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		tn.wait(ctx, t, cr.ID, bulk.StatusNeedsMapping)
		s.settle(ctx, t)
		oneReport(ctx, t, tn, cr.ID, 1, len(demo.Rows()))

		// A late copy after the mapping changed makes no third report.
		tn.mapAndWait(ctx, t, cr.ID, demo.Mapping(), bulk.StatusReadyForReview)
		s.invoke(ctx, t, "ValidateFunction", event)
		s.settle(ctx, t)
		oneReport(ctx, t, tn, cr.ID, 2, len(demo.Rows()))
		if u, err := tn.api.Upload(ctx, cr.ID); err != nil || u.Status != bulk.StatusReadyForReview {
			t.Errorf("after a late duplicate the upload is %+v (%v), want it still ready for review", u, err)
		}
	})

	t.Run("dropped file", func(t *testing.T) {
		t.Parallel()
		ctx := timeout(t, time.Minute)
		tn := demoTenant(t, s, "dup-drop", demo.Credits)
		key := objectkey.DropboxPrefix(tn.id, demo.GroupID) + "partner export.csv"
		s.put(ctx, t, key, csvFile(t, cleanHeader, cleanRows(tn.seed[:20])))
		event := s3Event(t, s.stack.BucketName, key, s.etag(ctx, t, key))
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if _, err := s.tryInvoke(ctx, "ValidateFunction", event); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		u := s.awaitUpload(ctx, t, tn.id, key)
		tn.wait(ctx, t, u.ID, bulk.StatusReadyForReview)
		s.settle(ctx, t)
		if us := s.uploadsOf(ctx, t, tn.id, key); len(us) != 1 {
			t.Fatalf("%d uploads for one dropped file delivered three times, want 1", len(us))
		}
		oneReport(ctx, t, tn, u.ID, 1, 20)
	})
}

// oneReport fails the test unless the upload's latest report is version
// and it holds exactly rows rows, with no report after it.
func oneReport(ctx context.Context, t *testing.T, tn *tenant, id string, version, rows int) {
	t.Helper()
	u, err := tn.api.Upload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if u.ReportVersion != version {
		t.Errorf("report version %d, want %d", u.ReportVersion, version)
	}
	if got := tn.allRows(ctx, t, id, "", 1000); len(got) != rows {
		t.Errorf("report %d has %d rows, want %d", u.ReportVersion, len(got), rows)
	}
	next, _, err := tn.s.store.ListReportRows(ctx, tn.id, id, version+1, "", "", 10)
	if err != nil || len(next) != 0 {
		t.Errorf("report %d has %d rows (%v), want none", version+1, len(next), err)
	}
}

// TestApplyRunTwice runs the apply step again for every batch of a
// completed commit, and finish again, through the commit function's Lambda
// Invoke API: nothing is applied or charged twice.
func TestApplyRunTwice(t *testing.T) {
	t.Parallel()
	s := shared
	ctx := timeout(t, time.Minute)
	tn := demoTenant(t, s, "twice", demo.Credits)
	u := tn.readyDemoUpload(ctx, t)
	if _, err := tn.api.Commit(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	done := tn.wait(ctx, t, u.ID, bulk.StatusCompletedWithErrors)
	balance := tn.credits(ctx, t)
	creds := groupSnapshot(ctx, t, tn, demo.GroupID)
	_, results := tn.allResults(ctx, t, u.ID, 1000)

	for b := 0; b < done.Results.Batches; b++ {
		first, err := s.store.GetBatchResult(ctx, tn.id, u.ID, b)
		if err != nil {
			t.Fatal(err)
		}
		payload := fmt.Sprintf(`{"action":"apply","tenant":%q,"upload":%q,"batch":%d}`, tn.id, u.ID, b)
		var out commit.ApplyOutput
		if err := json.Unmarshal(s.invoke(ctx, t, "CommitFunction", []byte(payload)), &out); err != nil {
			t.Fatal(err)
		}
		if out.Applied != len(first.Applied) || out.Credits != first.CreditsCharged || out.Outcome != first.Outcome {
			t.Errorf("batch %d applied again answers %+v; the first run applied %d for %d credits", b, out, len(first.Applied), first.CreditsCharged)
		}
	}
	var fin commit.FinishOutput
	payload := fmt.Sprintf(`{"action":"finish","tenant":%q,"upload":%q}`, tn.id, u.ID)
	if err := json.Unmarshal(s.invoke(ctx, t, "CommitFunction", []byte(payload)), &fin); err != nil {
		t.Fatal(err)
	}
	if fin.Status != bulk.StatusCompletedWithErrors {
		t.Errorf("finish again says %s, want %s", fin.Status, bulk.StatusCompletedWithErrors)
	}

	if got := tn.credits(ctx, t); got != balance {
		t.Errorf("balance %d after applying again, want %d", got, balance)
	}
	if got := groupSnapshot(ctx, t, tn, demo.GroupID); mustJSON(t, got) != mustJSON(t, creds) {
		t.Error("credentials changed when the batches were applied again")
	}
	again, err := tn.api.Upload(ctx, u.ID)
	if err != nil || again.Status != done.Status || again.Results == nil || *again.Results != *done.Results {
		t.Errorf("upload %+v (%v) after running again, want %s %+v", again, err, done.Status, done.Results)
	}
	if _, got := tn.allResults(ctx, t, u.ID, 1000); mustJSON(t, got) != mustJSON(t, results) {
		t.Errorf("results changed: %d then %d", len(results), len(got))
	}
}

// TestRedrive fails one batch of a commit, then runs every batch again as
// a Step Functions redrive does (failed and unfinished iterations, and
// earlier ones may run again): every credential is updated once and the
// balance charged once.
func TestRedrive(t *testing.T) {
	t.Parallel()
	s := shared
	tests := []struct {
		name string
		// fault makes batch k fail once; stop says the first run stopped there.
		fault func(svc *commit.Service, tenant, upload string, k int)
		stop  bool
	}{
		{
			name: "manifest k unreadable, later batches ran",
			fault: func(svc *commit.Service, tenant, upload string, k int) {
				svc.Objects = &flakyObjects{Objects: svc.Objects, key: objectkey.ForManifest(tenant, upload, k)}
			},
		},
		{
			name: "batch k failed before writing, the run stopped there",
			fault: func(svc *commit.Service, _, _ string, k int) {
				svc.Store = &flakyStore{Store: svc.Store, batch: k}
			},
			stop: true,
		},
		{
			name: "batch k written but its answer lost, the run stopped there",
			fault: func(svc *commit.Service, _, _ string, k int) {
				svc.Store = &flakyStore{Store: svc.Store, batch: k, afterWrite: true}
			},
			stop: true,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := timeout(t, time.Minute)
			tn := demoTenant(t, s, fmt.Sprintf("redrive%d", i), demo.Credits)
			u := tn.readyDemoUpload(ctx, t)
			balance := tn.credits(ctx, t)
			startCommit(ctx, t, tn, u.ID)

			svc := commitService(s)
			plan, err := svc.Plan(ctx, tn.id, u.ID)
			if err != nil || plan.Status != commit.PlanReady || plan.BatchCount < 3 {
				t.Fatalf("plan %+v (%v): want ready, with at least 3 batches", plan, err)
			}
			k := plan.BatchCount / 2
			tt.fault(svc, tn.id, u.ID, k)

			for _, b := range plan.Batches {
				_, err := svc.Apply(ctx, tn.id, u.ID, b)
				if b == k {
					if err == nil {
						t.Fatalf("batch %d should have failed", k)
					}
					if tt.stop {
						break
					}
					continue
				}
				if err != nil {
					t.Fatalf("batch %d: %v", b, err)
				}
			}
			for _, b := range plan.Batches {
				if _, err := svc.Apply(ctx, tn.id, u.ID, b); err != nil {
					t.Fatalf("redriven batch %d: %v", b, err)
				}
			}
			fin, err := svc.Finish(ctx, tn.id, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			sum := u.Report.Summary
			got, err := tn.api.Upload(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := bulk.Results{Updated: sum.Update, Skipped: sum.Error, CreditsCharged: sum.CreditsRequired, Batches: plan.BatchCount}
			if fin.Status != bulk.StatusCompletedWithErrors || got.Status != fin.Status || got.Results == nil || *got.Results != want {
				t.Errorf("finished %s, upload %s with %+v; want %s with %+v", fin.Status, got.Status, got.Results, bulk.StatusCompletedWithErrors, want)
			}
			if b := tn.credits(ctx, t); b != balance-sum.CreditsRequired {
				t.Errorf("balance %d, want %d - %d", b, balance, sum.CreditsRequired)
			}
			updatedOnce(ctx, t, tn, u.ID, sum.Update)
		})
	}
}

// updatedOnce checks every credential of the demo group: those the commit
// updated are one version up, with one result each; the rest untouched.
func updatedOnce(ctx context.Context, t *testing.T, tn *tenant, upload string, updates int) {
	t.Helper()
	_, results := tn.allResults(ctx, t, upload, 1000)
	updated := map[string]bool{}
	for _, r := range results {
		if updated[r.CredentialID] {
			t.Errorf("credential %s has two results", r.CredentialID)
		}
		updated[r.CredentialID] = true
	}
	if len(updated) != updates {
		t.Errorf("%d credentials updated, the report said %d", len(updated), updates)
	}
	for _, c := range groupSnapshot(ctx, t, tn, demo.GroupID) {
		seeded := tn.seeded(t, c.ID)
		switch {
		case updated[c.ID] && c.Version != seeded.Version+1:
			t.Errorf("credential %s is version %d, want %d: updated once", c.ID, c.Version, seeded.Version+1)
		case !updated[c.ID] && !sameCredential(c, seeded):
			t.Errorf("credential %s changed without a result", c.ID)
		}
	}
}

// TestChangedUnderTheCommit changes a credential after the user confirmed
// the report: between confirmation and commit, and between plan and apply.
func TestChangedUnderTheCommit(t *testing.T) {
	t.Parallel()
	s := shared

	// A change between confirmation and commit: plan re-validates. A change
	// to a field the sheet sets makes the confirmed report stale, and the
	// commit stops before writing anything; a change to a field the sheet
	// leaves alone keeps the report, and the commit keeps the change.
	tests := []struct {
		name   string
		change func(c *bulk.Credential)
		status string
	}{
		{name: "its expiry, which the sheet renews", change: func(c *bulk.Credential) { c.ExpiresOn = "2030-01-01" }, status: bulk.StatusFailed},
		{name: "its description, which the sheet does not touch", change: func(c *bulk.Credential) { c.Description = "edited by an administrator" }, status: bulk.StatusCompletedWithErrors},
	}
	for i, tt := range tests {
		t.Run("after confirmation: "+tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := timeout(t, time.Minute)
			tn := demoTenant(t, s, fmt.Sprintf("moved%d", i), demo.Credits)
			u := tn.readyDemoUpload(ctx, t)
			balance := tn.credits(ctx, t)
			row := firstRenewal(ctx, t, tn, u.ID)
			edited := tn.credential(ctx, t, row.CredentialID)
			tt.change(&edited)
			edited.Version++
			if err := s.store.PutCredentials(ctx, tn.id, []bulk.Credential{edited}); err != nil {
				t.Fatal(err)
			}

			if _, err := tn.api.Commit(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			got := tn.wait(ctx, t, u.ID, tt.status)
			if tt.status == bulk.StatusFailed {
				if !strings.Contains(got.Failure, "stale") {
					t.Errorf("failure %q, want it to say the report is stale", got.Failure)
				}
				if b := tn.credits(ctx, t); b != balance {
					t.Errorf("balance %d after a stale commit, want %d", b, balance)
				}
				if n := s.manifests(ctx, t, tn.id, u.ID); n != 0 {
					t.Errorf("%d manifests written for a stale commit", n)
				}
				if _, rs := tn.allResults(ctx, t, u.ID, 100); len(rs) != 0 {
					t.Errorf("%d results for a stale commit", len(rs))
				}
				for _, c := range groupSnapshot(ctx, t, tn, demo.GroupID) {
					want := tn.seeded(t, c.ID)
					if c.ID == edited.ID {
						want = edited
					}
					if !sameCredential(c, want) {
						t.Errorf("credential %s changed by a stale commit", c.ID)
					}
				}
				s.events.wait(ctx, t, tn.id, u.ID, "BulkUpdate Failed", func(e busEvent) bool {
					return e.DetailType == "BulkUpdate Failed" && e.Detail.Status == bulk.StatusFailed
				})
				return
			}
			sum := u.Report.Summary
			if got.Results == nil || got.Results.Updated != sum.Update || got.Results.CreditsCharged != sum.CreditsRequired {
				t.Errorf("totals %+v, want %d updated for %d credits", got.Results, sum.Update, sum.CreditsRequired)
			}
			if want, after := applied(edited, row.Changes), tn.credential(ctx, t, edited.ID); !sameCredential(after, want) {
				t.Errorf("credential %s is\n %+v\nwant the edit kept and the sheet applied:\n %+v", edited.ID, after, want)
			}
		})
	}

	t.Run("between plan and apply", func(t *testing.T) {
		t.Parallel()
		ctx := timeout(t, time.Minute)
		tn := demoTenant(t, s, "conflict", demo.Credits)
		cr := tn.upload(ctx, t, demo.GroupID, "clean.csv", csvFile(t, cleanHeader, cleanRows(tn.seed[:30])))
		u := tn.wait(ctx, t, cr.ID, bulk.StatusReadyForReview)
		sum := u.Report.Summary
		if sum.Error != 0 || sum.Warning != 0 || sum.Update != 30 || sum.Renewals == 0 {
			t.Fatalf("summary %+v: the sheet should be 30 clean updates with renewals", sum)
		}
		balance := tn.credits(ctx, t)
		startCommit(ctx, t, tn, cr.ID)
		svc := commitService(s)
		plan, err := svc.Plan(ctx, tn.id, cr.ID)
		if err != nil || plan.Status != commit.PlanReady {
			t.Fatalf("plan %+v: %v", plan, err)
		}

		row := firstRenewal(ctx, t, tn, cr.ID)
		edited := tn.credential(ctx, t, row.CredentialID)
		edited.Description = "edited while the commit ran"
		edited.Version++
		if err := s.store.PutCredentials(ctx, tn.id, []bulk.Credential{edited}); err != nil {
			t.Fatal(err)
		}
		for _, b := range plan.Batches {
			if _, err := svc.Apply(ctx, tn.id, cr.ID, b); err != nil {
				t.Fatalf("batch %d: %v", b, err)
			}
		}
		fin, err := svc.Finish(ctx, tn.id, cr.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tn.api.Upload(ctx, cr.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := bulk.Results{Updated: sum.Update - 1, Conflicts: 1, CreditsCharged: sum.CreditsRequired - 1, Batches: plan.BatchCount}
		if fin.Status != bulk.StatusCompletedWithErrors || got.Status != fin.Status || got.Results == nil || *got.Results != want {
			t.Errorf("finished %s, upload %s with %+v; want %s with %+v", fin.Status, got.Status, got.Results, bulk.StatusCompletedWithErrors, want)
		}
		if b := tn.credits(ctx, t); b != balance-want.CreditsCharged {
			t.Errorf("balance %d, want %d - %d: the conflicted renewal is not charged", b, balance, want.CreditsCharged)
		}
		if after := tn.credential(ctx, t, edited.ID); !sameCredential(after, edited) {
			t.Errorf("the credential changed under the commit was overwritten:\n %+v\nwant\n %+v", after, edited)
		}
		_, results := tn.allResults(ctx, t, cr.ID, 1000)
		updated := 0
		for _, r := range results {
			if r.CredentialID == edited.ID && r.Outcome == "updated" {
				t.Errorf("the conflicted credential is listed as updated")
			}
			if r.Outcome == "updated" {
				updated++
			}
		}
		if updated != want.Updated {
			t.Errorf("%d updated results, want %d", updated, want.Updated)
		}

		t.Run("the conflicted row is listed in the results", func(t *testing.T) {
			var found *apiclient.Result
			for i, r := range results {
				if r.CredentialID == edited.ID {
					found = &results[i]
				}
			}
			if found == nil || found.Outcome != store.ResultConflict || found.Row != row.Row {
				t.Errorf("result for the conflicted credential: %+v, want outcome %s on row %d", found, store.ResultConflict, row.Row)
			}
		})
	})
}

// firstRenewal is the first row of the upload's report that renews a credential.
func firstRenewal(ctx context.Context, t *testing.T, tn *tenant, upload string) bulk.Row {
	t.Helper()
	for _, r := range tn.allRows(ctx, t, upload, bulk.OutcomeUpdate, 1000) {
		if r.Renewal {
			return r
		}
	}
	t.Fatal("the report renews nothing")
	return bulk.Row{}
}

// startCommit moves a confirmed upload to committing as the API's commit
// route does, without starting the state machine: the test runs its steps.
func startCommit(ctx context.Context, t *testing.T, tn *tenant, upload string) {
	t.Helper()
	if _, err := tn.s.store.UpdateUpload(ctx, tn.id, upload, func(u *bulk.Upload) error {
		u.Status, u.Execution = bulk.StatusCommitting, "driven-by-test"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// commitService is the commit function's service on the stack's table and
// bucket, with small batches so a commit has several.
func commitService(s *suite) *commit.Service {
	return &commit.Service{
		Store:     s.store,
		Objects:   objects.New(s.s3, s.stack.BucketName),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		BatchSize: 20,
	}
}

func groupSnapshot(ctx context.Context, t *testing.T, tn *tenant, group string) []bulk.Credential {
	t.Helper()
	cs, err := tn.s.store.GroupCredentials(ctx, tn.id, group)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// flakyObjects fails the first read of one key, as a dropped connection would.
type flakyObjects struct {
	commit.Objects
	key    string
	failed atomic.Bool
}

func (f *flakyObjects) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == f.key && f.failed.CompareAndSwap(false, true) {
		return nil, errors.New("read manifest: connection reset by peer")
	}
	return f.Objects.Open(ctx, key)
}

// flakyStore fails the first application of one batch, before writing it
// or (afterWrite) after the write succeeded, as a timeout that loses the
// answer would.
type flakyStore struct {
	store.Store
	batch      int
	afterWrite bool
	failed     atomic.Bool
}

func (f *flakyStore) ApplyBatch(ctx context.Context, tenant string, b store.Batch) (store.BatchResult, error) {
	if b.Number != f.batch || !f.failed.CompareAndSwap(false, true) {
		return f.Store.ApplyBatch(ctx, tenant, b)
	}
	if f.afterWrite {
		if _, err := f.Store.ApplyBatch(ctx, tenant, b); err != nil {
			return store.BatchResult{}, err
		}
	}
	return store.BatchResult{}, errors.New("transact write items: request timed out")
}
