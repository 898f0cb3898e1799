package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/httpapi"
	"github.com/credup/credup/internal/store"
	"github.com/credup/credup/internal/store/inmem"
)

// The world every test starts from: tenant t1 owns group g-ux with three
// credentials; tenant t2 owns group g-other.
const (
	tenant1 = "t1"
	tenant2 = "t2"
	groupUX = "g-ux"
)

var testNow = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// fakePresigner presigns into a fake bucket URL.
type fakePresigner struct {
	mu   sync.Mutex
	keys []string
	ttls []time.Duration
	err  error
}

func (p *fakePresigner) PresignPut(_ context.Context, key string, ttl time.Duration) (httpapi.PresignedUpload, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return httpapi.PresignedUpload{}, p.err
	}
	p.keys = append(p.keys, key)
	p.ttls = append(p.ttls, ttl)
	return httpapi.PresignedUpload{
		Method:    http.MethodPut,
		URL:       "https://bucket.example/" + key + "?X-Amz-Signature=sig",
		Headers:   map[string]string{},
		ExpiresAt: testNow.Add(ttl),
	}, nil
}

// fakeStarter behaves like Step Functions for named executions: a name is
// started once, and starting it again is accepted without a new execution.
type fakeStarter struct {
	mu       sync.Mutex
	calls    int
	started  map[string]string // execution name → input tenant
	failNext error
}

func (s *fakeStarter) StartCommit(_ context.Context, tenant, upload string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.failNext; err != nil {
		s.failNext = nil
		return "", err
	}
	if s.started == nil {
		s.started = map[string]string{}
	}
	s.started[upload] = tenant
	return "arn:aws:states:us-east-1:000000000000:execution:commit:" + upload, nil
}

func (s *fakeStarter) executions() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.started {
		out[k] = v
	}
	return out
}

// fakeRevalidator records re-validation requests.
type fakeRevalidator struct {
	mu    sync.Mutex
	calls []string // tenant/upload
	err   error
}

func (v *fakeRevalidator) Revalidate(_ context.Context, tenant, upload string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err != nil {
		return v.err
	}
	v.calls = append(v.calls, tenant+"/"+upload)
	return nil
}

type fixture struct {
	store       *inmem.Store
	presigner   *fakePresigner
	starter     *fakeStarter
	revalidator *fakeRevalidator
	logs        *bytes.Buffer
	handler     http.Handler
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		store:       inmem.New(),
		presigner:   &fakePresigner{},
		starter:     &fakeStarter{},
		revalidator: &fakeRevalidator{},
		logs:        &bytes.Buffer{},
	}
	f.handler = f.build(f.store)
	ctx := context.Background()
	must(t, f.store.PutTenant(ctx, bulk.Tenant{ID: tenant1, Name: "Acme Academy", Credits: 5}))
	must(t, f.store.PutTenant(ctx, bulk.Tenant{ID: tenant2, Name: "Other", Credits: 100}))
	must(t, f.store.PutGroup(ctx, tenant1, bulk.Group{
		ID: groupUX, Name: "UX Foundations",
		Attributes: []bulk.Attribute{
			{Key: "course_hours", Label: "Course Hours", Kind: bulk.KindNumber},
			{Key: "student_no", Label: "Student No", Kind: bulk.KindText},
		},
	}))
	must(t, f.store.PutGroup(ctx, tenant2, bulk.Group{ID: "g-other", Name: "Other"}))
	must(t, f.store.PutCredentials(ctx, tenant1, []bulk.Credential{
		{ID: "c-1", GroupID: groupUX, Version: 1, Recipient: bulk.Recipient{ID: "S-1", Name: "Ana Souza", Email: "ana@example.com"},
			IssuedOn: "2024-01-15", ExpiresOn: "2025-01-15", Custom: map[string]string{"course_hours": "40"}},
		{ID: "c-2", GroupID: groupUX, Version: 1, Recipient: bulk.Recipient{ID: "S-2", Name: "Bo Li", Email: "bo@example.com"},
			IssuedOn: "2024-01-15", Custom: map[string]string{"course_hours": "=1+1"}},
		{ID: "c-3", GroupID: groupUX, Version: 4, Recipient: bulk.Recipient{ID: "S-3", Name: "Cy Doe", Email: "cy@example.com"},
			IssuedOn: "2023-05-01", ExpiresOn: "2024-05-01"},
	}))
	return f
}

func (f *fixture) build(s store.Store) http.Handler {
	return httpapi.New(httpapi.Options{
		Store:        s,
		Presigner:    f.presigner,
		Starter:      f.starter,
		Revalidator:  f.revalidator,
		UploadURLTTL: 10 * time.Minute,
		Logger:       slog.New(slog.NewJSONHandler(f.logs, nil)),
		Now:          func() time.Time { return testNow },
	})
}

// response is what a client gets back.
type response struct {
	*httptest.ResponseRecorder
}

// decode reads the JSON body into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %s: %v", r.Body.String(), err)
	}
}

// problem is the problem details document of an error response.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"requestId"`
	Errors    []struct {
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	} `json:"errors"`
}

// wantProblem checks the response is a problem with this status and code.
func (r response) wantProblem(t testing.TB, status int, code string) problem {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status = %d, want %d; body %s", r.Code, status, r.Body.String())
	}
	if ct := r.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem
	r.decode(t, &p)
	if p.Code != code || p.Status != status || p.Title != http.StatusText(status) || p.Type == "" {
		t.Errorf("problem = %+v, want code %s status %d", p, code, status)
	}
	return p
}

// wantStatus checks the status of a successful response.
func (r response) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status = %d, want %d; body %s", r.Code, status, r.Body.String())
	}
}

// do sends a request as API Gateway would hand it to the function: the
// tenant claim (none when tenant is "") in the authorizer context.
func (f *fixture) do(t testing.TB, tenant, method, target string, body any) response {
	t.Helper()
	return f.doClaims(t, claimsOf(tenant), method, target, body)
}

func claimsOf(tenant string) map[string]string {
	if tenant == "" {
		return nil
	}
	return map[string]string{"tenant": tenant, "sub": "user-1"}
}

func (f *fixture) doClaims(t testing.TB, claims map[string]string, method, target string, body any) response {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        u.EscapedPath(),
		RawQueryString: u.RawQuery,
		Headers:        map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-123",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: u.Path},
		},
	}
	switch b := body.(type) {
	case nil:
	case string:
		ev.Body = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		ev.Body = string(raw)
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	req, err := new(core.RequestAccessorV2).EventToRequestWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return response{rec}
}

// seedUpload stores an upload of tenant1, ready for review with a report
// of the given rows (summed into its summary), changed by mod first.
func (f *fixture) seedUpload(t testing.TB, id string, mod func(*bulk.Upload), rows ...bulk.Row) bulk.Upload {
	t.Helper()
	u := bulk.Upload{
		Tenant: tenant1, ID: id, GroupID: groupUX, Status: bulk.StatusReadyForReview, Source: "api",
		FileName: "ux.xlsx", ObjectKey: "tenants/t1/uploads/" + id + "/ux.xlsx", ETag: "etag-1",
		CreatedAt: testNow.Add(-time.Hour), UpdatedAt: testNow.Add(-time.Hour),
		ReportVersion: 1, ReportFingerprint: "fp-1", Execution: "",
		Report: &bulk.Report{
			Format: "xlsx", Sheet: "Sheet1", HeaderRow: 1, DataRows: len(rows),
			MatchBy: bulk.AttrEmail, DateFormat: "DD/MM/YYYY",
			DateFormatCandidates: []string{"DD/MM/YYYY", "MM/DD/YYYY"},
			Columns: []bulk.Column{
				{Index: 0, Header: "E-mail", Attribute: bulk.AttrEmail, How: bulk.HowSynonym, Confidence: 0.95},
				{Index: 1, Header: "Expiry", Attribute: bulk.AttrExpiresOn, How: bulk.HowFuzzy, Confidence: 0.8},
				{Index: 2, Header: "Hours", Attribute: "custom.course_hours", How: bulk.HowFuzzy, Confidence: 0.7},
				{Index: 3, Header: "", Attribute: bulk.Skip, How: bulk.HowSkip},
				{Index: 4, Header: "Notes", Attribute: bulk.Skip, How: bulk.HowSkip},
			},
		},
	}
	for i := range rows {
		u.Report.Summary.Add(&rows[i])
	}
	if mod != nil {
		mod(&u)
	}
	ctx := context.Background()
	must(t, f.store.CreateUpload(ctx, u))
	if len(rows) > 0 {
		must(t, f.store.PutReportRows(ctx, tenant1, id, u.ReportVersion, rows))
	}
	return u
}

func (f *fixture) upload(t testing.TB, tenant, id string) bulk.Upload {
	t.Helper()
	u, err := f.store.GetUpload(context.Background(), tenant, id)
	must(t, err)
	return u
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Rows of a typical report: an update, an unchanged row, an error and an
// update with a warning that renews an expired credential.
func sampleRows() []bulk.Row {
	return []bulk.Row{
		{Row: 2, CredentialID: "c-1", Outcome: bulk.OutcomeUpdate,
			Changes: []bulk.Change{{Field: "custom.course_hours", From: "40", To: "42"}}},
		{Row: 3, CredentialID: "c-2", Outcome: bulk.OutcomeUnchanged},
		{Row: 4, Outcome: bulk.OutcomeError,
			Errors: []bulk.Issue{{Code: bulk.ErrNoMatch, Column: "E-mail", Message: "no credential in this group has this email"}}},
		{Row: 5, CredentialID: "c-3", Outcome: bulk.OutcomeUpdate, Renewal: true,
			Changes:  []bulk.Change{{Field: "expires_on", From: "2024-05-01", To: "2027-05-01"}},
			Warnings: []bulk.Issue{{Code: bulk.WarnClearsValue, Column: "Hours", Message: "a blank cell clears the stored value"}}},
	}
}

// failingStore fails GetUpload with an internal error that must not leak.
type failingStore struct {
	store.Store
}

func (failingStore) GetUpload(context.Context, string, string) (bulk.Upload, error) {
	return bulk.Upload{}, errors.New("dynamodb: connection reset by peer at 10.0.0.7 (secret-table)")
}

// hasKey reports whether the JSON object has the key at its top level.
func hasKey(t testing.TB, body []byte, key string) bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	_, ok := m[key]
	return ok
}
