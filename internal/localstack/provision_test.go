package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/credup/credup/internal/dynamo"
)

func TestStartProvisionsTheTemplate(t *testing.T) {
	ctx := context.Background()
	obs := newObserver(t)
	s, logs := startStack(t, Options{})
	c := clientsFor(t, s)

	t.Run("resources", func(t *testing.T) {
		want := []string{"ApiFunction", "CommitFunction", "CommitStateMachine", "HttpApi", "Table", "UploadBucket", "UploadBucketPolicy", "ValidateFunction"}
		if got := keysOf(s.Resources); !slices.Equal(got, want) {
			t.Errorf("Resources = %v, want every logical ID of the template %v", got, want)
		}
		if s.Resources["Table"] != s.TableName || s.Resources["UploadBucket"] != s.BucketName || s.Resources["CommitStateMachine"] != s.StateMachineArn {
			t.Errorf("Resources %v disagree with TableName %s, BucketName %s, StateMachineArn %s", s.Resources, s.TableName, s.BucketName, s.StateMachineArn)
		}
		if got := keysOf(s.Functions); !slices.Equal(got, []string{"ApiFunction", "CommitFunction", "ValidateFunction"}) {
			t.Errorf("Functions = %v", got)
		}
	})

	t.Run("table", func(t *testing.T) {
		out, err := c.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName)})
		if err != nil {
			t.Fatal(err)
		}
		want := dynamo.TableInput(s.TableName)
		if got, want := keySchema(out.Table.KeySchema), keySchema(want.KeySchema); got != want {
			t.Errorf("key schema %s, want %s", got, want)
		}
		got := map[string]string{}
		for _, g := range out.Table.GlobalSecondaryIndexes {
			got[aws.ToString(g.IndexName)] = keySchema(g.KeySchema) + " " + string(g.Projection.ProjectionType)
		}
		for _, g := range want.GlobalSecondaryIndexes {
			name := aws.ToString(g.IndexName)
			if w := keySchema(g.KeySchema) + " " + string(g.Projection.ProjectionType); got[name] != w {
				t.Errorf("index %s = %q, want %q", name, got[name], w)
			}
			delete(got, name)
		}
		if len(got) > 0 {
			t.Errorf("unexpected indexes %v", got)
		}
		ttl, err := c.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.TableName)})
		if err != nil {
			t.Fatal(err)
		}
		if d := ttl.TimeToLiveDescription; d.TimeToLiveStatus != dbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != dynamo.TTLAttribute {
			t.Errorf("time to live %s on %q, want ENABLED on %q", d.TimeToLiveStatus, aws.ToString(d.AttributeName), dynamo.TTLAttribute)
		}
	})

	t.Run("bucket", func(t *testing.T) {
		if _, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.BucketName)}); err != nil {
			t.Fatal(err)
		}
		n, err := c.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(s.BucketName)})
		if err != nil {
			t.Fatal(err)
		}
		if len(n.LambdaFunctionConfigurations) != 1 {
			t.Fatalf("notifications %+v, want one to the validate function", n.LambdaFunctionConfigurations)
		}
		lc := n.LambdaFunctionConfigurations[0]
		validate, err := c.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(s.Functions["ValidateFunction"])})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(lc.LambdaFunctionArn) != aws.ToString(validate.Configuration.FunctionArn) {
			t.Errorf("notification goes to %s, want the validate function %s", aws.ToString(lc.LambdaFunctionArn), aws.ToString(validate.Configuration.FunctionArn))
		}
		if len(lc.Events) != 1 || lc.Events[0] != "s3:ObjectCreated:*" {
			t.Errorf("notification events %v, want s3:ObjectCreated:*", lc.Events)
		}
		if lc.Filter == nil || lc.Filter.Key == nil || len(lc.Filter.Key.FilterRules) != 1 ||
			!strings.EqualFold(string(lc.Filter.Key.FilterRules[0].Name), "prefix") || aws.ToString(lc.Filter.Key.FilterRules[0].Value) != "tenants/" {
			t.Errorf("notification filter %+v, want prefix tenants/", lc.Filter)
		}

		cors, err := c.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String(s.BucketName)})
		if err != nil {
			t.Fatal(err)
		}
		if len(cors.CORSRules) != 1 || !slices.Contains(cors.CORSRules[0].AllowedMethods, "PUT") {
			t.Errorf("CORS rules %+v, want one allowing the browser's presigned PUT", cors.CORSRules)
		}
		enc, err := c.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(s.BucketName)})
		if err != nil {
			t.Fatal(err)
		}
		if r := enc.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
			t.Errorf("encryption %+v, want AES256 by default", r)
		}
		life, err := c.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(s.BucketName)})
		if err != nil {
			t.Fatal(err)
		}
		if len(life.Rules) != 1 || life.Rules[0].Expiration == nil || aws.ToInt32(life.Rules[0].Expiration.Days) != 30 ||
			life.Rules[0].Filter == nil || aws.ToString(life.Rules[0].Filter.Prefix) != "tenants/" {
			t.Errorf("lifecycle %+v, want uploads under tenants/ to expire after the default 30 days", life.Rules)
		}
		pol, err := c.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(s.BucketName)})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(aws.ToString(pol.Policy), "aws:SecureTransport") || !strings.Contains(aws.ToString(pol.Policy), "arn:aws:s3:::"+s.BucketName) {
			t.Errorf("bucket policy %s, want the TLS-only statement on this bucket", aws.ToString(pol.Policy))
		}
	})

	t.Run("functions", func(t *testing.T) {
		contract := map[string]struct {
			memory, timeout int32
			env             map[string]string
		}{
			"ValidateFunction": {1024, 300, map[string]string{"STATE_MACHINE_ARN": s.StateMachineArn}},
			"ApiFunction": {512, 29, map[string]string{
				"STATE_MACHINE_ARN":      s.StateMachineArn,
				"VALIDATE_FUNCTION_NAME": s.Functions["ValidateFunction"],
				"UPLOAD_URL_TTL":         "15m",
			}},
			"CommitFunction": {1024, 300, map[string]string{}},
		}
		for id, want := range contract {
			t.Run(id, func(t *testing.T) {
				out, err := c.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(s.Functions[id])})
				if err != nil {
					t.Fatal(err)
				}
				cfg := out.Configuration
				if cfg.Runtime != "provided.al2023" || aws.ToString(cfg.Handler) != "bootstrap" ||
					len(cfg.Architectures) != 1 || cfg.Architectures[0] != "arm64" {
					t.Errorf("runtime %s handler %s architectures %v, want provided.al2023 bootstrap [arm64]", cfg.Runtime, aws.ToString(cfg.Handler), cfg.Architectures)
				}
				if aws.ToInt32(cfg.MemorySize) != want.memory || aws.ToInt32(cfg.Timeout) != want.timeout {
					t.Errorf("memory %d timeout %d, want %d and %d", aws.ToInt32(cfg.MemorySize), aws.ToInt32(cfg.Timeout), want.memory, want.timeout)
				}
				env := cfg.Environment.Variables
				want.env["TABLE_NAME"] = s.TableName
				want.env["BUCKET_NAME"] = s.BucketName
				want.env["EVENT_BUS_NAME"] = "default"
				want.env["LOG_LEVEL"] = "info"
				for k, v := range want.env {
					if env[k] != v {
						t.Errorf("environment %s = %q, want %q", k, env[k], v)
					}
				}
				if len(env) != len(want.env) {
					t.Errorf("environment %v, want exactly %v", keysOf(env), keysOf(want.env))
				}
			})
		}
	})

	t.Run("state machine", func(t *testing.T) {
		out, err := c.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(s.StateMachineArn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Type != "STANDARD" {
			t.Errorf("type %s, want STANDARD", out.Type)
		}
		def := aws.ToString(out.Definition)
		commit, err := c.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(s.Functions["CommitFunction"])})
		if err != nil {
			t.Fatal(err)
		}
		var parsed struct{ States map[string]json.RawMessage }
		if err := json.Unmarshal([]byte(def), &parsed); err != nil || len(parsed.States) == 0 {
			t.Fatalf("definition is not a state machine: %v", err)
		}
		if strings.Contains(def, "${") || !strings.Contains(def, aws.ToString(commit.Configuration.FunctionArn)) {
			t.Errorf("definition does not call the commit function %s with every placeholder substituted", aws.ToString(commit.Configuration.FunctionArn))
		}
	})

	t.Run("settings not enforced are reported", func(t *testing.T) {
		for _, m := range missingFrom(logs.String(),
			"UploadBucket.PublicAccessBlockConfiguration", "UploadBucketPolicy.PolicyDocument",
			"ValidateFunction.Policies", "ApiFunction.Policies", "CommitFunction.Policies", "CommitStateMachine.Policies",
			"Table.PointInTimeRecoverySpecification", "UploadBucket.LifecycleConfiguration") {
			t.Errorf("log does not report %s as not enforced locally", m)
		}
	})

	t.Run("close deletes everything", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := obs.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName)}); apiErrorCode(err) != "ResourceNotFoundException" {
			t.Errorf("table after Close: %v, want ResourceNotFoundException", err)
		}
		if _, err := obs.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.BucketName)}); err == nil {
			t.Error("bucket still there after Close")
		}
		for id, name := range s.Functions {
			if _, err := obs.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}); apiErrorCode(err) != "ResourceNotFoundException" {
				t.Errorf("function %s after Close: %v, want ResourceNotFoundException", id, err)
			}
		}
		if _, err := obs.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(s.StateMachineArn)}); apiErrorCode(err) != "StateMachineDoesNotExist" {
			t.Errorf("state machine after Close: %v, want StateMachineDoesNotExist", err)
		}
	})
}

func keySchema(ks []dbtypes.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return strings.Join(parts, ", ")
}

// BenchmarkStart measures bringing the whole stack up and down, what
// `credup demo` and every pipeline test pay once.
func BenchmarkStart(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; b.Loop(); i++ {
		s, err := Start(context.Background(), Options{StackName: fmt.Sprintf("bench%d", i), Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
