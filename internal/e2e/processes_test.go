package e2e

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/devstack"
)

// TestProcessesMode runs each function as its own process, built from
// functions/<name> as Lambda runs it, and walks an upload from the
// presigned PUT to the commit over plain HTTP and the S3 SDK.
//
// It does not run in parallel: it builds the functions (slow on a small
// machine the first time), and while its emulator runs, kumo's own
// cross-service calls of every stack in the process go through it.
func TestProcessesMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the three functions; skipped with -short")
	}
	ctx := timeout(t, 5*time.Minute)
	var logs syncBuffer
	s, err := start(ctx, devstack.Options{TemplatePath: templatePath, StackName: "e2e-proc", Processes: true, Logs: &logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stack.Err(); err != nil {
			t.Errorf("a function process stopped: %v", err)
		}
		s.close()
		if t.Failed() {
			t.Logf("function logs:\n%s", logs.String())
		}
	})

	tn := demoTenant(t, s, "proc", demo.Credits)
	balance := tn.credits(ctx, t)
	u := tn.readyDemoUpload(ctx, t)
	if u.ReportVersion != 2 || u.ConfirmedVersion != 2 {
		t.Fatalf("upload %+v: want report 2 confirmed", u)
	}
	if _, err := tn.api.Commit(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	done := tn.wait(ctx, t, u.ID, bulk.StatusCompletedWithErrors)

	sum := u.Report.Summary
	want := bulk.Results{Updated: sum.Update, Skipped: sum.Error, CreditsCharged: sum.CreditsRequired, Batches: s.manifests(ctx, t, tn.id, u.ID)}
	if done.Results == nil || *done.Results != want || want.Batches == 0 {
		t.Errorf("totals %+v, want %+v", done.Results, want)
	}
	if got := tn.credits(ctx, t); got != balance-sum.CreditsRequired {
		t.Errorf("balance %d, want %d - %d", got, balance, sum.CreditsRequired)
	}
	updatedOnce(ctx, t, tn, u.ID, sum.Update)

	// The file the browser sent through the presigned URL is the demo sheet.
	stored, err := tn.s.store.GetUpload(ctx, tn.id, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.stack.BucketName), Key: aws.String(stored.ObjectKey)})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, err = body.ReadFrom(obj.Body)
	obj.Body.Close()
	if err != nil || !bytes.Equal(body.Bytes(), demoSheet(t)) {
		t.Errorf("the stored file (%d bytes, %v) is not the uploaded sheet", body.Len(), err)
	}

	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := checkTenantKeys(checkCtx, s.db, s.stack.TableName, 1); err != nil {
		t.Error(err)
	}
}

// syncBuffer collects the logs of several processes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
