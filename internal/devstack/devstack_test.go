package devstack

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credup/credup/internal/apiclient"
	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
)

func TestDemoFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{TemplatePath: "../../template.yaml", StackName: "flow", Logs: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Seed(ctx, bulk.Tenant{ID: demo.Tenant, Credits: demo.Credits}, []bulk.Group{demo.Group(), demo.OtherGroup()}, demo.Seed()); err != nil {
		t.Fatal(err)
	}
	tok, _ := s.Token(demo.Tenant)
	c := &apiclient.Client{BaseURL: s.APIURL, Token: tok}
	file, err := os.ReadFile(filepath.Join("..", "..", demo.SheetPath))
	if err != nil {
		t.Fatal(err)
	}
	cr, err := c.CreateUpload(ctx, demo.GroupID, "renewals.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendFile(ctx, cr, file); err != nil {
		t.Fatal(err)
	}
	u, err := c.Wait(ctx, cr.ID, bulk.StatusNeedsMapping, bulk.StatusReadyForReview, bulk.StatusFailed)
	t.Logf("upload %+v err %v", u, err)
	if u.Report != nil {
		t.Logf("summary %+v", u.Report.Summary)
	}
	u, err = c.SetMapping(ctx, cr.ID, demo.Mapping())
	t.Logf("mapping: %v", err)
	u, err = c.Wait(ctx, cr.ID, bulk.StatusNeedsMapping, bulk.StatusReadyForReview, bulk.StatusFailed)
	t.Logf("upload %s v%d err %v", u.Status, u.ReportVersion, err)
	u, err = c.Confirm(ctx, cr.ID, u.ReportVersion)
	t.Logf("confirm: %v", err)
	u, err = c.Commit(ctx, cr.ID)
	t.Logf("commit: %v", err)
	u, err = c.Wait(ctx, cr.ID, bulk.StatusCompleted, bulk.StatusCompletedWithErrors, bulk.StatusFailed)
	t.Logf("final %s %+v %s err %v", u.Status, u.Results, u.Failure, err)
}
