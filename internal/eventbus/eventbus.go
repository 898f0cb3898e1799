// Package eventbus publishes credup's events to EventBridge: source
// "credup", detail types "BulkUpdate Validated|Committed|Failed".
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Source is the source of every credup event.
const Source = "credup"

// API is the part of the EventBridge client the bus uses.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus is one event bus.
type Bus struct {
	client API
	name   string
}

// New returns the bus called name ("" or "default" for the default bus).
func New(client API, name string) *Bus {
	if name == "" {
		name = "default"
	}
	return &Bus{client: client, name: name}
}

// Publish puts one event on the bus.
func (b *Bus) Publish(ctx context.Context, detailType string, detail any) error {
	body, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encode %s detail: %w", detailType, err)
	}
	out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(b.name),
		Source:       aws.String(Source),
		DetailType:   aws.String(detailType),
		Detail:       aws.String(string(body)),
	}}})
	if err != nil {
		return fmt.Errorf("put event %s: %w", detailType, err)
	}
	if out.FailedEntryCount > 0 {
		msg := "unknown"
		if len(out.Entries) > 0 && out.Entries[0].ErrorMessage != nil {
			msg = *out.Entries[0].ErrorMessage
		}
		return fmt.Errorf("put event %s: rejected: %s", detailType, msg)
	}
	return nil
}
