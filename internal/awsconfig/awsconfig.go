// Package awsconfig loads the AWS configuration every credup function
// shares and adjusts SDK clients for the endpoint they talk to: AWS itself,
// or an emulator (kumo, LocalStack) named by the standard AWS_ENDPOINT_URL
// variables, which the SDK reads itself.
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Load reads the default AWS configuration: region, credentials and
// endpoints from the environment and shared config files.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("load aws config: no region; set AWS_REGION")
	}
	return cfg, nil
}

// DynamoOptions adjusts a DynamoDB client for an endpoint override: an
// emulator sends no CRC32 header, so response checksum validation is
// turned off, and only then. Pass it to dynamodb.NewFromConfig after any
// option that sets BaseEndpoint itself.
func DynamoOptions(o *dynamodb.Options) {
	// NewFromConfig has already resolved AWS_ENDPOINT_URL(_DYNAMODB) and
	// the shared config's endpoint_url into BaseEndpoint by now.
	if o.BaseEndpoint != nil {
		o.DisableValidateResponseChecksum = true
	}
}

// S3Options adjusts an S3 client for an endpoint override: emulators serve
// buckets by path (http://host/bucket/key), not as virtual hosts.
func S3Options(o *s3.Options) {
	if o.BaseEndpoint != nil {
		o.UsePathStyle = true
		// Emulators send no response checksums; validate only where an
		// operation requires it.
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}
}
