package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/credup/credup/internal/lambdart"
)

// serve runs h as a function of the stack, through the Runtime API address
// its FunctionEnv gives, on n pollers (concurrent execution environments),
// until the test ends.
func serve(t *testing.T, s *Stack, logicalID string, n int, h lambdart.Handler) {
	t.Helper()
	addr := s.FunctionEnv(logicalID)["AWS_LAMBDA_RUNTIME_API"]
	if addr == "" {
		t.Fatalf("no runtime API for %s", logicalID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if err := lambdart.Serve(ctx, addr, h); err != nil {
				t.Errorf("serve %s: %v", logicalID, err)
			}
		})
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	// kumo drops asynchronous events for a function nobody has polled for
	// yet, so wait until the pollers are registered.
	waitPolled(t, s, logicalID)
}

// waitPolled waits until a synchronous Invoke no longer answers "no runtime
// handler", i.e. a poller is registered, by invoking the function with a
// probe the handlers recognise.
func waitPolled(t *testing.T, s *Stack, logicalID string) {
	t.Helper()
	c := clientsFor(t, s)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// A probe handed to a poller of an earlier subtest just as it was
		// cancelled is lost, and kumo would wait the function's whole
		// timeout for its answer: give each probe a short deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		out, err := c.fn.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String(s.Functions[logicalID]),
			Payload:      []byte(probe),
		})
		cancel()
		if err == nil && out.FunctionError == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never polled the runtime API (last: %v)", logicalID, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const probe = `{"probe":true}`

func isProbe(payload []byte) bool { return string(payload) == probe }

func TestUploadNotifiesTheValidateFunction(t *testing.T) {
	s, _ := startStack(t, Options{})
	c := clientsFor(t, s)

	got := make(chan []byte, 4)
	serve(t, s, "ValidateFunction", 1, func(_ context.Context, p []byte) ([]byte, error) {
		if !isProbe(p) {
			got <- p
		}
		return []byte(`{}`), nil
	})

	tests := []struct {
		name string
		key  string
	}{
		{name: "API upload with a space, a plus and an accent", key: "tenants/acme/uploads/u-1/Cohort A+B été.xlsx"},
		{name: "drop-to-bucket file", key: "tenants/acme/dropbox/g-ux/spring.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			req, err := s3.NewPresignClient(c.s3).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.BucketName), Key: aws.String(tt.key)})
			if err != nil {
				t.Fatal(err)
			}
			// A browser asks first; the bucket's CORS rule lets it PUT.
			pre, _ := http.NewRequest(http.MethodOptions, req.URL, nil)
			pre.Header.Set("Origin", "https://app.example.com")
			pre.Header.Set("Access-Control-Request-Method", http.MethodPut)
			presp, err := http.DefaultClient.Do(pre)
			if err != nil {
				t.Fatal(err)
			}
			presp.Body.Close()
			if o := presp.Header.Get("Access-Control-Allow-Origin"); o != "https://app.example.com" && o != "*" {
				t.Errorf("preflight status %d allows origin %q, want the browser's", presp.StatusCode, o)
			}

			put, _ := http.NewRequest(req.Method, req.URL, strings.NewReader("email,grade\nana@example.com,A\n"))
			resp, err := http.DefaultClient.Do(put)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("presigned PUT: status %d", resp.StatusCode)
			}

			var payload []byte
			select {
			case payload = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("validate function got no S3 event")
			}
			var ev events.S3Event
			if err := json.Unmarshal(payload, &ev); err != nil {
				t.Fatalf("event %s: %v", payload, err)
			}
			if len(ev.Records) != 1 {
				t.Fatalf("event has %d records, want 1: %s", len(ev.Records), payload)
			}
			r := ev.Records[0]
			// kumo names it s3:ObjectCreated:Put, AWS ObjectCreated:Put.
			if !strings.HasSuffix(r.EventName, "ObjectCreated:Put") {
				t.Errorf("event name %q, want ObjectCreated:Put", r.EventName)
			}
			if r.S3.Bucket.Name != s.BucketName {
				t.Errorf("bucket %q, want %q", r.S3.Bucket.Name, s.BucketName)
			}
			if r.S3.Object.URLDecodedKey != tt.key {
				t.Errorf("key %q decodes to %q, want %q", r.S3.Object.Key, r.S3.Object.URLDecodedKey, tt.key)
			}
		})
	}
}

// commitFake stands in for the commit function: it records every call and
// answers as the contract says, failing the actions it is told to.
type commitFake struct {
	batches []int
	status  string // what plan reports
	failOn  string // an action that always fails, or ""

	mu    sync.Mutex
	calls []commitCall
}

type commitCall struct {
	Action string          `json:"action"`
	Tenant string          `json:"tenant"`
	Upload string          `json:"upload"`
	Batch  *int            `json:"batch"`
	Error  json.RawMessage `json:"error"`
}

func (f *commitFake) handle(_ context.Context, payload []byte) ([]byte, error) {
	if isProbe(payload) {
		return []byte(`{}`), nil
	}
	var c commitCall
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", payload, err)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	if c.Action == f.failOn {
		return nil, errors.New("table unavailable during " + c.Action)
	}
	switch c.Action {
	case "plan":
		return json.Marshal(map[string]any{"tenant": c.Tenant, "upload": c.Upload, "status": f.status, "batches": f.batches, "batchCount": len(f.batches)})
	case "apply":
		return json.Marshal(map[string]any{"batch": *c.Batch, "applied": 49, "conflicts": 0, "credits": 1})
	case "finish":
		return []byte(`{"status":"completed"}`), nil
	case "fail":
		return []byte(`{}`), nil
	}
	return nil, fmt.Errorf("unknown action %q", c.Action)
}

func (f *commitFake) called(action string) []commitCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []commitCall
	for _, c := range f.calls {
		if c.Action == action {
			out = append(out, c)
		}
	}
	return out
}

func TestCommitStateMachine(t *testing.T) {
	tests := []struct {
		name   string
		fake   *commitFake
		status sfntypes.ExecutionStatus
		// calls per action; apply batches in any order
		plans, finishes, fails int
		applied                []int
		output                 string // the execution's result status, when it succeeds
	}{
		{
			name:   "ready plan applies every batch once",
			fake:   &commitFake{batches: []int{0, 1, 2}, status: "ready"},
			status: sfntypes.ExecutionStatusSucceeded,
			plans:  1, finishes: 1, applied: []int{0, 1, 2},
			output: "completed",
		},
		{
			name:   "stale plan goes straight to finish",
			fake:   &commitFake{batches: []int{}, status: "stale"},
			status: sfntypes.ExecutionStatusSucceeded,
			plans:  1, finishes: 1,
			output: "completed",
		},
		{
			name:   "failing plan is retried, then caught and marks the upload failed",
			fake:   &commitFake{batches: []int{0}, status: "ready", failOn: "plan"},
			status: sfntypes.ExecutionStatusFailed,
			plans:  3, fails: 1,
		},
		{
			name:   "failing apply is caught and marks the upload failed",
			fake:   &commitFake{batches: []int{0}, status: "ready", failOn: "apply"},
			status: sfntypes.ExecutionStatusFailed,
			plans:  1, fails: 1, applied: []int{0, 0, 0},
		},
	}
	s, _ := startStack(t, Options{})
	c := clientsFor(t, s)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := tt.fake
			// One commit function serves one subtest at a time.
			serve(t, s, "CommitFunction", 4, fake.handle)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			upload := fmt.Sprintf("u-%d", i)
			start, err := c.sfn.StartExecution(ctx, &sfn.StartExecutionInput{
				StateMachineArn: aws.String(s.StateMachineArn),
				Name:            aws.String(upload),
				Input:           aws.String(`{"tenant":"acme","upload":"` + upload + `"}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			out := waitExecution(ctx, t, c.sfn, aws.ToString(start.ExecutionArn))
			if out.Status != tt.status {
				t.Fatalf("execution %s (error %s: %s), want %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause), tt.status)
			}

			if n := len(fake.called("plan")); n != tt.plans {
				t.Errorf("plan called %d times, want %d", n, tt.plans)
			}
			if n := len(fake.called("finish")); n != tt.finishes {
				t.Errorf("finish called %d times, want %d", n, tt.finishes)
			}
			var applied []int
			for _, call := range fake.called("apply") {
				if call.Tenant != "acme" || call.Upload != upload || call.Batch == nil {
					t.Errorf("apply called with %+v, want tenant, upload and batch", call)
					continue
				}
				applied = append(applied, *call.Batch)
			}
			slices.Sort(applied)
			if !slices.Equal(applied, tt.applied) {
				t.Errorf("apply called for batches %v, want %v", applied, tt.applied)
			}

			fails := fake.called("fail")
			if len(fails) != tt.fails {
				t.Fatalf("fail called %d times, want %d", len(fails), tt.fails)
			}
			if tt.fails > 0 {
				var e struct{ Error, Cause string }
				if err := json.Unmarshal(fails[0].Error, &e); err != nil || e.Error == "" || !strings.Contains(e.Cause, "table unavailable") {
					t.Errorf("fail got error %s, want {Error, Cause} carrying the function's message", fails[0].Error)
				}
				if fails[0].Tenant != "acme" || fails[0].Upload != upload {
					t.Errorf("fail called for %s/%s, want acme/%s", fails[0].Tenant, fails[0].Upload, upload)
				}
				if aws.ToString(out.Error) != "CommitFailed" {
					t.Errorf("execution error %q, want CommitFailed", aws.ToString(out.Error))
				}
			}
			if tt.output != "" {
				var o struct {
					Result struct{ Status string }
					Plan   json.RawMessage
				}
				if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &o); err != nil || o.Result.Status != tt.output {
					t.Errorf("output %s, want result status %s", aws.ToString(out.Output), tt.output)
				}
			}
		})
	}
}

func waitExecution(ctx context.Context, t *testing.T, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	for {
		out, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out
		}
		select {
		case <-ctx.Done():
			t.Fatalf("execution still running: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
