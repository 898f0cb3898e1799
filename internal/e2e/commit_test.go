package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/credup/credup/internal/apiclient"
	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
)

// TestCommitPressedTwice sends two commits of one upload at once, as a
// double click does: one execution runs, and it charges once.
func TestCommitPressedTwice(t *testing.T) {
	t.Parallel()
	s := shared
	ctx := timeout(t, time.Minute)
	tn := demoTenant(t, s, "twoclicks", demo.Credits)
	u := tn.readyDemoUpload(ctx, t)
	balance := tn.credits(ctx, t)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = tn.api.Commit(ctx, u.ID) })
	}
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		if err == nil {
			accepted++
			continue
		}
		// The second click may land after the commit finished, when there
		// is nothing left to commit.
		wantProblem(t, err, http.StatusConflict, bulk.EConflict)
	}
	if accepted == 0 {
		t.Fatalf("both commits refused: %v", errs)
	}
	tn.wait(ctx, t, u.ID, bulk.StatusCompletedWithErrors)
	if got := tn.credits(ctx, t); got != balance-u.Report.Summary.CreditsRequired {
		t.Errorf("balance %d, want %d - %d", got, balance, u.Report.Summary.CreditsRequired)
	}
	runs := 0
	p := sfn.NewListExecutionsPaginator(s.sfn, &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.stack.StateMachineArn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Executions {
			if aws.ToString(e.Name) == u.ID {
				runs++
			}
		}
	}
	if runs != 1 {
		t.Errorf("%d executions for upload %s, want 1", runs, u.ID)
	}
	updatedOnce(ctx, t, tn, u.ID, u.Report.Summary.Update)
}

// TestCompletedUploadIsFinal checks that a committed upload takes no new
// mapping, confirmation or commit.
func TestCompletedUploadIsFinal(t *testing.T) {
	t.Parallel()
	s := shared
	ctx := timeout(t, time.Minute)
	tn := demoTenant(t, s, "final", demo.Credits)
	u := tn.readyDemoUpload(ctx, t)
	if _, err := tn.api.Commit(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	done := tn.wait(ctx, t, u.ID, bulk.StatusCompletedWithErrors)
	balance := tn.credits(ctx, t)
	for _, r := range uploadRoutes(u.ID) {
		if r.method == http.MethodGet {
			continue
		}
		if r.name == "confirm" {
			r.body = `{"reportVersion":2}`
		}
		t.Run(r.name, func(t *testing.T) {
			wantProblem(t, r.call(t, tn, "Bearer "+tn.api.Token), http.StatusConflict, bulk.EConflict)
			unchanged(t, tn, u.ID, done.Status, done.ReportVersion)
		})
	}
	s.settle(ctx, t)
	if got := tn.credits(ctx, t); got != balance {
		t.Errorf("balance %d, want %d", got, balance)
	}
}

// TestCommitsShareOneBalance commits two uploads whose renewals the balance
// covers one at a time but not together; both passed the API's check while
// the balance still covered each. The second commit must be refused before
// anything is written, as a commit the balance cannot cover is.
func TestCommitsShareOneBalance(t *testing.T) {
	t.Parallel()
	s := shared
	ctx := timeout(t, time.Minute)
	// Two sheets over disjoint credentials, each renewing about 35.
	tn := demoTenant(t, s, "sharedbalance", 50)
	first := cleanUpload(ctx, t, tn, "first.csv", tn.seed[45:150])
	second := cleanUpload(ctx, t, tn, "second.csv", tn.seed[150:255])
	need1, need2 := first.Report.Summary.CreditsRequired, second.Report.Summary.CreditsRequired
	if need1 > 50 || need2 > 50 || need1+need2 <= 50 {
		t.Fatalf("the sheets need %d and %d credits; the test needs each to fit 50 and not both", need1, need2)
	}
	startCommit(ctx, t, tn, first.ID)
	startCommit(ctx, t, tn, second.ID)
	svc := commitService(s)
	run := func(id string) string {
		plan, err := svc.Plan(ctx, tn.id, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range plan.Batches {
			if _, err := svc.Apply(ctx, tn.id, id, b); err != nil {
				t.Fatal(err)
			}
		}
		fin, err := svc.Finish(ctx, tn.id, id)
		if err != nil {
			t.Fatal(err)
		}
		return fin.Status
	}
	if status := run(first.ID); status != bulk.StatusCompleted {
		t.Fatalf("first commit %s, want completed", status)
	}
	status := run(second.ID)
	if got := tn.credits(ctx, t); got < 0 || got > 50-need1 {
		t.Errorf("balance %d, want at most %d and never below zero", got, 50-need1)
	}

	t.Run("the second commit writes nothing", func(t *testing.T) {
		u, err := tn.api.Upload(ctx, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if status != bulk.StatusFailed || !strings.Contains(u.Failure, "credit") {
			t.Errorf("second commit %s (%q), want failed for want of credits", status, u.Failure)
		}
		if got := tn.credits(ctx, t); got != 50-need1 {
			t.Errorf("balance %d, want %d: the second commit charges nothing", got, 50-need1)
		}
		var changed []string
		for _, c := range tn.seed[150:255] {
			if got := tn.credential(ctx, t, c.ID); !sameCredential(got, c) {
				changed = append(changed, c.ID)
			}
		}
		if len(changed) > 0 {
			t.Errorf("%d credentials changed by the refused commit, from %s", len(changed), changed[0])
		}
	})
}

// cleanUpload uploads a sheet of clean updates of creds and waits for its
// report, which needs no mapping and no confirmation.
func cleanUpload(ctx context.Context, t *testing.T, tn *tenant, name string, creds []bulk.Credential) apiclient.Upload {
	t.Helper()
	cr := tn.upload(ctx, t, demo.GroupID, name, csvFile(t, cleanHeader, cleanRows(creds)))
	u := tn.wait(ctx, t, cr.ID, bulk.StatusReadyForReview)
	if sum := u.Report.Summary; sum.Error != 0 || sum.Warning != 0 || sum.Update != len(creds) {
		t.Fatalf("summary %+v: want %d clean updates", sum, len(creds))
	}
	return u
}
