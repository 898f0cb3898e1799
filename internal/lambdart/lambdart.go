// Package lambdart serves a Lambda function in-process through the Lambda
// Runtime API, so the local stack can run credup's functions as goroutines
// against the emulator instead of as separate bootstrap processes.
//
// It speaks the same protocol as aws-lambda-go's lambda.Start: poll
// invocation/next, run the handler under the invocation's deadline, post the
// response or an error body {"errorMessage","errorType"}.
package lambdart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Handler handles one invocation: the event payload in, the response payload
// out. The context carries the invocation's deadline and a
// lambdacontext.LambdaContext with its request ID and function ARN.
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// Runtime API headers (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
)

// errorBody is the error payload posted for a failed invocation, the shape
// Lambda reports to callers of a function that returned an error.
type errorBody struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// Serve polls runtimeAPI (host:port[/path], the value Lambda puts in
// AWS_LAMBDA_RUNTIME_API) for invocations and answers each with h, one at a
// time, as a Lambda execution environment does. It returns nil once ctx is
// done, or the error that stopped it from talking to the Runtime API.
// A panic in h is reported as the invocation's error and serving goes on.
func Serve(ctx context.Context, runtimeAPI string, h Handler) error {
	if runtimeAPI == "" {
		return errors.New("serve lambda runtime: empty runtime API address")
	}
	// A transport of its own: long polls must not share idle connections with,
	// or be rerouted by, whatever else the process does with http.DefaultTransport.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &client{base: "http://" + runtimeAPI + "/2018-06-01/runtime/invocation/", http: &http.Client{Transport: tr}}

	for {
		inv, err := c.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("serve lambda runtime %s: %w", runtimeAPI, err)
		}
		out, herr := invoke(ctx, inv, h)
		if herr != nil {
			err = c.fail(ctx, inv.id, herr)
		} else {
			err = c.respond(ctx, inv.id, out)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("serve lambda runtime %s: %w", runtimeAPI, err)
		}
	}
}

// invocation is one event handed out by invocation/next.
type invocation struct {
	id          string
	deadline    time.Time
	functionARN string
	payload     []byte
}

// invoke runs h for one invocation, turning a panic into an error so one bad
// event does not take the whole runtime down.
func invoke(ctx context.Context, inv invocation, h Handler) (out []byte, err error) {
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       inv.id,
		InvokedFunctionArn: inv.functionARN,
	})
	if !inv.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, inv.deadline)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p}
		}
	}()
	return h(ctx, inv.payload)
}

// panicError reports a recovered panic as an invocation error.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

type client struct {
	base string
	http *http.Client
}

func (c *client) next(ctx context.Context) (invocation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"next", nil)
	if err != nil {
		return invocation{}, fmt.Errorf("build next request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return invocation{}, fmt.Errorf("poll next invocation: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return invocation{}, fmt.Errorf("read next invocation: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return invocation{}, fmt.Errorf("poll next invocation: status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	inv := invocation{
		id:          resp.Header.Get(headerRequestID),
		functionARN: resp.Header.Get(headerFunctionARN),
		payload:     body,
	}
	if inv.id == "" {
		return invocation{}, fmt.Errorf("poll next invocation: no %s header", headerRequestID)
	}
	if ms := resp.Header.Get(headerDeadline); ms != "" {
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return invocation{}, fmt.Errorf("parse %s %q: %w", headerDeadline, ms, err)
		}
		inv.deadline = time.UnixMilli(n)
	}
	return inv, nil
}

func (c *client) respond(ctx context.Context, id string, payload []byte) error {
	return c.post(ctx, c.base+id+"/response", payload, nil)
}

func (c *client) fail(ctx context.Context, id string, herr error) error {
	body := errorBody{ErrorMessage: herr.Error(), ErrorType: errorType(herr)}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode error of invocation %s: %w", id, err)
	}
	return c.post(ctx, c.base+id+"/error", b, http.Header{headerErrorType: {body.ErrorType}})
}

func (c *client) post(ctx context.Context, url string, body []byte, h http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build post %s: %w", url, err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("post %s: status %d: %s", url, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// errorType names an error the way aws-lambda-go does (the Go type name of
// the error, or of the panic value), so a function reports the same errorType
// here as when deployed.
func errorType(err error) string {
	var v any = err
	var p *panicError
	if errors.As(err, &p) {
		v = p.value
	}
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
