package awsconfig_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/sivchari/kumo"

	"github.com/credup/credup/internal/awsconfig"
)

// isolate keeps the developer's own AWS files and variables out of a test.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "eu-west-1")
	for _, v := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		t.Setenv(v, "")
	}
}

func TestClientOptionsFollowTheEndpoint(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantNoCRC    bool
		wantPathS3   bool
		wantEndpoint string
	}{
		{"AWS itself", nil, false, false, ""},
		{"one emulator for everything", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, true, true, "http://127.0.0.1:4566"},
		{"emulated DynamoDB only", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, true, false, "http://127.0.0.1:8000"},
		{"emulated S3 only", map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"}, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := awsconfig.Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			db := dynamodb.NewFromConfig(cfg, awsconfig.DynamoOptions).Options()
			if db.DisableValidateResponseChecksum != tt.wantNoCRC {
				t.Errorf("DynamoDB checksum validation disabled = %v, want %v", db.DisableValidateResponseChecksum, tt.wantNoCRC)
			}
			if got := aws.ToString(db.BaseEndpoint); got != tt.wantEndpoint {
				t.Errorf("DynamoDB endpoint = %q, want %q", got, tt.wantEndpoint)
			}
			if s := s3.NewFromConfig(cfg, awsconfig.S3Options).Options(); s.UsePathStyle != tt.wantPathS3 {
				t.Errorf("S3 path style = %v, want %v", s.UsePathStyle, tt.wantPathS3)
			}
		})
	}
}

func TestLoadWithoutRegionFails(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := awsconfig.Load(context.Background()); err == nil {
		t.Fatal("Load succeeded without a region; clients would fail later and less clearly")
	}
}

// The emulator sends no CRC32 header: without DynamoOptions every response
// fails its checksum (the SDK warns and may drop the connection).
func TestDynamoAgainstTheEmulator(t *testing.T) {
	srv := kumo.NewServer()
	defer srv.Close()
	isolate(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	cfg.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		warnings = append(warnings, fmt.Sprintf(format, v...))
	})
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg, awsconfig.DynamoOptions)
	// kumo keeps its state per process: the name is unique to each run.
	table := aws.String(fmt.Sprintf("probe-%d", rand.Uint32()))
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            table,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("create table on the emulator: %v", err)
	}
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: key}); err != nil {
		t.Fatalf("put item: %v", err)
	}
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key}); err != nil {
		t.Fatalf("get item: %v", err)
	}
	for _, w := range warnings {
		if strings.Contains(w, "checksum") {
			t.Errorf("SDK warned about a checksum against the emulator: %s", w)
		}
	}
}
