package localapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/golang-jwt/jwt/v5"
	"github.com/sivchari/kumo"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/httpapi"
	"github.com/credup/credup/internal/lambdart"
	"github.com/credup/credup/internal/localapi"
	"github.com/credup/credup/internal/store/inmem"
)

const (
	issuer   = "https://credup.local"
	audience = "credup-api"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// emulator is kumo with functions served in-process through its Runtime API.
type emulator struct {
	url    string
	lambda *lambda.Client
}

var (
	sharedOnce sync.Once
	shared     *emulator
	functions  atomic.Int32
)

// newEmulator returns the emulator of this test binary: kumo's services
// keep their state per process, so every test shares one server and names
// its functions uniquely.
func newEmulator(t testing.TB) *emulator {
	t.Helper()
	sharedOnce.Do(func() {
		srv := kumo.NewServer() // lives as long as the test binary
		shared = &emulator{
			url: srv.URL,
			lambda: lambda.NewFromConfig(aws.Config{
				Region:      "us-east-1",
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
			}, func(o *lambda.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		}
	})
	return shared
}

// serve creates a function and runs h behind kumo's Runtime API until the
// test ends; it returns the function's name once it answers invocations.
func (e *emulator) serve(t testing.TB, prefix string, h lambdart.Handler) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, functions.Add(1))
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := e.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(name),
		Role:          aws.String("arn:aws:iam::000000000000:role/" + prefix),
		Runtime:       types.RuntimeProvidedal2023,
		Handler:       aws.String("bootstrap"),
		Architectures: []types.Architecture{types.ArchitectureArm64},
		Timeout:       aws.Int32(10),
		Code:          &types.FunctionCode{ZipFile: []byte("bootstrap")},
	}); err != nil {
		cancel()
		t.Fatalf("create function %s: %v", name, err)
	}
	runtimeAPI := strings.TrimPrefix(e.url, "http://") + "/_runtime/" + name
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := lambdart.Serve(ctx, runtimeAPI, h); err != nil {
			t.Errorf("serve %s: %v", name, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	// kumo routes invocations to a runtime only once it has polled.
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := e.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"warmup":true}`)})
		if err == nil && out.FunctionError == nil {
			return name
		}
		if time.Now().After(deadline) {
			t.Fatalf("function %s never became ready: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echo is a function that answers with the event it got, and counts the
// (non-warm-up) events.
type echo struct{ calls atomic.Int32 }

func (e *echo) handle(_ context.Context, payload []byte) ([]byte, error) {
	if bytes.Contains(payload, []byte(`"warmup"`)) {
		return []byte(`{}`), nil
	}
	e.calls.Add(1)
	return json.Marshal(events.APIGatewayV2HTTPResponse{
		StatusCode:        207,
		Headers:           map[string]string{"Content-Type": "application/json", "X-Echo": "yes"},
		MultiValueHeaders: map[string][]string{"X-Multi": {"a", "b"}},
		Cookies:           []string{"session=abc; Path=/", "theme=dark"},
		Body:              base64.StdEncoding.EncodeToString(payload),
		IsBase64Encoded:   true,
	})
}

func newGateway(t testing.TB, e *emulator, function string, routes ...string) *httptest.Server {
	t.Helper()
	gw := httptest.NewServer(localapi.New(localapi.Options{
		Lambda: e.lambda, FunctionName: function,
		Key: testKey, Issuer: issuer, Audience: audience,
		Routes: routes,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(gw.Close)
	return gw
}

func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func goodClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": issuer, "aud": audience, "tenant": "t1", "sub": "user-1",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"groups": []string{"admins", "issuers"}, "email_verified": true,
	}
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestBadTokensAreRefusedBeforeTheFunction(t *testing.T) {
	e := newEmulator(t)
	fn := &echo{}
	gw := newGateway(t, e, e.serve(t, "echo", fn.handle))
	past := time.Now().Add(-time.Hour).Unix()
	future := time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name          string
		authorization string
	}{
		{"no header", ""},
		{"empty bearer", "Bearer "},
		{"not a JWT", "Bearer not.a.jwt"},
		{"basic auth", "Basic dXNlcjpwYXNz"},
		{"wrong key", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-key-another-key-another-k"), goodClaims())},
		{"wrong issuer", "Bearer " + sign(t, jwt.SigningMethodHS256, testKey, with(goodClaims(), "iss", "https://evil.example"))},
		{"wrong audience", "Bearer " + sign(t, jwt.SigningMethodHS256, testKey, with(goodClaims(), "aud", "someone-else"))},
		{"no audience", "Bearer " + sign(t, jwt.SigningMethodHS256, testKey, with(goodClaims(), "aud", nil))},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodHS256, testKey, with(goodClaims(), "exp", past))},
		{"no expiry", "Bearer " + sign(t, jwt.SigningMethodHS256, testKey, with(goodClaims(), "exp", nil))},
		{"not yet valid", "Bearer " + sign(t, jwt.SigningMethodHS256, testKey, with(goodClaims(), "nbf", future))},
		{"issued in the future", "Bearer " + sign(t, jwt.SigningMethodHS256, testKey, with(goodClaims(), "iat", future))},
		{"other algorithm", "Bearer " + sign(t, jwt.SigningMethodHS512, testKey, goodClaims())},
		{"unsigned", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, goodClaims())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, gw.URL+"/bulk-updates/u1", nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || string(body) != `{"message":"Unauthorized"}` {
				t.Errorf("got %d %s, want 401 {\"message\":\"Unauthorized\"}", resp.StatusCode, body)
			}
		})
	}
	if n := fn.calls.Load(); n != 0 {
		t.Errorf("the function was invoked %d times for refused requests", n)
	}
}

// echoed sends a request through the gateway to the echo function and
// returns the response and the event the function got.
func echoed(t *testing.T, gw *httptest.Server, req *http.Request) (*http.Response, events.APIGatewayV2HTTPRequest) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var ev events.APIGatewayV2HTTPRequest
	if resp.StatusCode == 207 {
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("decode echoed event %s: %v", body, err)
		}
	}
	return resp, ev
}

func TestTheFunctionGetsTheGatewayEvent(t *testing.T) {
	e := newEmulator(t)
	fn := &echo{}
	gw := newGateway(t, e, e.serve(t, "echo", fn.handle))
	binary := []byte{0xff, 0x00, 0xfe, 'P', 'K'}
	req, _ := http.NewRequest(http.MethodPut, gw.URL+"/bulk-updates/u%201/mapping?x=1&x=2&y=", bytes.NewReader(binary))
	req.Header.Set("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testKey, goodClaims()))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Custom", "a")
	req.Header.Add("X-Custom", "b")
	req.Header.Set("Cookie", "a=1; b=2")
	resp, ev := echoed(t, gw, req)
	if resp.StatusCode != 207 {
		t.Fatalf("status %d, want the function's 207", resp.StatusCode)
	}

	if ev.Version != "2.0" || ev.RouteKey != "$default" || ev.RequestContext.RouteKey != "$default" {
		t.Errorf("version %q route %q", ev.Version, ev.RouteKey)
	}
	if ev.RawPath != "/bulk-updates/u%201/mapping" || ev.RequestContext.HTTP.Path != "/bulk-updates/u 1/mapping" {
		t.Errorf("rawPath %q path %q", ev.RawPath, ev.RequestContext.HTTP.Path)
	}
	if ev.RawQueryString != "x=1&x=2&y=" || ev.QueryStringParameters["x"] != "1,2" {
		t.Errorf("query %q %v", ev.RawQueryString, ev.QueryStringParameters)
	}
	if ev.Headers["x-custom"] != "a,b" || ev.Headers["content-type"] != "application/octet-stream" || ev.Headers["cookie"] != "" {
		t.Errorf("headers %v, want lower-case names, joined values, no cookie", ev.Headers)
	}
	if strings.Join(ev.Cookies, "|") != "a=1|b=2" {
		t.Errorf("cookies %v", ev.Cookies)
	}
	if !ev.IsBase64Encoded {
		t.Error("binary body not base64 encoded")
	} else if got, _ := base64.StdEncoding.DecodeString(ev.Body); !bytes.Equal(got, binary) {
		t.Errorf("body %v, want %v", got, binary)
	}
	rc := ev.RequestContext
	if rc.HTTP.Method != http.MethodPut || rc.HTTP.SourceIP != "127.0.0.1" || rc.RequestID == "" {
		t.Errorf("request context %+v", rc)
	}
	if resp.Header.Get("Apigw-Requestid") != rc.RequestID {
		t.Errorf("response request ID %q, event's %q", resp.Header.Get("Apigw-Requestid"), rc.RequestID)
	}
	if rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		t.Fatal("no authorizer claims")
	}
	claims := rc.Authorizer.JWT.Claims
	want := map[string]string{
		"tenant": "t1", "iss": issuer, "aud": audience, "sub": "user-1",
		"exp": jsonNumber(goodClaims()["exp"]), "groups": "[admins issuers]", "email_verified": "true",
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %q, want %q", k, claims[k], v)
		}
	}

	// The function's response comes back as it shaped it.
	if resp.Header.Get("X-Echo") != "yes" || strings.Join(resp.Header.Values("X-Multi"), ",") != "a,b" {
		t.Errorf("response headers %v", resp.Header)
	}
	if got := resp.Header.Values("Set-Cookie"); strings.Join(got, "|") != "session=abc; Path=/|theme=dark" {
		t.Errorf("Set-Cookie %v", got)
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestTextBodiesTravelAsText(t *testing.T) {
	e := newEmulator(t)
	fn := &echo{}
	gw := newGateway(t, e, e.serve(t, "echo", fn.handle))
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/groups/g/bulk-updates", strings.NewReader(`{"fileName":"é.csv"}`))
	req.Header.Set("Authorization", sign(t, jwt.SigningMethodHS256, testKey, goodClaims())) // no Bearer: the gateway accepts it
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, ev := echoed(t, gw, req)
	if resp.StatusCode != 207 || ev.IsBase64Encoded || ev.Body != `{"fileName":"é.csv"}` {
		t.Errorf("status %d, base64 %v, body %q", resp.StatusCode, ev.IsBase64Encoded, ev.Body)
	}
}

func TestRoutes(t *testing.T) {
	e := newEmulator(t)
	fn := &echo{}
	gw := newGateway(t, e, e.serve(t, "echo", fn.handle),
		"GET /bulk-updates/{id}", "PUT /bulk-updates/{id}/mapping", "GET /bulk-updates/latest", "ANY /files/{proxy+}")
	token := "Bearer " + sign(t, jwt.SigningMethodHS256, testKey, goodClaims())
	tests := []struct {
		method, path string
		wantRoute    string
		wantParams   map[string]string
	}{
		{http.MethodGet, "/bulk-updates/u1", "GET /bulk-updates/{id}", map[string]string{"id": "u1"}},
		{http.MethodGet, "/bulk-updates/latest", "GET /bulk-updates/latest", nil},
		{http.MethodPut, "/bulk-updates/u1/mapping", "PUT /bulk-updates/{id}/mapping", map[string]string{"id": "u1"}},
		{http.MethodDelete, "/files/a/b.csv", "ANY /files/{proxy+}", map[string]string{"proxy": "a/b.csv"}},
		{http.MethodPost, "/bulk-updates/u1", "", nil},
		{http.MethodGet, "/nowhere", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			before := fn.calls.Load()
			req, _ := http.NewRequest(tt.method, gw.URL+tt.path, nil)
			req.Header.Set("Authorization", token)
			resp, ev := echoed(t, gw, req)
			if tt.wantRoute == "" {
				if resp.StatusCode != http.StatusNotFound || fn.calls.Load() != before {
					t.Errorf("status %d, function called %v; want 404 without invoking", resp.StatusCode, fn.calls.Load() != before)
				}
				return
			}
			if ev.RouteKey != tt.wantRoute || len(ev.PathParameters) != len(tt.wantParams) {
				t.Fatalf("route %q params %v, want %q %v", ev.RouteKey, ev.PathParameters, tt.wantRoute, tt.wantParams)
			}
			for k, v := range tt.wantParams {
				if ev.PathParameters[k] != v {
					t.Errorf("param %s = %q, want %q", k, ev.PathParameters[k], v)
				}
			}
		})
	}
}

func TestFunctionErrorsAreGatewayErrors(t *testing.T) {
	e := newEmulator(t)
	name := e.serve(t, "broken", func(_ context.Context, payload []byte) ([]byte, error) {
		if bytes.Contains(payload, []byte(`"warmup"`)) {
			return []byte(`{}`), nil
		}
		return nil, errors.New("boom: internal detail")
	})
	gw := newGateway(t, e, name)
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/bulk-updates/u1", nil)
	req.Header.Set("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testKey, goodClaims()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || string(body) != `{"message":"Internal Server Error"}` {
		t.Errorf("got %d %s, want the gateway's 500", resp.StatusCode, body)
	}
}

// noopPresigner, noopStarter and noopRevalidator stand in for AWS behind
// the real API handler.
type noopPresigner struct{}

func (noopPresigner) PresignPut(_ context.Context, key string, ttl time.Duration) (httpapi.PresignedUpload, error) {
	return httpapi.PresignedUpload{Method: http.MethodPut, URL: "http://bucket.local/" + key, Headers: map[string]string{}, ExpiresAt: time.Now().Add(ttl)}, nil
}

type noopStarter struct{}

func (noopStarter) StartCommit(context.Context, string, string) (string, error) { return "exec", nil }

type noopRevalidator struct{}

func (noopRevalidator) Revalidate(context.Context, string, string) error { return nil }

// The real API handler behind the real Lambda adapter, invoked through the
// emulator: the tenant of the token is the tenant the API serves.
func TestThroughTheAPIFunction(t *testing.T) {
	ctx := context.Background()
	st := inmem.New()
	for _, tn := range []string{"t1", "t2"} {
		if err := st.PutTenant(ctx, bulk.Tenant{ID: tn, Credits: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutGroup(ctx, "t1", bulk.Group{ID: "g-ux", Name: "UX Foundations"}); err != nil {
		t.Fatal(err)
	}
	adapter := httpadapter.NewV2(httpapi.New(httpapi.Options{
		Store: st, Presigner: noopPresigner{}, Starter: noopStarter{}, Revalidator: noopRevalidator{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	e := newEmulator(t)
	name := e.serve(t, "api", func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		res, err := adapter.ProxyWithContext(ctx, ev)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	})
	gw := newGateway(t, e, name)

	call := func(tenant, method, path, body string) (*http.Response, []byte) {
		t.Helper()
		token, err := localapi.MintToken(testKey, issuer, audience, tenant, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(method, gw.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	resp, body := call("t1", http.MethodPost, "/groups/g-ux/bulk-updates", `{"fileName":"ux.csv"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct {
		ID        string `json:"id"`
		ObjectKey string `json:"objectKey"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if created.ObjectKey != "tenants/t1/uploads/"+created.ID+"/ux.csv" {
		t.Errorf("object key %q is not under the token's tenant", created.ObjectKey)
	}

	resp, body = call("t1", http.MethodGet, "/bulk-updates/"+created.ID, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"awaiting_upload"`) {
		t.Errorf("get own upload: %d %s", resp.StatusCode, body)
	}
	resp, body = call("t2", http.MethodGet, "/bulk-updates/"+created.ID, "")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("another tenant's upload: %d %s, want a 404 problem", resp.StatusCode, body)
	}

	// A binary download survives the trip through Lambda's JSON payloads.
	resp, body = call("t1", http.MethodGet, "/groups/g-ux/template?format=xlsx", "")
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte("PK\x03\x04")) {
		t.Errorf("xlsx template: %d, %d bytes starting %q", resp.StatusCode, len(body), body[:min(4, len(body))])
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "UX Foundations-template.xlsx") {
		t.Errorf("Content-Disposition %q", cd)
	}
}

// BenchmarkGatewayRoundTrip measures what the local gateway adds to a
// request: JWT check, event, synchronous invoke through the emulator's
// Runtime API, response.
func BenchmarkGatewayRoundTrip(b *testing.B) {
	e := newEmulator(b)
	fn := &echo{}
	gw := newGateway(b, e, e.serve(b, "echo", fn.handle))
	token := "Bearer " + sign(b, jwt.SigningMethodHS256, testKey, goodClaims())
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/bulk-updates/u1", nil)
		req.Header.Set("Authorization", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 207 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
