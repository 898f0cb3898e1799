package commit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"testing"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/commit"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/eventbus"
	"github.com/credup/credup/internal/objects"
	"github.com/credup/credup/internal/store"
	"github.com/credup/credup/internal/store/inmem"
	"github.com/credup/credup/internal/validation"
)

// publisher records events; detail and since read them as the services
// publish them.
type publisher struct{ eventbus.Recorder }

// detail is the detail of the i-th event (negative: from the end).
func (p *publisher) detail(i int) validation.EventDetail {
	events := p.Events()
	if i < 0 {
		i += len(events)
	}
	d, _ := events[i].Detail.(validation.EventDetail)
	return d
}

// since returns the detail types published after the first n events.
func (p *publisher) since(n int) []string {
	var out []string
	for _, e := range p.Events()[n:] {
		out = append(out, e.DetailType)
	}
	return out
}

var now = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

const (
	tenant    = demo.Tenant
	uploadID  = "u1"
	uploadKey = "tenants/demo-academy/uploads/u1/renewals.csv"
	manifests = "tenants/demo-academy/manifests/u1/"
)

type fixture struct {
	store   *inmem.Store
	objects *objects.Memory
	events  *publisher
	svc     *commit.Service
	// validated is how many events validation published before the commit.
	validated int
}

// committing seeds the demo data, validates body as upload u1 and confirms
// its report, as the API does when the user commits.
func committing(t *testing.T, credits int, body []byte) *fixture {
	t.Helper()
	ctx := context.Background()
	st := inmem.New()
	must(t, st.PutTenant(ctx, bulk.Tenant{ID: tenant, Name: "Demo", Credits: credits}))
	must(t, st.PutGroup(ctx, tenant, demo.Group()))
	must(t, st.PutCredentials(ctx, tenant, demo.Seed()))
	must(t, st.CreateUpload(ctx, bulk.Upload{Tenant: tenant, ID: uploadID, GroupID: demo.GroupID,
		Status: bulk.StatusAwaitingUpload, Source: "api", CreatedAt: now, UpdatedAt: now}))
	f := &fixture{store: st, objects: &objects.Memory{}, events: &publisher{}}
	must(t, f.objects.Put(ctx, uploadKey, body))
	quiet := slog.New(slog.DiscardHandler)
	clock := func() time.Time { return now }
	v := &validation.Service{Store: st, Objects: f.objects, Events: f.events, Log: quiet, Now: clock}
	must(t, v.Object(ctx, uploadKey, "etag-1"))
	_, err := st.UpdateUpload(ctx, tenant, uploadID, func(u *bulk.Upload) error {
		if u.Status != bulk.StatusReadyForReview {
			t.Fatalf("validation left the upload %s (%s)", u.Status, u.Failure)
		}
		u.ConfirmedVersion, u.Status = u.ReportVersion, bulk.StatusCommitting
		return nil
	})
	must(t, err)
	f.validated = len(f.events.Events())
	f.svc = &commit.Service{Store: st, Objects: f.objects, Events: f.events, Log: quiet, Now: clock, BatchSize: 7}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) upload(t *testing.T) bulk.Upload {
	t.Helper()
	u, err := f.store.GetUpload(context.Background(), tenant, uploadID)
	must(t, err)
	return u
}

func (f *fixture) credits(t *testing.T) int {
	t.Helper()
	tn, err := f.store.GetTenant(context.Background(), tenant)
	must(t, err)
	return tn.Credits
}

// updateRows are the rows of the confirmed report that update a credential.
func (f *fixture) updateRows(t *testing.T) []bulk.Row {
	t.Helper()
	u := f.upload(t)
	rows, _, err := f.store.ListReportRows(context.Background(), tenant, uploadID, u.ReportVersion, bulk.OutcomeUpdate, "", 1000)
	must(t, err)
	return rows
}

// sheetOf is a CSV of the first n demo credentials, each with its grade
// changed and, every third (the expired ones), renewed to 2028; extra rows
// are appended as they are.
func sheetOf(t *testing.T, n int, extra ...[]string) (body []byte, renewals int) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	must(t, w.Write([]string{"Recipient Email", "Grade", "Expires On"}))
	for _, c := range demo.Seed()[:n] {
		grade, exp := "A", c.ExpiresOn
		if c.Grade == "A" {
			grade = "B"
		}
		if c.ExpiresOn != "" && c.ExpiresOn < "2026-01-15" {
			exp, renewals = "2028-06-30", renewals+1
		}
		must(t, w.Write([]string{c.Recipient.Email, grade, exp}))
	}
	for _, r := range extra {
		must(t, w.Write(r))
	}
	w.Flush()
	must(t, w.Error())
	return b.Bytes(), renewals
}

// bump changes a credential behind the commit's back.
func bump(t *testing.T, st store.Store, id string, change func(*bulk.Credential)) {
	t.Helper()
	ctx := context.Background()
	c, err := st.GetCredential(ctx, tenant, id)
	must(t, err)
	change(&c)
	c.Version++
	must(t, st.PutCredentials(ctx, tenant, []bulk.Credential{c}))
}
