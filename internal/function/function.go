// Package function builds credup's three Lambda handlers from an
// environment, the one the template gives each function. The functions'
// main packages and the local stack (which may run the handlers in its own
// process) share it, so a function is wired the same way everywhere.
package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/credup/credup/internal/awsconfig"
	"github.com/credup/credup/internal/commit"
	"github.com/credup/credup/internal/dynamo"
	"github.com/credup/credup/internal/eventbus"
	"github.com/credup/credup/internal/httpapi"
	"github.com/credup/credup/internal/objects"
	"github.com/credup/credup/internal/validation"
)

// Getenv reads one variable of a function's environment.
type Getenv func(string) string

// Env reads a function's environment from a map.
func Env(m map[string]string) Getenv {
	return func(k string) string { return m[k] }
}

// common is what every function reads.
type common struct {
	Table, Bucket, EventBus string
	Log                     *slog.Logger
	AWS                     aws.Config
}

// load reads the environment; log nil means JSON logs on standard output,
// as Lambda collects them.
func load(ctx context.Context, name string, getenv Getenv, log *slog.Logger, required ...string) (common, error) {
	c := common{Table: getenv("TABLE_NAME"), Bucket: getenv("BUCKET_NAME"), EventBus: getenv("EVENT_BUS_NAME")}
	var errs []error
	for _, k := range append([]string{"TABLE_NAME", "BUCKET_NAME"}, required...) {
		if getenv(k) == "" {
			errs = append(errs, fmt.Errorf("%s is not set", k))
		}
	}
	level := slog.LevelInfo
	if s := getenv("LOG_LEVEL"); s != "" {
		if err := level.UnmarshalText([]byte(s)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL %q is not debug, info, warn or error", s))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%s configuration: %w", name, err)
	}
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	}
	c.Log = log
	cfg, err := LoadAWS(ctx, getenv)
	if err != nil {
		return c, fmt.Errorf("%s configuration: %w", name, err)
	}
	c.AWS = cfg
	return c, nil
}

// LoadAWS loads the AWS configuration. Region, endpoint and credentials
// named in getenv win over the process environment, so handlers run inside
// another process (the local stack) reach the endpoint their own
// environment names.
func LoadAWS(ctx context.Context, getenv Getenv) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if r := getenv("AWS_REGION"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	if e := getenv("AWS_ENDPOINT_URL"); e != "" {
		opts = append(opts, config.WithBaseEndpoint(e))
	}
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("load aws config: no region; set AWS_REGION")
	}
	return cfg, nil
}

func (c common) store() *dynamo.Store {
	return dynamo.New(dynamodb.NewFromConfig(c.AWS, awsconfig.DynamoOptions), c.Table)
}

func (c common) bucket() *objects.Bucket {
	return objects.New(s3.NewFromConfig(c.AWS, awsconfig.S3Options), c.Bucket)
}

func (c common) events() *eventbus.Bus {
	return eventbus.New(eventbridge.NewFromConfig(c.AWS), c.EventBus)
}

// Validate is the validate function's handler.
func Validate(ctx context.Context, getenv Getenv, log *slog.Logger) (func(context.Context, json.RawMessage) error, error) {
	c, err := load(ctx, "validate", getenv, log)
	if err != nil {
		return nil, err
	}
	svc := &validation.Service{Store: c.store(), Objects: c.bucket(), Events: c.events(), Log: c.Log}
	if arn := getenv("STATE_MACHINE_ARN"); arn != "" {
		svc.Commits = httpapi.NewSFNStarter(sfn.NewFromConfig(c.AWS), arn)
	}
	return svc.HandleEvent, nil
}

// Commit is the commit function's handler.
func Commit(ctx context.Context, getenv Getenv, log *slog.Logger) (func(context.Context, commit.Input) (any, error), error) {
	c, err := load(ctx, "commit", getenv, log)
	if err != nil {
		return nil, err
	}
	svc := &commit.Service{Store: c.store(), Objects: c.bucket(), Events: c.events(), Log: c.Log}
	return svc.Handle, nil
}

// API is the api function's handler: credup's HTTP API behind the API
// Gateway HTTP API (v2 payload) adapter.
func API(ctx context.Context, getenv Getenv, log *slog.Logger) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	c, err := load(ctx, "api", getenv, log, "STATE_MACHINE_ARN", "VALIDATE_FUNCTION_NAME")
	if err != nil {
		return nil, err
	}
	ttl := httpapi.DefaultUploadURLTTL
	if s := getenv("UPLOAD_URL_TTL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 7*24*time.Hour {
			return nil, fmt.Errorf("api configuration: UPLOAD_URL_TTL %q is not a duration from 1s to 168h", s)
		}
		ttl = d
	}
	s3Client := s3.NewFromConfig(c.AWS, awsconfig.S3Options)
	h := httpapi.New(httpapi.Options{
		Store:        c.store(),
		Presigner:    httpapi.NewS3Presigner(s3.NewPresignClient(s3Client), c.Bucket),
		Starter:      httpapi.NewSFNStarter(sfn.NewFromConfig(c.AWS), getenv("STATE_MACHINE_ARN")),
		Revalidator:  httpapi.NewLambdaRevalidator(awslambda.NewFromConfig(c.AWS), getenv("VALIDATE_FUNCTION_NAME")),
		UploadURLTTL: ttl,
		Logger:       c.Log,
	})
	return httpadapter.NewV2(h).ProxyWithContext, nil
}

// Must stops a function that cannot start, with the reason in its log.
func Must[H any](h H, err error) H {
	if err != nil {
		slog.Error("function cannot start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	return h
}

// Typed adapts a typed handler to raw JSON in and out, as the Lambda
// Runtime API carries it.
func Typed[In, Out any](h func(context.Context, In) (Out, error)) func(context.Context, []byte) ([]byte, error) {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, fmt.Errorf("decode event: %w", err)
		}
		out, err := h(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}
