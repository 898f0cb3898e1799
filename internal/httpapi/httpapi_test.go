package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/mapping"
	"github.com/credup/credup/internal/store"
)

// uploadRoutes are every route that names an upload, with a body that
// would be acceptable.
var uploadRoutes = []struct {
	method, path string
	body         any
}{
	{http.MethodGet, "/bulk-updates/%s", nil},
	{http.MethodGet, "/bulk-updates/%s/rows", nil},
	{http.MethodPut, "/bulk-updates/%s/mapping", map[string]any{"columns": map[string]string{"Notes": "skip"}}},
	{http.MethodPost, "/bulk-updates/%s/confirmations", map[string]any{"reportVersion": 1}},
	{http.MethodPost, "/bulk-updates/%s/commit", nil},
	{http.MethodGet, "/bulk-updates/%s/results", nil},
}

func TestUnauthenticatedRequestsAreRefused(t *testing.T) {
	f := newFixture(t)
	f.seedUpload(t, "u-1", nil, sampleRows()...)
	targets := []struct{ method, path string }{
		{http.MethodGet, "/groups/g-ux/template?format=csv"},
		{http.MethodPost, "/groups/g-ux/bulk-updates"},
		{http.MethodGet, "/no/such/route"},
	}
	for _, r := range uploadRoutes {
		targets = append(targets, struct{ method, path string }{r.method, fmt.Sprintf(r.path, "u-1")})
	}
	claims := map[string]map[string]string{
		"no authorizer context": nil,
		"no tenant claim":       {"sub": "user-1"},
		"empty tenant claim":    {"tenant": ""},
		"tenant with delimiter": {"tenant": "t1#x"},
		"tenant with slash":     {"tenant": "t1/../t2"},
	}
	for name, c := range claims {
		for _, target := range targets {
			t.Run(name+" "+target.method+" "+target.path, func(t *testing.T) {
				res := f.doClaims(t, c, target.method, target.path, `{"fileName":"a.csv","reportVersion":1}`)
				res.wantProblem(t, http.StatusUnauthorized, bulk.EUnauthorized)
			})
		}
	}
	if got := f.upload(t, tenant1, "u-1").Status; got != bulk.StatusReadyForReview {
		t.Errorf("status after refused requests = %s, want it untouched", got)
	}
	if len(f.starter.executions()) != 0 || len(f.revalidator.calls) != 0 {
		t.Errorf("refused requests started work: executions %v, revalidations %v", f.starter.executions(), f.revalidator.calls)
	}
}

func TestAnotherTenantsUploadIsNotFound(t *testing.T) {
	f := newFixture(t)
	f.seedUpload(t, "u-1", func(u *bulk.Upload) { u.Status = bulk.StatusCompleted; u.Results = &bulk.Results{Updated: 1} })
	f.seedUpload(t, "u-2", nil, sampleRows()...)
	for _, r := range uploadRoutes {
		for _, id := range []string{"u-1", "u-2"} {
			t.Run(r.method+" "+r.path+" "+id, func(t *testing.T) {
				theirs := f.do(t, tenant2, r.method, fmt.Sprintf(r.path, id), r.body).
					wantProblem(t, http.StatusNotFound, bulk.ENotFound)
				missing := f.do(t, tenant2, r.method, fmt.Sprintf(r.path, "u-never"), r.body).
					wantProblem(t, http.StatusNotFound, bulk.ENotFound)
				// The answer must not tell "exists elsewhere" from "does not exist".
				if theirs.Detail != strings.ReplaceAll(missing.Detail, "u-never", id) {
					t.Errorf("detail for another tenant's upload %q differs from a missing one %q", theirs.Detail, missing.Detail)
				}
			})
		}
	}
	for _, id := range []string{"u-1", "u-2"} {
		u := f.upload(t, tenant1, id)
		if u.ConfirmedVersion != 0 || (id == "u-2" && u.Status != bulk.StatusReadyForReview) {
			t.Errorf("upload %s changed by another tenant: %+v", id, u)
		}
	}
	if len(f.starter.executions()) != 0 || len(f.revalidator.calls) != 0 {
		t.Errorf("another tenant started work: executions %v, revalidations %v", f.starter.executions(), f.revalidator.calls)
	}
}

func TestAnotherTenantsGroupIsNotFound(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path string
		body               any
	}{
		{"template", http.MethodGet, "/groups/g-ux/template", nil},
		{"create upload", http.MethodPost, "/groups/g-ux/bulk-updates", map[string]string{"fileName": "a.csv"}},
		{"unknown group", http.MethodGet, "/groups/g-nope/template", nil},
		{"ID that cannot exist", http.MethodGet, "/groups/a%23b/template", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.do(t, tenant2, tt.method, tt.path, tt.body).wantProblem(t, http.StatusNotFound, bulk.ENotFound)
		})
	}
	if len(f.presigner.keys) != 0 {
		t.Errorf("presigned %v for a group the tenant does not have", f.presigner.keys)
	}
}

func TestUnknownRouteIsAProblem(t *testing.T) {
	f := newFixture(t)
	f.do(t, tenant1, http.MethodGet, "/bulk-updates", nil).wantProblem(t, http.StatusNotFound, bulk.ENotFound)
}

func TestTemplate(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		query       string
		contentType string
		filename    string
		rows        int // data rows after the header
	}{
		{"csv by default", "", "text/csv; charset=utf-8", "UX Foundations-template.csv", 0},
		{"csv prefilled", "?format=csv&prefill=true", "text/csv; charset=utf-8", "UX Foundations-template.csv", 3},
		{"xlsx empty", "?format=xlsx&prefill=false", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "UX Foundations-template.xlsx", 0},
		{"xlsx prefilled", "?format=xlsx&prefill=true", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "UX Foundations-template.xlsx", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(t, tenant1, http.MethodGet, "/groups/g-ux/template"+tt.query, nil)
			res.wantStatus(t, http.StatusOK)
			if ct := res.Header().Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.contentType)
			}
			disp, params, err := mime.ParseMediaType(res.Header().Get("Content-Disposition"))
			if err != nil || disp != "attachment" || params["filename"] != tt.filename {
				t.Errorf("Content-Disposition = %q, want attachment; filename=%q", res.Header().Get("Content-Disposition"), tt.filename)
			}
			var rows [][]string
			if strings.HasPrefix(tt.contentType, "text/csv") {
				// A byte order mark lets Excel read the file as UTF-8.
				rows, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.Body.Bytes(), []byte("\ufeff")))).ReadAll()
			} else {
				rows, err = xlsxRows(res.Body.Bytes())
			}
			if err != nil {
				t.Fatalf("read template: %v", err)
			}
			if len(rows) != 1+tt.rows {
				t.Fatalf("template has %d rows, want a header and %d: %v", len(rows), tt.rows, rows)
			}
			for _, want := range []string{"Credential ID", "Recipient Email", "Course Hours", "Student No"} {
				if !slices.Contains(rows[0], want) {
					t.Errorf("header %v lacks %q", rows[0], want)
				}
			}
			if tt.rows > 0 {
				var ids []string
				for _, r := range rows[1:] {
					ids = append(ids, r[slices.Index(rows[0], "Credential ID")])
				}
				if !slices.Equal(ids, []string{"c-1", "c-2", "c-3"}) {
					t.Errorf("prefilled credential IDs = %v, want the group's", ids)
				}
			}
		})
	}
}

func xlsxRows(b []byte) ([][]string, error) {
	x, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer x.Close()
	return x.GetRows(x.GetSheetList()[0])
}

func TestTemplateBadQuery(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, query string
		pointers    []string
	}{
		{"unknown format", "?format=pdf", []string{"#/format"}},
		{"bad prefill", "?prefill=yes%20please", []string{"#/prefill"}},
		{"both", "?format=xls&prefill=2", []string{"#/format", "#/prefill"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.do(t, tenant1, http.MethodGet, "/groups/g-ux/template"+tt.query, nil).
				wantProblem(t, http.StatusBadRequest, bulk.EInvalid)
			var got []string
			for _, e := range p.Errors {
				got = append(got, e.Pointer)
			}
			if !slices.Equal(got, tt.pointers) {
				t.Errorf("field errors at %v, want %v", got, tt.pointers)
			}
		})
	}
}

// created is the answer to creating an upload.
type created struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Upload struct {
		Method    string            `json:"method"`
		URL       string            `json:"url"`
		Headers   map[string]string `json:"headers"`
		ExpiresAt time.Time         `json:"expiresAt"`
	} `json:"upload"`
	ObjectKey string `json:"objectKey"`
}

func TestCreateUpload(t *testing.T) {
	tests := []struct {
		name, fileName, wantFile string
	}{
		{"plain name", "ux.xlsx", "ux.xlsx"},
		{"windows path", `C:\Users\ana\UX update.xlsx`, "UX update.xlsx"},
		{"climbing out of the prefix", "../../t2/uploads/x/evil.csv", "evil.csv"},
		{"delimiter in the name", "a#b.csv", "a_b.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.do(t, tenant1, http.MethodPost, "/groups/g-ux/bulk-updates", map[string]string{"fileName": tt.fileName})
			res.wantStatus(t, http.StatusCreated)
			var c created
			res.decode(t, &c)
			if !regexp.MustCompile(`^[a-z0-9]{20,}$`).MatchString(c.ID) {
				t.Errorf("id %q is not a URL-safe random ID", c.ID)
			}
			wantKey := "tenants/t1/uploads/" + c.ID + "/" + tt.wantFile
			if c.ObjectKey != wantKey || c.Status != bulk.StatusAwaitingUpload {
				t.Errorf("got key %q status %q, want %q awaiting_upload", c.ObjectKey, c.Status, wantKey)
			}
			if c.Upload.Method != http.MethodPut || !strings.Contains(c.Upload.URL, wantKey) || c.Upload.Headers == nil {
				t.Errorf("upload = %+v, want a PUT to the presigned URL of %s", c.Upload, wantKey)
			}
			if !c.Upload.ExpiresAt.Equal(testNow.Add(10 * time.Minute)) {
				t.Errorf("expiresAt = %v, want the configured 10 minutes from now", c.Upload.ExpiresAt)
			}
			if loc := res.Header().Get("Location"); loc != "/bulk-updates/"+c.ID {
				t.Errorf("Location = %q", loc)
			}
			u := f.upload(t, tenant1, c.ID)
			if u.Status != bulk.StatusAwaitingUpload || u.GroupID != groupUX || u.ObjectKey != wantKey || u.Source != "api" || !u.CreatedAt.Equal(testNow) {
				t.Errorf("stored upload = %+v", u)
			}
			// The new upload is readable through the API.
			f.do(t, tenant1, http.MethodGet, "/bulk-updates/"+c.ID, nil).wantStatus(t, http.StatusOK)
		})
	}
}

func TestCreateUploadIDsAreUnique(t *testing.T) {
	f := newFixture(t)
	seen := map[string]bool{}
	for range 20 {
		var c created
		res := f.do(t, tenant1, http.MethodPost, "/groups/g-ux/bulk-updates", map[string]string{"fileName": "a.csv"})
		res.wantStatus(t, http.StatusCreated)
		res.decode(t, &c)
		if seen[c.ID] {
			t.Fatalf("id %s handed out twice", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestCreateUploadRejected(t *testing.T) {
	tests := []struct {
		name    string
		body    any
		status  int
		code    string
		pointer string
	}{
		{"no file name", map[string]string{}, http.StatusBadRequest, bulk.EInvalid, "#/fileName"},
		{"blank file name", map[string]string{"fileName": "  "}, http.StatusBadRequest, bulk.EInvalid, "#/fileName"},
		{"tenant in the body", map[string]string{"fileName": "a.csv", "tenant": "t2"}, http.StatusBadRequest, bulk.EInvalid, ""},
		{"not JSON", "fileName=a.csv", http.StatusBadRequest, bulk.EInvalid, ""},
		{"two JSON values", `{"fileName":"a.csv"}{"fileName":"b.csv"}`, http.StatusBadRequest, bulk.EInvalid, ""},
		{"no body", "", http.StatusBadRequest, bulk.EInvalid, ""},
		{"huge body", `{"fileName":"` + strings.Repeat("a", 2<<20) + `"}`, http.StatusRequestEntityTooLarge, bulk.ETooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p := f.do(t, tenant1, http.MethodPost, "/groups/g-ux/bulk-updates", tt.body).wantProblem(t, tt.status, tt.code)
			if tt.pointer != "" && (len(p.Errors) != 1 || p.Errors[0].Pointer != tt.pointer) {
				t.Errorf("field errors = %+v, want one at %s", p.Errors, tt.pointer)
			}
			if len(f.presigner.keys) != 0 {
				t.Errorf("presigned %v for a refused request", f.presigner.keys)
			}
		})
	}
}

// UploadView is the part of GET /bulk-updates/{id} the tests read.
type UploadView struct {
	ID                string       `json:"id"`
	GroupID           string       `json:"groupId"`
	Status            string       `json:"status"`
	Mapping           bulk.Mapping `json:"mapping"`
	ReportVersion     int          `json:"reportVersion"`
	ConfirmedVersion  int          `json:"confirmedVersion"`
	NeedsConfirmation bool         `json:"needsConfirmation"`
	Report            *struct {
		DateFormat           string   `json:"dateFormat"`
		DateFormatCandidates []string `json:"dateFormatCandidates"`
		Columns              []struct {
			Name      string `json:"name"`
			Header    string `json:"header"`
			Attribute string `json:"attribute"`
			How       string `json:"how"`
		} `json:"columns"`
		Summary      bulk.Summary `json:"summary"`
		NeedsMapping bool         `json:"needsMapping"`
	} `json:"report"`
	Results *bulk.Results `json:"results"`
}

func TestGetUpload(t *testing.T) {
	f := newFixture(t)
	f.seedUpload(t, "u-1", nil, sampleRows()...)
	f.seedUpload(t, "u-done", func(u *bulk.Upload) {
		u.Status = bulk.StatusCompletedWithErrors
		u.ConfirmedVersion = 1
		u.Results = &bulk.Results{Updated: 1, Conflicts: 1, CreditsCharged: 1, Batches: 1}
	}, sampleRows()...)

	res := f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-1", nil)
	res.wantStatus(t, http.StatusOK)
	var v UploadView
	res.decode(t, &v)
	if v.ID != "u-1" || v.GroupID != groupUX || v.Status != bulk.StatusReadyForReview || v.ReportVersion != 1 || v.ConfirmedVersion != 0 {
		t.Errorf("upload = %+v", v)
	}
	if !v.NeedsConfirmation {
		t.Error("a report with an unconfirmed warning does not say it needs confirmation")
	}
	if v.Report == nil {
		t.Fatal("no report")
	}
	wantSummary := bulk.Summary{Update: 2, Unchanged: 1, Error: 1, Warning: 1, Renewals: 1, CreditsRequired: 1}
	if v.Report.Summary != wantSummary {
		t.Errorf("summary = %+v, want %+v", v.Report.Summary, wantSummary)
	}
	if v.Report.DateFormat != "DD/MM/YYYY" || !slices.Equal(v.Report.DateFormatCandidates, []string{"DD/MM/YYYY", "MM/DD/YYYY"}) {
		t.Errorf("date format evidence = %q %v", v.Report.DateFormat, v.Report.DateFormatCandidates)
	}
	var names []string
	for _, c := range v.Report.Columns {
		names = append(names, c.Name)
	}
	if want := []string{"E-mail", "Expiry", "Hours", "#4", "Notes"}; !slices.Equal(names, want) {
		t.Errorf("column names = %v, want %v (a blank header is named by position)", names, want)
	}
	for _, internal := range []string{"tenant", "objectKey", "etag", "execution", "reportFingerprint"} {
		if hasKey(t, res.Body.Bytes(), internal) {
			t.Errorf("response exposes internal field %q: %s", internal, res.Body.String())
		}
	}
	if strings.Contains(res.Body.String(), `"rows"`) {
		t.Errorf("upload response carries report rows: %s", res.Body.String())
	}

	var done UploadView
	res = f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-done", nil)
	res.wantStatus(t, http.StatusOK)
	res.decode(t, &done)
	if done.Results == nil || *done.Results != (bulk.Results{Updated: 1, Conflicts: 1, CreditsCharged: 1, Batches: 1}) {
		t.Errorf("results totals = %+v", done.Results)
	}
	if done.NeedsConfirmation {
		t.Error("a confirmed report still says it needs confirmation")
	}
}

type rowsPage struct {
	ReportVersion int        `json:"reportVersion"`
	Rows          []bulk.Row `json:"rows"`
	NextCursor    string     `json:"nextCursor"`
}

func rowNumbers(rows []bulk.Row) []int {
	out := []int{}
	for _, r := range rows {
		out = append(out, r.Row)
	}
	return out
}

func TestListRows(t *testing.T) {
	f := newFixture(t)
	// Report 1 is superseded by report 2; only report 2's rows are listed.
	must(t, f.store.PutReportRows(context.Background(), tenant1, "u-1", 1, []bulk.Row{{Row: 9, Outcome: bulk.OutcomeError}}))
	f.seedUpload(t, "u-1", func(u *bulk.Upload) { u.ReportVersion = 2 }, sampleRows()...)
	tests := []struct {
		outcome string
		want    []int
	}{
		{"", []int{2, 3, 4, 5}},
		{"error", []int{4}},
		{"warning", []int{5}},
		{"update", []int{2, 5}},
		{"unchanged", []int{3}},
	}
	for _, tt := range tests {
		t.Run("outcome "+tt.outcome, func(t *testing.T) {
			var p rowsPage
			res := f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-1/rows?outcome="+tt.outcome, nil)
			res.wantStatus(t, http.StatusOK)
			res.decode(t, &p)
			if got := rowNumbers(p.Rows); !slices.Equal(got, tt.want) || p.NextCursor != "" || p.ReportVersion != 2 {
				t.Errorf("rows %v next %q version %d, want %v, no next page, version 2", got, p.NextCursor, p.ReportVersion, tt.want)
			}
		})
	}
	t.Run("paged", func(t *testing.T) {
		var got []int
		cursor, pages := "", 0
		for {
			var p rowsPage
			res := f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-1/rows?limit=3&cursor="+cursor, nil)
			res.wantStatus(t, http.StatusOK)
			res.decode(t, &p)
			got = append(got, rowNumbers(p.Rows)...)
			pages++
			if cursor = p.NextCursor; cursor == "" || pages > 5 {
				break
			}
		}
		if !slices.Equal(got, []int{2, 3, 4, 5}) || pages != 2 {
			t.Errorf("paged rows %v in %d pages, want 2..5 in 2 pages", got, pages)
		}
	})
	t.Run("changes and issues", func(t *testing.T) {
		var p rowsPage
		res := f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-1/rows?outcome=warning", nil)
		res.decode(t, &p)
		if len(p.Rows) != 1 || p.Rows[0].CredentialID != "c-3" || len(p.Rows[0].Changes) != 1 ||
			p.Rows[0].Changes[0] != (bulk.Change{Field: "expires_on", From: "2024-05-01", To: "2027-05-01"}) ||
			p.Rows[0].Warnings[0].Code != bulk.WarnClearsValue || !p.Rows[0].Renewal {
			t.Errorf("row = %+v", p.Rows)
		}
	})
}

func TestListRowsRejected(t *testing.T) {
	f := newFixture(t)
	f.seedUpload(t, "u-1", nil, sampleRows()...)
	f.seedUpload(t, "u-new", func(u *bulk.Upload) {
		u.Status, u.ReportVersion, u.Report = bulk.StatusAwaitingUpload, 0, nil
	})
	tests := []struct {
		name, target string
		status       int
		code         string
	}{
		{"unknown outcome", "/bulk-updates/u-1/rows?outcome=errors", http.StatusBadRequest, bulk.EInvalid},
		{"zero limit", "/bulk-updates/u-1/rows?limit=0", http.StatusBadRequest, bulk.EInvalid},
		{"limit too big", "/bulk-updates/u-1/rows?limit=100000", http.StatusBadRequest, bulk.EInvalid},
		{"limit not a number", "/bulk-updates/u-1/rows?limit=ten", http.StatusBadRequest, bulk.EInvalid},
		{"forged cursor", "/bulk-updates/u-1/rows?cursor=not-a-cursor", http.StatusBadRequest, bulk.EInvalid},
		{"no report yet", "/bulk-updates/u-new/rows", http.StatusConflict, bulk.EConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.do(t, tenant1, http.MethodGet, tt.target, nil).wantProblem(t, tt.status, tt.code)
		})
	}
}

func TestPutMapping(t *testing.T) {
	for _, from := range []string{bulk.StatusReadyForReview, bulk.StatusNeedsMapping} {
		t.Run("from "+from, func(t *testing.T) {
			f := newFixture(t)
			f.seedUpload(t, "u-1", func(u *bulk.Upload) { u.Status = from; u.ConfirmedVersion = 1 }, sampleRows()...)
			m := bulk.Mapping{
				Columns: map[string]string{
					"E-mail": bulk.AttrEmail,
					"#2":     bulk.AttrExpiresOn,
					"Hours":  "custom.course_hours",
					"#4":     "custom.student_no",
					"Notes":  bulk.Skip,
				},
				DateFormat: "MM/DD/YYYY",
				MatchBy:    "custom.student_no",
			}
			res := f.do(t, tenant1, http.MethodPut, "/bulk-updates/u-1/mapping", m)
			res.wantStatus(t, http.StatusAccepted)
			var v UploadView
			res.decode(t, &v)
			if v.Status != bulk.StatusValidating || !maps.Equal(v.Mapping.Columns, m.Columns) {
				t.Errorf("response = %+v, want validating with the new mapping", v)
			}
			u := f.upload(t, tenant1, "u-1")
			if u.Status != bulk.StatusValidating || u.Mapping.DateFormat != m.DateFormat || u.Mapping.MatchBy != m.MatchBy || !maps.Equal(u.Mapping.Columns, m.Columns) {
				t.Errorf("stored upload = %s %+v", u.Status, u.Mapping)
			}
			if !slices.Equal(f.revalidator.calls, []string{"t1/u-1"}) {
				t.Errorf("revalidations = %v, want one of t1/u-1", f.revalidator.calls)
			}
			learned, err := f.store.LearnedMappings(context.Background(), tenant1)
			must(t, err)
			want := map[string]string{
				mapping.Normalize("E-mail"): bulk.AttrEmail,
				mapping.Normalize("Expiry"): bulk.AttrExpiresOn, // "#2" learned by its header
				mapping.Normalize("Hours"):  "custom.course_hours",
			}
			if !maps.Equal(learned, want) {
				t.Errorf("learned %v, want %v (no skips, no blank headers)", learned, want)
			}
			// A second change while validating must wait for the report.
			f.do(t, tenant1, http.MethodPut, "/bulk-updates/u-1/mapping", m).wantProblem(t, http.StatusConflict, bulk.EConflict)
		})
	}
}

func TestPutMappingRejected(t *testing.T) {
	tests := []struct {
		name     string
		status   string
		body     any
		code     string
		pointers []string
	}{
		{"unknown attribute", "", bulk.Mapping{Columns: map[string]string{"Notes": "custom.shoe_size"}}, bulk.EInvalid, []string{"#/columns/Notes"}},
		{"attribute of no kind", "", bulk.Mapping{Columns: map[string]string{"Notes": "recipient.phone"}}, bulk.EInvalid, []string{"#/columns/Notes"}},
		{"unknown date format", "", bulk.Mapping{DateFormat: "YYYY/DD/MM"}, bulk.EInvalid, []string{"#/dateFormat"}},
		{"match key that is not an ID", "", bulk.Mapping{MatchBy: bulk.AttrGrade}, bulk.EInvalid, []string{"#/matchBy"}},
		{"match key of another design", "", bulk.Mapping{MatchBy: "custom.shoe_size"}, bulk.EInvalid, []string{"#/matchBy"}},
		{"unknown column", "", bulk.Mapping{Columns: map[string]string{"Emial": bulk.AttrEmail}}, bulk.EInvalid, []string{"#/columns/Emial"}},
		{"column past the end", "", bulk.Mapping{Columns: map[string]string{"#9": bulk.Skip}}, bulk.EInvalid, []string{"#/columns/#9"}},
		{"two columns one attribute", "", bulk.Mapping{Columns: map[string]string{"E-mail": bulk.AttrEmail, "Notes": bulk.AttrEmail}}, bulk.EInvalid, []string{"#/columns/Notes"}},
		{"several problems", "", bulk.Mapping{Columns: map[string]string{"Notes": "nope"}, DateFormat: "x", MatchBy: "y"}, bulk.EInvalid,
			[]string{"#/columns/Notes", "#/dateFormat", "#/matchBy"}},
		{"unknown field", "", map[string]any{"columns": map[string]string{}, "tenant": "t2"}, bulk.EInvalid, nil},
		{"awaiting upload", bulk.StatusAwaitingUpload, bulk.Mapping{}, bulk.EConflict, nil},
		{"validating", bulk.StatusValidating, bulk.Mapping{}, bulk.EConflict, nil},
		{"committing", bulk.StatusCommitting, bulk.Mapping{}, bulk.EConflict, nil},
		{"completed", bulk.StatusCompleted, bulk.Mapping{}, bulk.EConflict, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.seedUpload(t, "u-1", func(u *bulk.Upload) {
				if tt.status != "" {
					u.Status = tt.status
				}
			}, sampleRows()...)
			status := http.StatusBadRequest
			if tt.code == bulk.EConflict {
				status = http.StatusConflict
			}
			p := f.do(t, tenant1, http.MethodPut, "/bulk-updates/u-1/mapping", tt.body).wantProblem(t, status, tt.code)
			var got []string
			for _, e := range p.Errors {
				got = append(got, e.Pointer)
			}
			if tt.pointers != nil && !slices.Equal(got, tt.pointers) {
				t.Errorf("field errors at %v (%+v), want %v", got, p.Errors, tt.pointers)
			}
			after := f.upload(t, tenant1, "u-1")
			if after.Status != before.Status || len(after.Mapping.Columns) != 0 {
				t.Errorf("refused mapping changed the upload: %s %+v", after.Status, after.Mapping)
			}
			if len(f.revalidator.calls) != 0 {
				t.Errorf("refused mapping re-validated: %v", f.revalidator.calls)
			}
			if learned, _ := f.store.LearnedMappings(context.Background(), tenant1); len(learned) != 0 {
				t.Errorf("refused mapping was learned: %v", learned)
			}
		})
	}
}

func TestPutMappingWhenRevalidationCannotStart(t *testing.T) {
	f := newFixture(t)
	f.seedUpload(t, "u-1", nil, sampleRows()...)
	f.revalidator.err = errors.New("lambda: throttled")
	f.do(t, tenant1, http.MethodPut, "/bulk-updates/u-1/mapping", bulk.Mapping{DateFormat: "MM/DD/YYYY"}).
		wantProblem(t, http.StatusInternalServerError, bulk.EInternal)
	u := f.upload(t, tenant1, "u-1")
	if u.Status != bulk.StatusReadyForReview || u.Mapping.DateFormat != "" {
		t.Errorf("upload left as %s %+v, want it back as it was so the user can retry", u.Status, u.Mapping)
	}
	f.revalidator.err = nil
	f.do(t, tenant1, http.MethodPut, "/bulk-updates/u-1/mapping", bulk.Mapping{DateFormat: "MM/DD/YYYY"}).wantStatus(t, http.StatusAccepted)
}

func TestConfirm(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*bulk.Upload)
		body   any
		status int
		code   string
	}{
		{"current report", nil, map[string]int{"reportVersion": 1}, http.StatusOK, ""},
		{"current report again", func(u *bulk.Upload) { u.ConfirmedVersion = 1 }, map[string]int{"reportVersion": 1}, http.StatusOK, ""},
		{"older report", func(u *bulk.Upload) { u.ReportVersion = 2 }, map[string]int{"reportVersion": 1}, http.StatusConflict, bulk.EStale},
		{"report from the future", nil, map[string]int{"reportVersion": 2}, http.StatusConflict, bulk.EStale},
		{"no version", nil, map[string]int{}, http.StatusBadRequest, bulk.EInvalid},
		{"while re-validating", func(u *bulk.Upload) { u.Status = bulk.StatusValidating }, map[string]int{"reportVersion": 1}, http.StatusConflict, bulk.EConflict},
		{"no report yet", func(u *bulk.Upload) { u.Status, u.ReportVersion, u.Report = bulk.StatusAwaitingUpload, 0, nil },
			map[string]int{"reportVersion": 1}, http.StatusConflict, bulk.EConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.seedUpload(t, "u-1", tt.mod, sampleRows()...)
			res := f.do(t, tenant1, http.MethodPost, "/bulk-updates/u-1/confirmations", tt.body)
			after := f.upload(t, tenant1, "u-1")
			if tt.code != "" {
				res.wantProblem(t, tt.status, tt.code)
				if after.ConfirmedVersion != before.ConfirmedVersion {
					t.Errorf("refused confirmation recorded version %d", after.ConfirmedVersion)
				}
				return
			}
			res.wantStatus(t, tt.status)
			var v UploadView
			res.decode(t, &v)
			if v.ConfirmedVersion != 1 || v.NeedsConfirmation || after.ConfirmedVersion != 1 {
				t.Errorf("confirmed version: response %d (needs confirmation %v), stored %d; want 1", v.ConfirmedVersion, v.NeedsConfirmation, after.ConfirmedVersion)
			}
		})
	}
}

func noWarnings() []bulk.Row {
	rows := sampleRows()
	rows[3].Warnings = nil
	return rows
}

func TestCommit(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*bulk.Upload)
		rows   []bulk.Row
		status int
		code   string
		detail []string
	}{
		{"no warnings needs no confirmation", nil, noWarnings(), http.StatusAccepted, "", nil},
		{"warnings confirmed", func(u *bulk.Upload) { u.ConfirmedVersion = 1 }, sampleRows(), http.StatusAccepted, "", nil},
		{"warnings unconfirmed", nil, sampleRows(), http.StatusConflict, bulk.EUnconfirmed, nil},
		{"confirmed an older report", func(u *bulk.Upload) { u.ReportVersion, u.ConfirmedVersion = 3, 2 }, sampleRows(),
			http.StatusConflict, bulk.EStale, []string{"confirmed report 2", "current report is 3"}},
		{"needs mapping", func(u *bulk.Upload) {
			u.Status = bulk.StatusNeedsMapping
			u.Report.Columns[4] = bulk.Column{Index: 4, Header: "Notes", How: bulk.HowUnmapped}
		}, noWarnings(), http.StatusConflict, bulk.EConflict, []string{"needs mapping"}},
		{"more renewals than credits", func(u *bulk.Upload) { u.Report.Summary.Renewals, u.Report.Summary.CreditsRequired = 7, 7 }, noWarnings(),
			http.StatusPaymentRequired, bulk.EInsufficientCredits, []string{"needs 7 credits", "balance is 5"}},
		{"exactly the credits", func(u *bulk.Upload) { u.Report.Summary.Renewals, u.Report.Summary.CreditsRequired = 5, 5 }, noWarnings(),
			http.StatusAccepted, "", nil},
		{"still validating", func(u *bulk.Upload) { u.Status = bulk.StatusValidating }, noWarnings(), http.StatusConflict, bulk.EConflict, nil},
		{"already completed", func(u *bulk.Upload) { u.Status = bulk.StatusCompleted }, noWarnings(), http.StatusConflict, bulk.EConflict, nil},
		{"cancelled", func(u *bulk.Upload) { u.Status = bulk.StatusCancelled }, noWarnings(), http.StatusConflict, bulk.EConflict, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.seedUpload(t, "u-1", tt.mod, tt.rows...)
			res := f.do(t, tenant1, http.MethodPost, "/bulk-updates/u-1/commit", nil)
			after := f.upload(t, tenant1, "u-1")
			if tt.code != "" {
				p := res.wantProblem(t, tt.status, tt.code)
				for _, d := range tt.detail {
					if !strings.Contains(p.Detail, d) {
						t.Errorf("detail %q does not say %q", p.Detail, d)
					}
				}
				if after.Status != before.Status || f.starter.calls != 0 {
					t.Errorf("refused commit moved the upload to %s / started %d executions", after.Status, f.starter.calls)
				}
				return
			}
			res.wantStatus(t, tt.status)
			var v UploadView
			res.decode(t, &v)
			if v.Status != bulk.StatusCommitting || after.Status != bulk.StatusCommitting {
				t.Errorf("status: response %s, stored %s; want committing", v.Status, after.Status)
			}
			if got := f.starter.executions(); !maps.Equal(got, map[string]string{"u-1": tenant1}) {
				t.Errorf("executions = %v, want one named u-1 for t1", got)
			}
			if after.Execution == "" {
				t.Error("the execution is not recorded on the upload")
			}
		})
	}
}

func TestCommitTwice(t *testing.T) {
	t.Run("one after the other", func(t *testing.T) {
		f := newFixture(t)
		f.seedUpload(t, "u-1", nil, noWarnings()...)
		for i := range 2 {
			res := f.do(t, tenant1, http.MethodPost, "/bulk-updates/u-1/commit", nil)
			res.wantStatus(t, http.StatusAccepted)
			var v UploadView
			res.decode(t, &v)
			if v.Status != bulk.StatusCommitting {
				t.Errorf("commit %d answered status %s", i+1, v.Status)
			}
		}
		if f.starter.calls != 1 {
			t.Errorf("StartCommit called %d times, want once", f.starter.calls)
		}
	})
	t.Run("at the same time", func(t *testing.T) {
		f := newFixture(t)
		f.seedUpload(t, "u-1", nil, noWarnings()...)
		var wg sync.WaitGroup
		codes := make([]int, 5)
		for i := range codes {
			wg.Go(func() { codes[i] = f.do(t, tenant1, http.MethodPost, "/bulk-updates/u-1/commit", nil).Code })
		}
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusAccepted {
				t.Errorf("commit %d answered %d, want 202", i, c)
			}
		}
		if got := f.starter.executions(); len(got) != 1 {
			t.Errorf("executions = %v, want exactly one", got)
		}
	})
	t.Run("after the first failed to start", func(t *testing.T) {
		f := newFixture(t)
		f.seedUpload(t, "u-1", nil, noWarnings()...)
		f.starter.failNext = errors.New("states: service unavailable")
		f.do(t, tenant1, http.MethodPost, "/bulk-updates/u-1/commit", nil).wantProblem(t, http.StatusInternalServerError, bulk.EInternal)
		if len(f.starter.executions()) != 0 {
			t.Fatal("failed start recorded an execution")
		}
		f.do(t, tenant1, http.MethodPost, "/bulk-updates/u-1/commit", nil).wantStatus(t, http.StatusAccepted)
		if got := f.starter.executions(); len(got) != 1 || f.upload(t, tenant1, "u-1").Execution == "" {
			t.Errorf("retried commit: executions %v, want it started and recorded", got)
		}
	})
}

type resultsPage struct {
	Status  string        `json:"status"`
	Totals  *bulk.Results `json:"totals"`
	Results []struct {
		CredentialID string          `json:"credentialId"`
		Row          int             `json:"row"`
		Outcome      string          `json:"outcome"`
		Before       bulk.Credential `json:"before"`
		After        bulk.Credential `json:"after"`
		Changes      []bulk.Change   `json:"changes"`
	} `json:"results"`
	NextCursor string `json:"nextCursor"`
}

func TestResults(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	totals := &bulk.Results{Updated: 2, Batches: 1, CreditsCharged: 1}
	f.seedUpload(t, "u-1", func(u *bulk.Upload) { u.Status, u.Results = bulk.StatusCompleted, totals }, noWarnings()...)
	f.seedUpload(t, "u-open", nil, noWarnings()...)
	c1, err := f.store.GetCredential(ctx, tenant1, "c-1")
	must(t, err)
	c3, err := f.store.GetCredential(ctx, tenant1, "c-3")
	must(t, err)
	c1After, c3After := c1, c3
	c1After.Custom = map[string]string{"course_hours": "42"}
	c3After.ExpiresOn = "2027-05-01"
	_, err = f.store.ApplyBatch(ctx, tenant1, store.Batch{Upload: "u-1", Number: 0, Ops: []store.Op{
		{Row: 2, CredentialID: "c-1", ExpectedVersion: c1.Version, Before: c1, After: c1After,
			Changes: []bulk.Change{{Field: "custom.course_hours", From: "40", To: "42"}}},
		{Row: 5, CredentialID: "c-3", ExpectedVersion: c3.Version, Before: c3, After: c3After, Renewal: true,
			Changes: []bulk.Change{{Field: "expires_on", From: "2024-05-01", To: "2027-05-01"}}},
	}})
	must(t, err)

	var all resultsPage
	res := f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-1/results", nil)
	res.wantStatus(t, http.StatusOK)
	res.decode(t, &all)
	if all.Status != bulk.StatusCompleted || all.Totals == nil || *all.Totals != *totals || len(all.Results) != 2 || all.NextCursor != "" {
		t.Fatalf("results = %+v", all)
	}
	first := all.Results[0]
	if first.CredentialID != "c-1" || first.Row != 2 || first.Outcome != store.ResultUpdated ||
		first.Before.Custom["course_hours"] != "40" || first.After.Custom["course_hours"] != "42" || len(first.Changes) != 1 {
		t.Errorf("first result = %+v", first)
	}

	var page resultsPage
	res = f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-1/results?limit=1", nil)
	res.decode(t, &page)
	if len(page.Results) != 1 || page.NextCursor == "" {
		t.Fatalf("first page = %+v, want one result and a cursor", page)
	}
	res = f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-1/results?limit=1&cursor="+page.NextCursor, nil)
	res.decode(t, &page)
	if len(page.Results) != 1 || page.Results[0].CredentialID != "c-3" || page.NextCursor != "" {
		t.Errorf("second page = %+v, want c-3 and no cursor", page)
	}

	f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-open/results", nil).wantProblem(t, http.StatusConflict, bulk.EConflict)
}

func TestInternalErrorsAreNotShown(t *testing.T) {
	f := newFixture(t)
	f.handler = f.build(failingStore{f.store})
	p := f.do(t, tenant1, http.MethodGet, "/bulk-updates/u-1", nil).wantProblem(t, http.StatusInternalServerError, bulk.EInternal)
	if strings.Contains(p.Detail, "10.0.0.7") || strings.Contains(p.Detail, "dynamodb") {
		t.Errorf("detail leaks the internal error: %q", p.Detail)
	}
	if p.RequestID != "req-123" {
		t.Errorf("requestId = %q, want the gateway's request ID for support", p.RequestID)
	}
	log := f.logs.String()
	for _, want := range []string{`"tenant":"t1"`, `"upload":"u-1"`, `"request_id":"req-123"`, "connection reset"} {
		if !strings.Contains(log, want) {
			t.Errorf("error log lacks %s: %s", want, log)
		}
	}
}
