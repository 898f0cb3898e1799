package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/credup/credup/internal/apiclient"
	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/sheet"
)

// tenant is one issuer on a stack: its ID, an API client holding its
// token, and the credentials it was seeded with.
type tenant struct {
	id   string
	api  *apiclient.Client
	seed []bulk.Credential
	s    *suite
}

// newTenant seeds a tenant with a unique ID (name plus a sequence number).
func newTenant(t *testing.T, s *suite, name string, credits int, groups []bulk.Group, creds []bulk.Credential) *tenant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := fmt.Sprintf("%s-%d", name, tenantSeq.Add(1))
	if err := s.stack.Seed(ctx, bulk.Tenant{ID: id, Name: name, Credits: credits}, groups, creds); err != nil {
		t.Fatalf("seed tenant %s: %v", id, err)
	}
	if s == shared {
		sharedTenants.Add(1)
	}
	return &tenant{id: id, api: client(t, s, id), seed: creds, s: s}
}

// demoTenant is a tenant seeded like `credup demo`: the UX Foundations
// group, a second group, and their credentials.
func demoTenant(t *testing.T, s *suite, name string, credits int) *tenant {
	return newTenant(t, s, name, credits, []bulk.Group{demo.Group(), demo.OtherGroup()}, demo.Seed())
}

// client is an API client of the stack holding a token of the tenant.
func client(t *testing.T, s *suite, tenantID string) *apiclient.Client {
	t.Helper()
	tok, err := s.stack.Token(tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return &apiclient.Client{BaseURL: s.stack.APIURL, Token: tok}
}

// seeded returns the credential as it was seeded.
func (tn *tenant) seeded(t *testing.T, id string) bulk.Credential {
	t.Helper()
	for _, c := range tn.seed {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("credential %s was not seeded", id)
	return bulk.Credential{}
}

func (tn *tenant) credits(ctx context.Context, t *testing.T) int {
	t.Helper()
	got, err := tn.s.store.GetTenant(ctx, tn.id)
	if err != nil {
		t.Fatalf("read tenant %s: %v", tn.id, err)
	}
	return got.Credits
}

func (tn *tenant) credential(ctx context.Context, t *testing.T, id string) bulk.Credential {
	t.Helper()
	c, err := tn.s.store.GetCredential(ctx, tn.id, id)
	if err != nil {
		t.Fatalf("read credential %s: %v", id, err)
	}
	return c
}

// upload creates an upload through the API and sends the file through
// its presigned PUT.
func (tn *tenant) upload(ctx context.Context, t *testing.T, group, name string, file []byte) apiclient.Created {
	t.Helper()
	cr, err := tn.api.CreateUpload(ctx, group, name)
	if err != nil {
		t.Fatalf("create upload of %s: %v", name, err)
	}
	if err := tn.api.SendFile(ctx, cr, file); err != nil {
		t.Fatalf("send %s: %v", name, err)
	}
	return cr
}

// settled are the statuses an upload rests in until someone acts, and
// final the ones it ends in; a dropped file may pass ready_for_review on
// its way to a commit.
var (
	settled = []string{bulk.StatusNeedsMapping, bulk.StatusReadyForReview, bulk.StatusFailed,
		bulk.StatusCompleted, bulk.StatusCompletedWithErrors, bulk.StatusCancelled}
	final = []string{bulk.StatusFailed, bulk.StatusCompleted, bulk.StatusCompletedWithErrors, bulk.StatusCancelled}
)

// wait polls the upload until it reaches want, failing the test if it
// stops anywhere else or ctx ends first.
func (tn *tenant) wait(ctx context.Context, t *testing.T, id, want string) apiclient.Upload {
	t.Helper()
	stops := settled
	if slices.Contains(final, want) {
		stops = final
	}
	u, err := tn.api.Wait(ctx, id, append([]string{want}, stops...)...)
	if err != nil {
		t.Fatalf("wait for upload %s to be %s: %v", id, want, err)
	}
	if u.Status != want {
		t.Fatalf("upload %s is %s (failure %q), want %s", id, u.Status, u.Failure, want)
	}
	return u
}

// mapAndWait sets the mapping and waits for the new report.
func (tn *tenant) mapAndWait(ctx context.Context, t *testing.T, id string, m bulk.Mapping, want string) apiclient.Upload {
	t.Helper()
	before, err := tn.api.Upload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.api.SetMapping(ctx, id, m); err != nil {
		t.Fatalf("set mapping of %s: %v", id, err)
	}
	u := tn.wait(ctx, t, id, want)
	if u.ReportVersion != before.ReportVersion+1 {
		t.Fatalf("after a mapping change the report is version %d, want %d", u.ReportVersion, before.ReportVersion+1)
	}
	return u
}

// readyDemoUpload uploads the demo sheet, maps its Notes column to skip
// and confirms the report: what a user does before committing.
func (tn *tenant) readyDemoUpload(ctx context.Context, t *testing.T) apiclient.Upload {
	t.Helper()
	cr := tn.upload(ctx, t, demo.GroupID, "renewals.xlsx", demoSheet(t))
	tn.wait(ctx, t, cr.ID, bulk.StatusNeedsMapping)
	u := tn.mapAndWait(ctx, t, cr.ID, demo.Mapping(), bulk.StatusReadyForReview)
	u, err := tn.api.Confirm(ctx, cr.ID, u.ReportVersion)
	if err != nil {
		t.Fatalf("confirm report %d: %v", u.ReportVersion, err)
	}
	return u
}

// get calls a GET route with the tenant's token and any query (the API
// client has no page size), decoding the JSON answer into out.
func (tn *tenant) get(ctx context.Context, path string, q url.Values, out any) error {
	return call(ctx, tn.s.stack.APIURL, http.MethodGet, path+"?"+q.Encode(), "Bearer "+tn.api.Token, nil, out)
}

// call makes one request to the API and returns a *apiclient.Problem for
// any answer of 300 or more.
func call(ctx context.Context, base, method, path, auth string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		p := &apiclient.Problem{}
		if json.Unmarshal(data, p) != nil || p.Code == "" {
			p.Detail = string(bytes.TrimSpace(data))
		}
		p.Status = resp.StatusCode
		return p
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// allRows walks the rows route with one outcome filter and page size,
// failing the test if a cursor repeats or skips a row or the version moves.
func (tn *tenant) allRows(ctx context.Context, t *testing.T, id, outcome string, limit int) []bulk.Row {
	t.Helper()
	var rows []bulk.Row
	seen := map[int]bool{}
	cursor, version := "", 0
	for page := 0; ; page++ {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if outcome != "" {
			q.Set("outcome", outcome)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p apiclient.Rows
		if err := tn.get(ctx, "/bulk-updates/"+id+"/rows", q, &p); err != nil {
			t.Fatalf("rows of %s (outcome %q, page %d): %v", id, outcome, page, err)
		}
		if version != 0 && p.ReportVersion != version {
			t.Fatalf("page %d of rows is of report %d, the first of %d", page, p.ReportVersion, version)
		}
		version = p.ReportVersion
		if len(p.Rows) > limit {
			t.Fatalf("page %d has %d rows, over the limit of %d", page, len(p.Rows), limit)
		}
		if p.NextCursor != "" && len(p.Rows) == 0 {
			t.Fatalf("page %d is empty but points to another", page)
		}
		for _, r := range p.Rows {
			if seen[r.Row] {
				t.Fatalf("row %d appears twice walking outcome %q", r.Row, outcome)
			}
			if len(rows) > 0 && r.Row < rows[len(rows)-1].Row {
				t.Fatalf("row %d comes after row %d", r.Row, rows[len(rows)-1].Row)
			}
			seen[r.Row] = true
			rows = append(rows, r)
		}
		if p.NextCursor == "" {
			return rows
		}
		cursor = p.NextCursor
	}
}

// allResults walks the results route with a page size.
func (tn *tenant) allResults(ctx context.Context, t *testing.T, id string, limit int) (apiclient.Results, []apiclient.Result) {
	t.Helper()
	var all []apiclient.Result
	var first apiclient.Results
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p apiclient.Results
		if err := tn.get(ctx, "/bulk-updates/"+id+"/results", q, &p); err != nil {
			t.Fatalf("results of %s (page %d): %v", id, page, err)
		}
		if page == 0 {
			first = p
		}
		if len(p.Results) > limit {
			t.Fatalf("page %d has %d results, over the limit of %d", page, len(p.Results), limit)
		}
		all = append(all, p.Results...)
		if p.NextCursor == "" {
			return first, all
		}
		cursor = p.NextCursor
	}
}

// wantProblem fails the test unless err is a problem with the status and,
// when code is not empty, the code.
func wantProblem(t *testing.T, err error, status int, code string) {
	t.Helper()
	var p *apiclient.Problem
	if !errors.As(err, &p) {
		t.Fatalf("got %v, want a %d problem", err, status)
	}
	if p.Status != status || (code != "" && p.Code != code) {
		t.Fatalf("got %d %s (%s), want %d %s", p.Status, p.Code, p.Detail, status, code)
	}
}

// demoSheet is the sample spreadsheet of `credup demo`, as LibreOffice wrote it.
func demoSheet(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", demo.SheetPath))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// csvFile renders a header and rows as a CSV file.
func csvFile(t *testing.T, header []string, rows [][]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// demoCSV is the demo sheet's data as CSV without the Notes column: every
// column maps by itself, so its first report is ready for review, with the
// demo's errors, its one warning and its renewals.
func demoCSV(t *testing.T) []byte {
	t.Helper()
	var rows [][]string
	for _, r := range demo.Rows() {
		rows = append(rows, r[:5])
	}
	return csvFile(t, demo.Header[:5], rows)
}

// cleanHeader and cleanRows make a sheet of plain updates: every row
// matches one credential by email and raises its course hours, and expired
// credentials are renewed, with no errors and no warnings.
var cleanHeader = []string{"Recipient Email", "Expires On", "Course Hours"}

func cleanRows(creds []bulk.Credential) [][]string {
	today := time.Now().UTC().Format(time.DateOnly)
	var rows [][]string
	for _, c := range creds {
		exp := c.ExpiresOn
		if exp != "" && exp < today {
			exp = time.Now().UTC().AddDate(2, 0, 0).Format(time.DateOnly)
		}
		rows = append(rows, []string{c.Recipient.Email, exp, "48"})
	}
	return rows
}

// offlineReport is the report `credup check` makes of the file: the
// validation engine alone, with no AWS, against the seeded credentials.
func offlineReport(t *testing.T, file []byte, g bulk.Group, creds []bulk.Credential, m bulk.Mapping) *bulk.Report {
	t.Helper()
	src, err := sheet.Open(bytes.NewReader(file), sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := engine.Check(context.Background(), src, engine.Input{Group: g, Credentials: creds, Mapping: m, Now: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// applied is what a credential becomes when a report row's changes are
// applied to it: the changed fields, and the next version.
func applied(c bulk.Credential, changes []bulk.Change) bulk.Credential {
	c.Custom = maps.Clone(c.Custom)
	for _, ch := range changes {
		c.Set(ch.Field, ch.To)
	}
	c.Version++
	return c
}

// sameCredential compares credentials, an empty custom map equal to none.
func sameCredential(a, b bulk.Credential) bool {
	if len(a.Custom) == 0 && len(b.Custom) == 0 {
		a.Custom, b.Custom = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// s3Event is events/s3-put.json (an S3 notification as AWS sends it) for
// the given object: the key URL-encoded as S3 encodes it, the ETag
// without quotes.
func s3Event(t *testing.T, bucket, key, etag string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "s3-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	rec := ev["Records"].([]any)[0].(map[string]any)
	s3part := rec["s3"].(map[string]any)
	b := s3part["bucket"].(map[string]any)
	b["name"], b["arn"] = bucket, "arn:aws:s3:::"+bucket
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	obj := s3part["object"].(map[string]any)
	obj["key"], obj["eTag"] = strings.Join(parts, "/"), strings.Trim(etag, `"`)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// etag is the object's ETag, as S3 reports it.
func (s *suite) etag(ctx context.Context, t *testing.T, key string) string {
	t.Helper()
	out, err := s.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.stack.BucketName), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	return aws.ToString(out.ETag)
}

// put writes an object with the S3 SDK, as a partner's tool would.
func (s *suite) put(ctx context.Context, t *testing.T, key string, body []byte) {
	t.Helper()
	if _, err := s.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.stack.BucketName), Key: aws.String(key), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// invoke calls a function of the stack synchronously through the Lambda
// Invoke API and returns its answer, failing on a function error.
func (s *suite) invoke(ctx context.Context, t *testing.T, logicalID string, payload []byte) []byte {
	t.Helper()
	out, err := s.tryInvoke(ctx, logicalID, payload)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tryInvoke is invoke for goroutines other than the test's.
func (s *suite) tryInvoke(ctx context.Context, logicalID string, payload []byte) ([]byte, error) {
	out, err := s.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(s.stack.Functions[logicalID]), Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", logicalID, err)
	}
	if out.FunctionError != nil {
		return nil, fmt.Errorf("%s failed: %s: %s", logicalID, aws.ToString(out.FunctionError), out.Payload)
	}
	return out.Payload, nil
}

// settle waits until the validate function has finished everything handed
// to it before now: it serves one event at a time, so a synchronous invoke
// answers only after the events queued before it.
func (s *suite) settle(ctx context.Context, t *testing.T) {
	t.Helper()
	s.invoke(ctx, t, "ValidateFunction", []byte(`{}`))
}

// uploadsOf finds the uploads of a tenant whose file is at key. The API
// has no route that lists uploads, so a dropped file's upload can only be
// found in the table (or from its Validated event).
func (s *suite) uploadsOf(ctx context.Context, t *testing.T, tenantID, key string) []bulk.Upload {
	t.Helper()
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:                 aws.String(s.stack.TableName),
		FilterExpression:          aws.String("SK = :sk AND tenant = :t AND objectKey = :k"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":sk": &dbtypes.AttributeValueMemberS{Value: "UPLOAD"}, ":t": &dbtypes.AttributeValueMemberS{Value: tenantID}, ":k": &dbtypes.AttributeValueMemberS{Value: key}},
	})
	var ids []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("scan for uploads of %s: %v", key, err)
		}
		for _, it := range page.Items {
			if id, ok := it["id"].(*dbtypes.AttributeValueMemberS); ok {
				ids = append(ids, id.Value)
			}
		}
	}
	slices.Sort(ids)
	var out []bulk.Upload
	for _, id := range ids {
		u, err := s.store.GetUpload(ctx, tenantID, id)
		if err != nil {
			t.Fatalf("read upload %s: %v", id, err)
		}
		out = append(out, u)
	}
	return out
}

// awaitUpload polls until the file at key has an upload, and returns it.
func (s *suite) awaitUpload(ctx context.Context, t *testing.T, tenantID, key string) bulk.Upload {
	t.Helper()
	for {
		if us := s.uploadsOf(ctx, t, tenantID, key); len(us) > 0 {
			if len(us) > 1 {
				t.Fatalf("%d uploads for one dropped file, want 1", len(us))
			}
			return us[0]
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no upload appeared for %s", key)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// manifests counts the commit manifests written for an upload.
func (s *suite) manifests(ctx context.Context, t *testing.T, tenantID, upload string) int {
	t.Helper()
	out, err := s.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.stack.BucketName),
		Prefix: aws.String("tenants/" + tenantID + "/manifests/" + upload + "/"),
	})
	if err != nil {
		t.Fatalf("list manifests of %s: %v", upload, err)
	}
	return len(out.Contents)
}

// timeout is a context for one test's work on a shared, busy machine.
func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
