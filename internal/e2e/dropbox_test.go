package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/devstack"
	"github.com/credup/credup/internal/objectkey"
)

// TestDropToBucket drops files into the bucket with the S3 SDK, as a
// partner's tool does, with no API call: each becomes an upload, and what
// happens next is the group's drop policy.
func TestDropToBucket(t *testing.T) {
	t.Parallel()
	s := shared
	auto := demo.Group()
	auto.ID, auto.Name, auto.DropPolicy = "g-auto", "Auto renewals", bulk.DropCommitIfClean
	var autoCreds []bulk.Credential
	for i, c := range demo.Seed()[:30] {
		c.ID, c.GroupID = fmt.Sprintf("a-%04d", i+1), auto.ID
		c.Recipient.ID, c.Recipient.Email = fmt.Sprintf("A-%05d", i+1), fmt.Sprintf("auto%03d@example.org", i+1)
		autoCreds = append(autoCreds, c)
	}
	tn := newTenant(t, s, "drop", demo.Credits, []bulk.Group{demo.Group(), auto}, append(demo.Seed(), autoCreds...))

	tests := []struct {
		name   string
		group  string
		file   string
		creds  []bulk.Credential
		extra  [][]string // rows no credential matches
		status string
	}{
		{name: "a review group waits for a person", group: demo.GroupID, file: "weekly update.csv",
			creds: tn.seed[:30], status: bulk.StatusReadyForReview},
		{name: "a commit_if_clean group commits a clean file on its own", group: auto.ID, file: "weekly update.csv",
			creds: autoCreds[:15], status: bulk.StatusCompleted},
		{name: "a commit_if_clean group waits when the file has errors", group: auto.ID, file: "with errors.csv",
			creds: autoCreds[15:], extra: [][]string{{"nobody@example.org", "2030-01-01", "48"}}, status: bulk.StatusReadyForReview},
	}
	t.Run("drops", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				drop(t, s, tn, tt.group, tt.file, tt.creds, tt.extra, tt.status)
			})
		}
	})

	// Only the clean file of the commit_if_clean group may cost credits:
	// one per expired credential it renewed.
	charged := 0
	for _, c := range autoCreds[:15] {
		if c.ExpiresOn != "" && c.ExpiresOn < time.Now().UTC().Format(time.DateOnly) {
			charged++
		}
	}
	if got := tn.credits(timeout(t, 30*time.Second), t); got != demo.Credits-charged {
		t.Errorf("balance %d after the drops, want %d - %d renewals", got, demo.Credits, charged)
	}
}

// drop puts a file of clean rows for creds (and extra rows) into the
// group's dropbox and checks the upload it becomes ends in status.
func drop(t *testing.T, s *suite, tn *tenant, group, file string, creds []bulk.Credential, extra [][]string, status string) {
	ctx := timeout(t, time.Minute)
	key := objectkey.DropboxPrefix(tn.id, group) + file
	rows := cleanRows(creds)
	s.put(ctx, t, key, csvFile(t, cleanHeader, append(rows, extra...)))

	found := s.awaitUpload(ctx, t, tn.id, key)
	u := tn.wait(ctx, t, found.ID, status)
	if u.Source != "dropbox" || u.GroupID != group || u.FileName != file {
		t.Errorf("upload from %s of group %s named %q, want dropbox, %s, %q", u.Source, u.GroupID, u.FileName, group, file)
	}
	sum := u.Report.Summary
	if sum.Update != len(creds) || sum.Error != len(extra) || sum.Warning != 0 {
		t.Errorf("summary %+v, want %d updates, %d errors, no warnings", sum, len(creds), len(extra))
	}
	// Subscribers learn of the upload from its Validated event.
	s.events.wait(ctx, t, tn.id, found.ID, "BulkUpdate Validated", func(e busEvent) bool {
		return e.DetailType == "BulkUpdate Validated" && e.Detail.Group == group
	})

	s.settle(ctx, t)
	after, err := tn.api.Upload(ctx, found.ID)
	if err != nil || after.Status != status {
		t.Fatalf("once validation settled the upload is %s (%v), want %s", after.Status, err, status)
	}
	for i, c := range creds {
		want := tn.seeded(t, c.ID)
		if status == bulk.StatusCompleted {
			want = applied(want, []bulk.Change{{Field: "custom.course_hours", To: "48"}})
			if exp := rows[i][1]; exp != "" {
				want.ExpiresOn = exp
			}
		}
		if got := tn.credential(ctx, t, c.ID); !sameCredential(got, want) {
			t.Errorf("credential %s is\n %+v\nwant\n %+v", c.ID, got, want)
		}
	}
	if status == bulk.StatusCompleted {
		if after.Results == nil || after.Results.Updated != len(creds) || after.Results.CreditsCharged != sum.CreditsRequired || sum.CreditsRequired == 0 {
			t.Errorf("totals %+v, want %d updated for %d credits", after.Results, len(creds), sum.CreditsRequired)
		}
		s.events.wait(ctx, t, tn.id, found.ID, "BulkUpdate Committed", func(e busEvent) bool {
			return e.DetailType == "BulkUpdate Committed" && e.Detail.Status == bulk.StatusCompleted
		})
	}
}

// TestDropCommitThatCannotStart drops a clean file into a commit_if_clean
// group while its commit cannot start (the state machine is gone), then
// brings the state machine back: the file must not be left committing
// with nothing running, and the user's commit must then go through.
//
// It breaks a stack of its own, and does not run in parallel: while its
// emulator runs, kumo's cross-service calls of every stack go through it.
func TestDropCommitThatCannotStart(t *testing.T) {
	ctx := timeout(t, time.Minute)
	var logs syncBuffer
	bs, err := start(ctx, devstack.Options{TemplatePath: templatePath, StackName: "e2e-break", Logs: &logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bs.close()
		if t.Failed() {
			t.Logf("function logs:\n%s", logs.String())
		}
	})
	auto := demo.Group()
	auto.ID, auto.DropPolicy = "g-auto", bulk.DropCommitIfClean
	creds := demo.Seed()[:10]
	for i := range creds {
		creds[i].GroupID = auto.ID
	}
	tn := newTenant(t, bs, "unstarted", demo.Credits, []bulk.Group{auto}, creds)

	sm, err := bs.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(bs.stack.StateMachineArn)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bs.sfn.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: sm.StateMachineArn}); err != nil {
		t.Fatal(err)
	}
	key := objectkey.DropboxPrefix(tn.id, auto.ID) + "clean.csv"
	bs.put(ctx, t, key, csvFile(t, cleanHeader, cleanRows(creds)))
	id := bs.awaitUpload(ctx, t, tn.id, key).ID
	u, err := tn.api.Wait(ctx, id, append([]string{bulk.StatusCommitting}, settled...)...)
	if err != nil {
		t.Fatal(err)
	}
	bs.settle(ctx, t)

	if _, err := bs.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: sm.Name, Definition: sm.Definition, RoleArn: sm.RoleArn, Type: sm.Type,
	}); err != nil {
		t.Fatal(err)
	}
	if u.Status == bulk.StatusCommitting || u.Status == bulk.StatusReadyForReview {
		// What a user does with an upload that shows committing and never
		// ends, or that waits for review.
		if _, err := tn.api.Commit(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	stuck, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	u, err = tn.api.Wait(stuck, id, final...)
	if err != nil || u.Status != bulk.StatusCompleted {
		t.Fatalf("the dropped file's upload is %s (%v), want completed once the state machine is back", u.Status, err)
	}
	if got, want := tn.credits(ctx, t), demo.Credits-u.Report.Summary.CreditsRequired; got != want {
		t.Errorf("balance %d, want %d", got, want)
	}
}
