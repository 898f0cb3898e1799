package commit_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/commit"
	"github.com/credup/credup/internal/store"
)

func TestPlanWritesManifests(t *testing.T) {
	tests := []struct {
		name    string
		updates int
	}{
		{"one partial batch", 5},
		{"exactly one batch", 7},
		{"several batches", 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := sheetOf(t, tt.updates)
			f := committing(t, 100, body)
			plan, err := f.svc.Plan(context.Background(), tenant, uploadID)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			want := (tt.updates + 6) / 7
			if plan.Status != commit.PlanReady || plan.BatchCount != want || len(plan.Batches) != want {
				t.Fatalf("plan = %+v, want ready with %d batches", plan, want)
			}
			keys := f.objects.Keys(manifests)
			if len(keys) != want {
				t.Fatalf("manifests = %v, want %d", keys, want)
			}
			var ops []store.Op
			for n, key := range keys {
				var b store.Batch
				body, _ := f.objects.Get(key)
				must(t, json.Unmarshal(body, &b))
				if b.Upload != uploadID || b.Number != n || len(b.Ops) == 0 || len(b.Ops) > 7 {
					t.Fatalf("manifest %s = upload %s batch %d with %d ops", key, b.Upload, b.Number, len(b.Ops))
				}
				ops = append(ops, b.Ops...)
			}
			rows := f.updateRows(t)
			if len(ops) != len(rows) {
				t.Fatalf("manifests hold %d ops, the report %d updates", len(ops), len(rows))
			}
			for i, r := range rows {
				if ops[i].Row != r.Row || ops[i].CredentialID != r.CredentialID || ops[i].Renewal != r.Renewal {
					t.Errorf("op %d = row %d %s, want report row %d %s", i, ops[i].Row, ops[i].CredentialID, r.Row, r.CredentialID)
				}
			}
			if u := f.upload(t); u.Status != bulk.StatusCommitting || u.Results == nil || u.Results.Batches != want {
				t.Errorf("upload after plan = %s, results %+v", u.Status, u.Results)
			}
		})
	}
}

func TestPlanStops(t *testing.T) {
	body, renewals := sheetOf(t, 9)
	if renewals == 0 {
		t.Fatal("the sheet renews nothing")
	}
	unchanged, _ := sheetOf(t, 0, []string{"learner001@example.org", "B", "2027-02-02"})
	tests := []struct {
		name        string
		body        []byte
		before      func(t *testing.T, f *fixture)
		want        string
		wantStatus  string
		wantFailure string
	}{
		{
			name: "credential changed since confirmation",
			body: body,
			// c-0001's grade now is what the sheet sets: the row would no
			// longer update it.
			before: func(t *testing.T, f *fixture) {
				bump(t, f.store, "c-0001", func(c *bulk.Credential) { c.Grade = "A" })
			},
			want: commit.PlanStale, wantStatus: bulk.StatusFailed, wantFailure: "stale",
		},
		{
			name: "balance below the renewals",
			body: body,
			before: func(t *testing.T, f *fixture) {
				must(t, f.store.PutTenant(context.Background(), bulk.Tenant{ID: tenant, Credits: renewals - 1}))
			},
			want: commit.PlanRefused, wantStatus: bulk.StatusFailed, wantFailure: "credits",
		},
		{
			name: "nothing to update",
			body: unchanged,
			want: commit.PlanEmpty, wantStatus: bulk.StatusCommitting,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := committing(t, 100, tt.body)
			if tt.before != nil {
				tt.before(t, f)
			}
			creditsBefore := f.credits(t)
			plan, err := f.svc.Plan(context.Background(), tenant, uploadID)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if plan.Status != tt.want || plan.BatchCount != 0 {
				t.Fatalf("plan = %+v, want %s with no batches", plan, tt.want)
			}
			if keys := f.objects.Keys(manifests); len(keys) != 0 {
				t.Errorf("manifests written: %v", keys)
			}
			if got := f.credits(t); got != creditsBefore {
				t.Errorf("credits = %d, want %d untouched", got, creditsBefore)
			}
			u := f.upload(t)
			if u.Status != tt.wantStatus || !strings.Contains(u.Failure, tt.wantFailure) {
				t.Fatalf("upload = %s (%q), want %s mentioning %q", u.Status, u.Failure, tt.wantStatus, tt.wantFailure)
			}
			events := f.events.since(f.validated)
			if tt.wantStatus == bulk.StatusFailed && !slices.Equal(events, []string{"BulkUpdate Failed"}) {
				t.Errorf("events = %v, want one BulkUpdate Failed", events)
			}
			if tt.wantStatus != bulk.StatusFailed && len(events) != 0 {
				t.Errorf("events = %v, want none before Finish", events)
			}
		})
	}
}

func TestApplyTwiceChargesOnce(t *testing.T) {
	body, _ := sheetOf(t, 7)
	f := committing(t, 100, body)
	ctx := context.Background()
	plan, err := f.svc.Plan(ctx, tenant, uploadID)
	must(t, err)
	if plan.BatchCount != 1 {
		t.Fatalf("plan = %+v, want one batch", plan)
	}
	first, err := f.svc.Apply(ctx, tenant, uploadID, 0)
	must(t, err)
	second, err := f.svc.Apply(ctx, tenant, uploadID, 0)
	must(t, err)

	renewals := 0
	for _, r := range f.updateRows(t) {
		if r.Renewal {
			renewals++
		}
	}
	if first.Applied != 7 || first.Credits != renewals || first.Outcome != store.BatchApplied {
		t.Fatalf("first apply = %+v, want 7 applied, %d credits", first, renewals)
	}
	if second != first {
		t.Errorf("second apply = %+v, want what the first did: %+v", second, first)
	}
	if got := f.credits(t); got != 100-renewals {
		t.Errorf("credits = %d, want %d (charged once)", got, 100-renewals)
	}
	c, err := f.store.GetCredential(ctx, tenant, "c-0001")
	must(t, err)
	if c.Version != 2 || c.Grade != "A" {
		t.Errorf("c-0001 = version %d grade %s, want version 2 grade A", c.Version, c.Grade)
	}
}

func TestFinish(t *testing.T) {
	tests := []struct {
		name          string
		extra         [][]string
		afterPlan     func(t *testing.T, f *fixture)
		wantStatus    string
		wantSkipped   int
		wantConflicts int
	}{
		{name: "every row applied", wantStatus: bulk.StatusCompleted},
		{
			name:        "report errors are skipped",
			extra:       [][]string{{"nobody@example.org", "A", "2028-01-01"}},
			wantStatus:  bulk.StatusCompletedWithErrors,
			wantSkipped: 1,
		},
		{
			name: "credential changed after planning",
			afterPlan: func(t *testing.T, f *fixture) {
				bump(t, f.store, "c-0002", func(c *bulk.Credential) { c.Description = "edited by an admin" })
			},
			wantStatus:    bulk.StatusCompletedWithErrors,
			wantConflicts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, renewals := sheetOf(t, 10, tt.extra...)
			f := committing(t, 100, body)
			ctx := context.Background()
			updates := len(f.updateRows(t))
			plan, err := f.svc.Plan(ctx, tenant, uploadID)
			must(t, err)
			if tt.afterPlan != nil {
				tt.afterPlan(t, f)
			}
			for _, n := range plan.Batches {
				_, err := f.svc.Apply(ctx, tenant, uploadID, n)
				must(t, err)
			}
			out, err := f.svc.Finish(ctx, tenant, uploadID)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if out.Status != tt.wantStatus {
				t.Fatalf("Finish = %s, want %s", out.Status, tt.wantStatus)
			}
			u := f.upload(t)
			want := bulk.Results{Updated: updates - tt.wantConflicts, Conflicts: tt.wantConflicts, Skipped: tt.wantSkipped,
				CreditsCharged: renewals, Batches: plan.BatchCount}
			if u.Status != tt.wantStatus || u.Results == nil || *u.Results != want {
				t.Fatalf("upload = %s, results %+v; want %s, %+v", u.Status, u.Results, tt.wantStatus, want)
			}
			if got := f.credits(t); got != 100-renewals {
				t.Errorf("credits = %d, want %d", got, 100-renewals)
			}
			events := f.events.since(f.validated)
			if !slices.Equal(events, []string{"BulkUpdate Committed"}) {
				t.Fatalf("events = %v, want one BulkUpdate Committed", events)
			}
			if d := f.events.detail(-1); d.CreditsCharged != renewals || d.Status != tt.wantStatus {
				t.Errorf("event detail = %+v", d)
			}

			again, err := f.svc.Finish(ctx, tenant, uploadID)
			if err != nil || again.Status != tt.wantStatus {
				t.Errorf("second Finish = %+v, %v; want %s", again, err, tt.wantStatus)
			}
			if events := f.events.since(f.validated); len(events) != 1 {
				t.Errorf("second Finish published again: %v", events)
			}
		})
	}
}

func TestFailKeepsAppliedBatches(t *testing.T) {
	body, _ := sheetOf(t, 20)
	f := committing(t, 100, body)
	ctx := context.Background()
	plan, err := f.svc.Plan(ctx, tenant, uploadID)
	must(t, err)
	if plan.BatchCount < 2 {
		t.Fatalf("plan = %+v, want several batches", plan)
	}
	applied, err := f.svc.Apply(ctx, tenant, uploadID, 0)
	must(t, err)

	out, err := f.svc.Handle(ctx, commit.Input{Action: "fail", Tenant: tenant, Upload: uploadID,
		Error: &commit.TaskError{Error: "States.Timeout", Cause: "batch 1 timed out"}})
	if err != nil {
		t.Fatalf("Fail: %v", err)
	}
	if out.(commit.FinishOutput).Status != bulk.StatusFailed {
		t.Fatalf("Fail = %+v, want failed", out)
	}
	u := f.upload(t)
	want := bulk.Results{Updated: applied.Applied, CreditsCharged: applied.Credits, Batches: plan.BatchCount}
	if u.Status != bulk.StatusFailed || u.Results == nil || *u.Results != want {
		t.Fatalf("upload = %s, results %+v; want failed, %+v", u.Status, u.Results, want)
	}
	if !strings.Contains(u.Failure, "States.Timeout") {
		t.Errorf("failure = %q, want the step's error", u.Failure)
	}
	if events := f.events.since(f.validated); !slices.Equal(events, []string{"BulkUpdate Failed"}) {
		t.Errorf("events = %v, want one BulkUpdate Failed", events)
	}
	if got := f.credits(t); got != 100-applied.Credits {
		t.Errorf("credits = %d, want %d", got, 100-applied.Credits)
	}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		wantErr bool
	}{
		{"plan", "plan", false},
		{"unknown action", "rollback", true},
		{"empty action", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := sheetOf(t, 3)
			f := committing(t, 100, body)
			out, err := f.svc.Handle(context.Background(), commit.Input{Action: tt.action, Tenant: tenant, Upload: uploadID})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Handle(%q) err = %v, want error: %v", tt.action, err, tt.wantErr)
			}
			if tt.wantErr {
				if keys := f.objects.Keys(manifests); len(keys) != 0 {
					t.Errorf("manifests written: %v", keys)
				}
				return
			}
			if p, ok := out.(commit.PlanOutput); !ok || p.Status != commit.PlanReady {
				t.Errorf("Handle(plan) = %+v, want a ready plan", out)
			}
		})
	}
}
