package lambdart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// fakeRuntime is a Runtime API endpoint for one function, serving under a
// path prefix the way the emulator does (/_runtime/<function>).
type fakeRuntime struct {
	srv     *httptest.Server
	prefix  string
	pending chan fakeInvocation
	results chan fakeResult

	mu     sync.Mutex
	nextID int
}

type fakeInvocation struct {
	payload  string
	deadline time.Time
}

type fakeResult struct {
	id        string
	kind      string // "response" or "error"
	body      string
	errorType string // the Lambda-Runtime-Function-Error-Type header
}

func newFakeRuntime(t *testing.T) *fakeRuntime {
	t.Helper()
	f := &fakeRuntime{
		prefix:  "/_runtime/fn",
		pending: make(chan fakeInvocation, 8),
		results: make(chan fakeResult, 8),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// addr is what a function is given as AWS_LAMBDA_RUNTIME_API.
func (f *fakeRuntime) addr() string {
	return strings.TrimPrefix(f.srv.URL, "http://") + f.prefix
}

func (f *fakeRuntime) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, f.prefix+"/2018-06-01/runtime/invocation/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodGet && rest == "next" {
		select {
		case inv := <-f.pending:
			f.mu.Lock()
			f.nextID++
			id := fmt.Sprintf("req-%d", f.nextID)
			f.mu.Unlock()
			w.Header().Set(headerRequestID, id)
			w.Header().Set(headerFunctionARN, "arn:aws:lambda:us-east-1:000000000000:function:fn")
			w.Header().Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			_, _ = io.WriteString(w, inv.payload)
		case <-r.Context().Done():
		}
		return
	}
	id, kind, ok := strings.Cut(rest, "/")
	if r.Method != http.MethodPost || !ok || (kind != "response" && kind != "error") {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.results <- fakeResult{id: id, kind: kind, body: string(body), errorType: r.Header.Get(headerErrorType)}
	w.WriteHeader(http.StatusAccepted)
}

func (f *fakeRuntime) result(t *testing.T) fakeResult {
	t.Helper()
	select {
	case r := <-f.results:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no result posted to the runtime API")
		return fakeResult{}
	}
}

type quotaError struct{ left int }

func (e *quotaError) Error() string { return fmt.Sprintf("quota: %d left", e.left) }

func TestServe(t *testing.T) {
	deadline := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	tests := []struct {
		name          string
		payload       string
		handler       Handler
		wantKind      string
		wantBody      string
		wantErrorType string
	}{
		{
			name:     "response is posted as returned",
			payload:  `{"action":"plan"}`,
			handler:  func(_ context.Context, p []byte) ([]byte, error) { return []byte(strings.ToUpper(string(p))), nil },
			wantKind: "response",
			wantBody: `{"ACTION":"PLAN"}`,
		},
		{
			name:    "handler sees the invocation's deadline and request ID",
			payload: `{}`,
			handler: func(ctx context.Context, _ []byte) ([]byte, error) {
				d, ok := ctx.Deadline()
				lc, lok := lambdacontext.FromContext(ctx)
				if !ok || !lok {
					return nil, errors.New("no deadline or lambda context")
				}
				return fmt.Appendf(nil, "%d %s %s", d.UnixMilli(), lc.AwsRequestID, lc.InvokedFunctionArn), nil
			},
			wantKind: "response",
			wantBody: fmt.Sprintf("%d req-1 arn:aws:lambda:us-east-1:000000000000:function:fn", deadline.UnixMilli()),
		},
		{
			name:          "plain error is reported with its Go type name",
			payload:       `{}`,
			handler:       func(context.Context, []byte) ([]byte, error) { return nil, errors.New("table unavailable") },
			wantKind:      "error",
			wantBody:      `{"errorMessage":"table unavailable","errorType":"errorString"}`,
			wantErrorType: "errorString",
		},
		{
			name:          "typed error is reported with its type name",
			payload:       `{}`,
			handler:       func(context.Context, []byte) ([]byte, error) { return nil, &quotaError{left: 2} },
			wantKind:      "error",
			wantBody:      `{"errorMessage":"quota: 2 left","errorType":"quotaError"}`,
			wantErrorType: "quotaError",
		},
		{
			name:          "panic is reported as an error",
			payload:       `{}`,
			handler:       func(context.Context, []byte) ([]byte, error) { panic("index out of range") },
			wantKind:      "error",
			wantBody:      `{"errorMessage":"panic: index out of range","errorType":"string"}`,
			wantErrorType: "string",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRuntime(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- Serve(ctx, f.addr(), tt.handler) }()

			f.pending <- fakeInvocation{payload: tt.payload, deadline: deadline}
			got := f.result(t)
			if got.kind != tt.wantKind || got.body != tt.wantBody || got.errorType != tt.wantErrorType {
				t.Errorf("posted %s %q (error type %q), want %s %q (error type %q)",
					got.kind, got.body, got.errorType, tt.wantKind, tt.wantBody, tt.wantErrorType)
			}
			if got.id != "req-1" {
				t.Errorf("posted for request %q, want req-1", got.id)
			}

			// Serving goes on after any outcome, panics included.
			f.pending <- fakeInvocation{payload: `{}`, deadline: deadline}
			if second := f.result(t); second.id != "req-2" {
				t.Errorf("second invocation answered as %q, want req-2", second.id)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve after cancel = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return after its context was cancelled")
			}
		})
	}
}

func TestServeFailsWhenTheRuntimeAPIDoes(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedAddr := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such function", http.StatusNotFound)
	}))
	defer broken.Close()

	noID := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{}`)
	}))
	defer noID.Close()

	tests := []struct {
		name    string
		addr    string
		wantErr string
	}{
		{name: "empty address", addr: "", wantErr: "empty runtime API address"},
		{name: "nothing listening", addr: closedAddr, wantErr: "poll next invocation"},
		{name: "next answers an error status", addr: strings.TrimPrefix(broken.URL, "http://"), wantErr: "status 404"},
		{name: "next answers without a request ID", addr: strings.TrimPrefix(noID.URL, "http://"), wantErr: "no Lambda-Runtime-Aws-Request-Id header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			called := false
			err := Serve(ctx, tt.addr, func(context.Context, []byte) ([]byte, error) { called = true; return nil, nil })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Serve = %v, want an error containing %q", err, tt.wantErr)
			}
			if called {
				t.Error("handler was called without an invocation")
			}
		})
	}
}
