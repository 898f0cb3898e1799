package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/devstack"
	"github.com/credup/credup/internal/localapi"
)

// route is one route of the API that names an upload.
type route struct {
	name   string
	method string
	path   string
	body   string
}

// uploadRoutes are every route that works on one upload.
func uploadRoutes(id string) []route {
	return []route{
		{name: "get", method: http.MethodGet, path: "/bulk-updates/" + id},
		{name: "rows", method: http.MethodGet, path: "/bulk-updates/" + id + "/rows"},
		{name: "mapping", method: http.MethodPut, path: "/bulk-updates/" + id + "/mapping", body: `{"columns":{"Notes":"skip"}}`},
		{name: "confirm", method: http.MethodPost, path: "/bulk-updates/" + id + "/confirmations", body: `{"reportVersion":1}`},
		{name: "commit", method: http.MethodPost, path: "/bulk-updates/" + id + "/commit"},
		{name: "results", method: http.MethodGet, path: "/bulk-updates/" + id + "/results"},
	}
}

func (r route) call(t *testing.T, tn *tenant, auth string) error {
	t.Helper()
	ctx := timeout(t, 30*time.Second)
	var body []byte
	if r.body != "" {
		body = []byte(r.body)
	}
	return call(ctx, tn.s.stack.APIURL, r.method, r.path, auth, body, nil)
}

// TestAuthorization checks what the JWT authorizer and the API let
// through: only a valid token naming a valid tenant.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	s := shared
	tn := demoTenant(t, s, "auth", demo.Credits)
	ctx := timeout(t, time.Minute)
	cr := tn.upload(ctx, t, demo.GroupID, "renewals.xlsx", demoSheet(t))
	tn.wait(ctx, t, cr.ID, bulk.StatusNeedsMapping)

	sign := func(key []byte, claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	now := time.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": devstack.Issuer, "aud": devstack.Audience, "tenant": tn.id,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		change(c)
		return c
	}
	otherKey := make([]byte, localapi.MinKeyBytes)
	copy(otherKey, "not the key the stack verifies with")

	tests := []struct {
		name   string
		auth   string
		status int
		code   string
	}{
		{name: "a valid token", auth: "Bearer " + tn.api.Token, status: http.StatusOK},
		{name: "no token", auth: "", status: http.StatusUnauthorized},
		{name: "not a JWT", auth: "Bearer not-a-token", status: http.StatusUnauthorized},
		{name: "signed with another key", auth: sign(otherKey, claims(func(jwt.MapClaims) {})), status: http.StatusUnauthorized},
		{name: "expired", auth: sign(s.stack.Key, claims(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		})), status: http.StatusUnauthorized},
		{name: "another issuer", auth: sign(s.stack.Key, claims(func(c jwt.MapClaims) { c["iss"] = "https://elsewhere.example" })), status: http.StatusUnauthorized},
		{name: "another audience", auth: sign(s.stack.Key, claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" })), status: http.StatusUnauthorized},
		{name: "unsigned (alg none)", auth: "Bearer " + unsigned(t, claims(func(jwt.MapClaims) {})), status: http.StatusUnauthorized},
		{name: "no tenant claim", auth: sign(s.stack.Key, claims(func(c jwt.MapClaims) { delete(c, "tenant") })),
			status: http.StatusUnauthorized, code: bulk.EUnauthorized},
		{name: "a tenant claim that is no tenant ID", auth: sign(s.stack.Key, claims(func(c jwt.MapClaims) { c["tenant"] = tn.id + "#X" })),
			status: http.StatusUnauthorized, code: bulk.EUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := route{method: http.MethodGet, path: "/bulk-updates/" + cr.ID}
			err := r.call(t, tn, tt.auth)
			if tt.status == http.StatusOK {
				if err != nil {
					t.Fatalf("a valid token was refused: %v", err)
				}
				return
			}
			wantProblem(t, err, tt.status, tt.code)
		})
	}
}

func unsigned(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestAPIErrors checks that each way a request can be wrong gets its own
// status and code, and changes nothing.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	s := shared

	t.Run("404 for an unknown upload or group on every route", func(t *testing.T) {
		t.Parallel()
		tn := demoTenant(t, s, "unknown", demo.Credits)
		for _, r := range uploadRoutes("no-such-upload") {
			t.Run(r.name, func(t *testing.T) {
				wantProblem(t, r.call(t, tn, "Bearer "+tn.api.Token), http.StatusNotFound, bulk.ENotFound)
			})
		}
		for _, path := range []string{"/groups/no-such-group/template", "/groups/no-such-group/bulk-updates"} {
			method := http.MethodGet
			body := ""
			if path == "/groups/no-such-group/bulk-updates" {
				method, body = http.MethodPost, `{"fileName":"a.csv"}`
			}
			t.Run(method+" "+path, func(t *testing.T) {
				r := route{method: method, path: path, body: body}
				wantProblem(t, r.call(t, tn, "Bearer "+tn.api.Token), http.StatusNotFound, bulk.ENotFound)
			})
		}
	})

	t.Run("409 before the file arrives", func(t *testing.T) {
		t.Parallel()
		ctx := timeout(t, time.Minute)
		tn := demoTenant(t, s, "nofile", demo.Credits)
		cr, err := tn.api.CreateUpload(ctx, demo.GroupID, "later.xlsx")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range uploadRoutes(cr.ID) {
			if r.name == "get" {
				continue
			}
			t.Run(r.name, func(t *testing.T) {
				wantProblem(t, r.call(t, tn, "Bearer "+tn.api.Token), http.StatusConflict, bulk.EConflict)
				unchanged(t, tn, cr.ID, bulk.StatusAwaitingUpload, 0)
			})
		}
	})

	t.Run("a file that is no spreadsheet fails its upload", func(t *testing.T) {
		t.Parallel()
		ctx := timeout(t, time.Minute)
		tn := demoTenant(t, s, "notasheet", demo.Credits)
		cr := tn.upload(ctx, t, demo.GroupID, "scan.xlsx", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"))
		u := tn.wait(ctx, t, cr.ID, bulk.StatusFailed)
		if u.Failure == "" || u.Report != nil {
			t.Errorf("failed upload says %q with report %v, want a reason and no report", u.Failure, u.Report)
		}
		s.events.wait(ctx, t, tn.id, cr.ID, "BulkUpdate Failed", func(e busEvent) bool {
			return e.DetailType == "BulkUpdate Failed" && e.Detail.Failure != ""
		})
		_, err := tn.api.Commit(ctx, cr.ID)
		wantProblem(t, err, http.StatusConflict, bulk.EConflict)
	})

	t.Run("409 commit while the report needs mapping", func(t *testing.T) {
		t.Parallel()
		ctx := timeout(t, time.Minute)
		tn := demoTenant(t, s, "needsmap", demo.Credits)
		cr := tn.upload(ctx, t, demo.GroupID, "renewals.xlsx", demoSheet(t))
		tn.wait(ctx, t, cr.ID, bulk.StatusNeedsMapping)
		_, err := tn.api.Commit(ctx, cr.ID)
		wantProblem(t, err, http.StatusConflict, bulk.EConflict)
		unchanged(t, tn, cr.ID, bulk.StatusNeedsMapping, 1)
	})

	t.Run("a report with warnings", func(t *testing.T) {
		t.Parallel()
		ctx := timeout(t, time.Minute)
		tn := demoTenant(t, s, "warnings", demo.Credits)
		cr := tn.upload(ctx, t, demo.GroupID, "renewals.csv", demoCSV(t))
		u := tn.wait(ctx, t, cr.ID, bulk.StatusReadyForReview)
		if u.ReportVersion != 1 || !u.NeedsConfirmation {
			t.Fatalf("report %d, needs confirmation %v: want report 1 with warnings to confirm", u.ReportVersion, u.NeedsConfirmation)
		}

		t.Run("409 commit unconfirmed", func(t *testing.T) {
			_, err := tn.api.Commit(ctx, cr.ID)
			wantProblem(t, err, http.StatusConflict, bulk.EUnconfirmed)
			unchanged(t, tn, cr.ID, bulk.StatusReadyForReview, 1)
		})

		t.Run("400 bad mapping", func(t *testing.T) {
			tests := []struct {
				name string
				body string
			}{
				{name: "a column the sheet does not have", body: `{"columns":{"Nope":"recipient.email"}}`},
				{name: "a position past the last column", body: `{"columns":{"#9":"skip"}}`},
				{name: "an attribute the group does not have", body: `{"columns":{"Grade":"custom.nope"}}`},
				{name: "two columns for one attribute", body: `{"columns":{"Grade":"description","Full Name":"description"}}`},
				{name: "an unknown date format", body: `{"dateFormat":"YY-QQ"}`},
				{name: "a match key that identifies nothing", body: `{"matchBy":"grade"}`},
				{name: "a misspelt field", body: `{"column":{"Grade":"skip"}}`},
				{name: "not JSON", body: `{"columns":`},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := route{method: http.MethodPut, path: "/bulk-updates/" + cr.ID + "/mapping", body: tt.body}
					wantProblem(t, r.call(t, tn, "Bearer "+tn.api.Token), http.StatusBadRequest, bulk.EInvalid)
					unchanged(t, tn, cr.ID, bulk.StatusReadyForReview, 1)
				})
			}
		})

		t.Run("409 stale: report 1 confirmed, then re-mapped to report 2", func(t *testing.T) {
			if _, err := tn.api.Confirm(ctx, cr.ID, 1); err != nil {
				t.Fatal(err)
			}
			tn.mapAndWait(ctx, t, cr.ID, bulk.Mapping{MatchBy: bulk.AttrEmail}, bulk.StatusReadyForReview)
			_, err := tn.api.Commit(ctx, cr.ID)
			wantProblem(t, err, http.StatusConflict, bulk.EStale)
			unchanged(t, tn, cr.ID, bulk.StatusReadyForReview, 2)

			// Confirming the old report again is stale too.
			_, err = tn.api.Confirm(ctx, cr.ID, 1)
			wantProblem(t, err, http.StatusConflict, bulk.EStale)
		})
	})

	t.Run("402 insufficient credits", func(t *testing.T) {
		t.Parallel()
		ctx := timeout(t, time.Minute)
		const credits = 10
		tn := demoTenant(t, s, "poor", credits)
		cr := tn.upload(ctx, t, demo.GroupID, "renewals.csv", demoCSV(t))
		u := tn.wait(ctx, t, cr.ID, bulk.StatusReadyForReview)
		if u.Report.Summary.CreditsRequired <= credits {
			t.Fatalf("the sheet needs %d credits; the test needs more than %d", u.Report.Summary.CreditsRequired, credits)
		}
		if _, err := tn.api.Confirm(ctx, cr.ID, u.ReportVersion); err != nil {
			t.Fatal(err)
		}
		_, err := tn.api.Commit(ctx, cr.ID)
		wantProblem(t, err, http.StatusPaymentRequired, bulk.EInsufficientCredits)
		unchanged(t, tn, cr.ID, bulk.StatusReadyForReview, 1)
		if got := tn.credits(ctx, t); got != credits {
			t.Errorf("balance %d after a refused commit, want %d", got, credits)
		}
		stored, err := s.store.GroupCredentials(ctx, tn.id, demo.GroupID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range stored {
			if !sameCredential(c, tn.seeded(t, c.ID)) {
				t.Errorf("credential %s changed after a refused commit", c.ID)
			}
		}
	})
}

// unchanged fails the test unless the upload is still where it was.
func unchanged(t *testing.T, tn *tenant, id, status string, version int) {
	t.Helper()
	u, err := tn.api.Upload(timeout(t, 30*time.Second), id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != status || u.ReportVersion != version {
		t.Errorf("upload is %s with report %d, want it left %s with report %d", u.Status, u.ReportVersion, status, version)
	}
}
