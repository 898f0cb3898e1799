package validation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Revalidation is the payload the API sends after a mapping change.
type Revalidation struct {
	Tenant string `json:"tenant"`
	Upload string `json:"upload"`
}

// HandleEvent is the validate function's entry point: an S3 notification
// (one report per object version, however often it is delivered) or a
// re-validation request.
func (s *Service) HandleEvent(ctx context.Context, payload json.RawMessage) error {
	var probe struct {
		Records json.RawMessage `json:"Records"`
		Revalidation
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		// A malformed event will not get better by being retried.
		s.log().ErrorContext(ctx, "ignoring an event that is not JSON", "error", err.Error())
		return nil
	}
	if probe.Records == nil {
		if probe.Tenant == "" || probe.Upload == "" {
			s.log().WarnContext(ctx, "ignoring an event that is neither an S3 notification nor a re-validation")
			return nil
		}
		return s.Validate(ctx, probe.Tenant, probe.Upload)
	}
	// The SDK's S3 event type decodes the URL-encoded key when it is built
	// from JSON, as here.
	var ev events.S3Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		s.log().ErrorContext(ctx, "ignoring a malformed S3 notification", "error", err.Error())
		return nil
	}
	var errs []error
	for _, r := range ev.Records {
		if !objectCreated(r.EventName) {
			continue
		}
		key := r.S3.Object.URLDecodedKey
		if key == "" {
			key = r.S3.Object.Key
		}
		etag := r.S3.Object.ETag
		if etag == "" {
			etag = r.S3.Object.Sequencer
		}
		if err := s.Object(ctx, key, etag); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("handle s3 notification: %w", err)
	}
	return nil
}

// objectCreated accepts S3's event names as AWS sends them
// ("ObjectCreated:Put") and as some emulators do ("s3:ObjectCreated:Put").
func objectCreated(name string) bool {
	return strings.HasPrefix(strings.TrimPrefix(name, "s3:"), "ObjectCreated:")
}
