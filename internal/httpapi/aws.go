package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// PresignPutAPI is the part of s3.PresignClient the presigner uses.
type PresignPutAPI interface {
	PresignPutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// S3Presigner presigns uploads into one bucket.
type S3Presigner struct {
	client PresignPutAPI
	bucket string
	now    func() time.Time
}

// NewS3Presigner presigns PUTs into bucket; client is usually
// s3.NewPresignClient(s3Client).
func NewS3Presigner(client PresignPutAPI, bucket string) *S3Presigner {
	return &S3Presigner{client: client, bucket: bucket, now: time.Now}
}

// PresignPut implements Presigner.
func (p *S3Presigner) PresignPut(ctx context.Context, key string, ttl time.Duration) (PresignedUpload, error) {
	expires := p.now().Add(ttl).UTC()
	req, err := p.client.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(p.bucket),
		Key:    aws.String(key),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return PresignedUpload{}, fmt.Errorf("presign put %s: %w", key, err)
	}
	headers := map[string]string{}
	for name, values := range req.SignedHeader {
		// The HTTP client sets Host from the URL; clients must not send it.
		if strings.EqualFold(name, "host") {
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	return PresignedUpload{Method: req.Method, URL: req.URL, Headers: headers, ExpiresAt: expires}, nil
}

// StartExecutionAPI is the part of sfn.Client the starter uses.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// SFNStarter starts commits as executions of the commit state machine.
type SFNStarter struct {
	client       StartExecutionAPI
	stateMachine string
}

// NewSFNStarter starts executions of the state machine with the given ARN.
func NewSFNStarter(client StartExecutionAPI, stateMachineARN string) *SFNStarter {
	return &SFNStarter{client: client, stateMachine: stateMachineARN}
}

// commitInput is the execution input of the commit state machine.
type commitInput struct {
	Tenant string `json:"tenant"`
	Upload string `json:"upload"`
}

// StartCommit implements Starter: the execution is named after the upload,
// and an execution of that name that already exists is this commit.
func (s *SFNStarter) StartCommit(ctx context.Context, tenant, upload string) (string, error) {
	input, err := json.Marshal(commitInput{Tenant: tenant, Upload: upload})
	if err != nil {
		return "", fmt.Errorf("encode commit input: %w", err)
	}
	out, err := s.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.stateMachine),
		Name:            aws.String(upload),
		Input:           aws.String(string(input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		return ExecutionARN(s.stateMachine, upload), nil
	case err != nil:
		return "", fmt.Errorf("start execution %s: %w", upload, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// ExecutionARN is the ARN of the execution of a state machine with the
// given name.
func ExecutionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// InvokeAPI is the part of lambda.Client the revalidator uses.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LambdaRevalidator re-validates uploads by invoking the validate function
// asynchronously.
type LambdaRevalidator struct {
	client   InvokeAPI
	function string
}

// NewLambdaRevalidator invokes the named validate function.
func NewLambdaRevalidator(client InvokeAPI, function string) *LambdaRevalidator {
	return &LambdaRevalidator{client: client, function: function}
}

// revalidateEvent is the validate function's payload for a re-validation.
type revalidateEvent struct {
	Tenant string `json:"tenant"`
	Upload string `json:"upload"`
}

// Revalidate implements Revalidator.
func (v *LambdaRevalidator) Revalidate(ctx context.Context, tenant, upload string) error {
	payload, err := json.Marshal(revalidateEvent{Tenant: tenant, Upload: upload})
	if err != nil {
		return fmt.Errorf("encode revalidate event: %w", err)
	}
	_, err = v.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(v.function),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return fmt.Errorf("invoke %s: %w", v.function, err)
	}
	return nil
}
