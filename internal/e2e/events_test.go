package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/lambdart"
)

// busEvent is an EventBridge event as a subscriber's Lambda function gets it.
type busEvent struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	RawDetail  json.RawMessage `json:"detail"`
	Detail     eventDetail     `json:"-"`
}

// eventDetail is the detail of credup's events, as DESIGN.md promises it:
// tenant, group, upload, status, summary counts, credits charged.
type eventDetail struct {
	Tenant         string        `json:"tenant"`
	Group          string        `json:"group"`
	Upload         string        `json:"upload"`
	Status         string        `json:"status"`
	ReportVersion  int           `json:"reportVersion"`
	Summary        *bulk.Summary `json:"summary"`
	Results        *bulk.Results `json:"results"`
	CreditsCharged int           `json:"creditsCharged"`
	Failure        string        `json:"failure"`
}

// eventSink subscribes to credup's events as a customer would: a rule on
// the default bus matching source "credup", whose target is a Lambda
// function served here through the emulator's Runtime API.
type eventSink struct {
	bus      *eventbridge.Client
	lambda   *lambda.Client
	rule     string
	function string
	cancel   context.CancelFunc
	done     chan struct{}

	mu     sync.Mutex
	events []busEvent
}

func startEventSink(ctx context.Context, s *suite, name string) (*eventSink, error) {
	code, err := placeholderPackage()
	if err != nil {
		return nil, err
	}
	fn, err := s.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      ltypes.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Role:         aws.String("arn:aws:iam::000000000000:role/" + name),
		Code:         &ltypes.FunctionCode{ZipFile: code},
	})
	if err != nil {
		return nil, fmt.Errorf("create event sink function: %w", err)
	}
	sink := &eventSink{bus: s.bus, lambda: s.lambda, rule: name + "-rule", function: name, done: make(chan struct{})}
	runCtx, cancel := context.WithCancel(context.Background())
	sink.cancel = cancel
	addr := strings.TrimPrefix(s.stack.Endpoint, "http://") + "/_runtime/" + name
	go func() {
		defer close(sink.done)
		_ = lambdart.Serve(runCtx, addr, sink.handle)
	}()
	if err := waitPolled(ctx, s.lambda, name); err != nil {
		sink.stop(ctx)
		return nil, fmt.Errorf("event sink: %w", err)
	}
	if _, err := s.bus.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String(sink.rule),
		EventBusName: aws.String("default"),
		EventPattern: aws.String(`{"source":["credup"]}`),
		State:        ebtypes.RuleStateEnabled,
	}); err != nil {
		sink.stop(ctx)
		return nil, fmt.Errorf("create event rule: %w", err)
	}
	out, err := s.bus.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule:         aws.String(sink.rule),
		EventBusName: aws.String("default"),
		Targets:      []ebtypes.Target{{Id: aws.String("sink"), Arn: fn.FunctionArn}},
	})
	if err == nil && out.FailedEntryCount > 0 {
		err = fmt.Errorf("%d targets refused", out.FailedEntryCount)
	}
	if err != nil {
		sink.stop(ctx)
		return nil, fmt.Errorf("target the event rule at the sink: %w", err)
	}
	return sink, nil
}

// placeholderPackage is a valid deployment package; the sink's code runs
// here, against the Runtime API.
func placeholderPackage() ([]byte, error) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("bootstrap")
	if err == nil {
		_, err = w.Write([]byte("#!/bin/sh\nexit 1\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	return b.Bytes(), err
}

func (e *eventSink) handle(_ context.Context, payload []byte) ([]byte, error) {
	var ev busEvent
	if err := json.Unmarshal(payload, &ev); err != nil || ev.Source == "" {
		return []byte(`{}`), nil // a probe, not an event
	}
	if err := json.Unmarshal(ev.RawDetail, &ev.Detail); err != nil {
		return nil, fmt.Errorf("decode detail of %s: %w", ev.DetailType, err)
	}
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	return []byte(`{}`), nil
}

func (e *eventSink) stop(ctx context.Context) {
	_, _ = e.bus.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(e.rule), EventBusName: aws.String("default"), Ids: []string{"sink"}})
	_, _ = e.bus.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(e.rule), EventBusName: aws.String("default")})
	e.cancel()
	<-e.done
	_, _ = e.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(e.function)})
}

// of returns the events received so far about one upload, in arrival order.
func (e *eventSink) of(tenant, upload string) []busEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []busEvent
	for _, ev := range e.events {
		if ev.Detail.Tenant == tenant && ev.Detail.Upload == upload {
			out = append(out, ev)
		}
	}
	return out
}

// wait polls until an event about the upload satisfies ok, or ctx ends.
func (e *eventSink) wait(ctx context.Context, t *testing.T, tenant, upload string, what string, ok func(busEvent) bool) busEvent {
	t.Helper()
	for {
		for _, ev := range e.of(tenant, upload) {
			if ok(ev) {
				return ev
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %s event for upload %s arrived (got %d events about it: %s)", what, upload, len(e.of(tenant, upload)), describe(e.of(tenant, upload)))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func describe(evs []busEvent) string {
	var parts []string
	for _, ev := range evs {
		parts = append(parts, fmt.Sprintf("%s(%s v%d)", ev.DetailType, ev.Detail.Status, ev.Detail.ReportVersion))
	}
	return strings.Join(parts, ", ")
}
