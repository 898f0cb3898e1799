package validation_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/eventbus"
	"github.com/credup/credup/internal/objects"
	"github.com/credup/credup/internal/store/inmem"
	"github.com/credup/credup/internal/validation"
)

// bucket is an in-memory bucket with a put that cannot fail.
type bucket struct{ objects.Memory }

func (b *bucket) put(key string, body []byte) {
	_ = b.Put(context.Background(), key, body)
}

// publisher records events; types and detail read them as the service
// publishes them.
type publisher struct{ eventbus.Recorder }

func (p *publisher) types() []string {
	var out []string
	for _, e := range p.Events() {
		out = append(out, e.DetailType)
	}
	return out
}

// detail is the detail of the i-th event.
func (p *publisher) detail(i int) validation.EventDetail {
	d, _ := p.Events()[i].Detail.(validation.EventDetail)
	return d
}

// starter records commit starts; err, while set, makes them fail.
type starter struct {
	mu    sync.Mutex
	err   error
	calls []string
}

func (s *starter) StartCommit(_ context.Context, tenant, upload string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, tenant+"/"+upload)
	if s.err != nil {
		return "", s.err
	}
	return "exec-" + upload, nil
}

var errStart = errors.New("step functions unavailable")

// now is the fixed clock of these tests: demo credentials expiring in 2025
// are expired, those expiring in 2027 are not.
var now = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

type fixture struct {
	store   *inmem.Store
	objects *bucket
	events  *publisher
	starts  *starter
	svc     *validation.Service
}

// newFixture seeds the demo tenant, group (with the given drop policy) and
// credentials.
func newFixture(t *testing.T, credits int, dropPolicy string) *fixture {
	t.Helper()
	ctx := context.Background()
	st := inmem.New()
	if err := st.PutTenant(ctx, bulk.Tenant{ID: demo.Tenant, Name: "Demo", Credits: credits}); err != nil {
		t.Fatal(err)
	}
	g := demo.Group()
	g.DropPolicy = dropPolicy
	if err := st.PutGroup(ctx, demo.Tenant, g); err != nil {
		t.Fatal(err)
	}
	if err := st.PutCredentials(ctx, demo.Tenant, demo.Seed()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, objects: &bucket{}, events: &publisher{}, starts: &starter{}}
	f.svc = &validation.Service{Store: st, Objects: f.objects, Events: f.events, Commits: f.starts,
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	return f
}

// awaiting creates an API upload waiting for its file.
func (f *fixture) awaiting(t *testing.T, id string) {
	t.Helper()
	err := f.store.CreateUpload(context.Background(), bulk.Upload{Tenant: demo.Tenant, ID: id, GroupID: demo.GroupID,
		Status: bulk.StatusAwaitingUpload, Source: "api", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) upload(t *testing.T, id string) bulk.Upload {
	t.Helper()
	u, err := f.store.GetUpload(context.Background(), demo.Tenant, id)
	if err != nil {
		t.Fatalf("get upload %s: %v", id, err)
	}
	return u
}

func (f *fixture) rows(t *testing.T, id string, version int) []bulk.Row {
	t.Helper()
	rows, _, err := f.store.ListReportRows(context.Background(), demo.Tenant, id, version, "", "", 1000)
	if err != nil {
		t.Fatalf("list rows of %s v%d: %v", id, version, err)
	}
	return rows
}

// csvOf joins lines into a CSV file.
func csvOf(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// cleanCSV updates c-0001's grade and renews the expired c-0003: two
// updates, one renewal, nothing to confirm.
var cleanCSV = csvOf(
	"Recipient Email,Grade,Expires On",
	"learner001@example.org,A,2027-02-02",
	"learner003@example.org,Pass,2028-04-04",
)

// s3Event is an S3 notification for one object, key URL-encoded as S3 sends it.
func s3Event(eventName, encodedKey, etag string) []byte {
	return []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"` + eventName +
		`","s3":{"bucket":{"name":"credup-uploads"},"object":{"key":"` + encodedKey + `","size":100,"eTag":"` + etag + `"}}}]}`)
}
