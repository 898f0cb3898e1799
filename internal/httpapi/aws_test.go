package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/sivchari/kumo"

	"github.com/credup/credup/internal/httpapi"
)

func emulatorConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	}
}

// A presigned upload is usable as the API hands it out: a PUT to the URL
// with the headers, and the file is in the bucket at the key.
func TestS3PresignerOnTheEmulator(t *testing.T) {
	srv := kumo.NewServer()
	defer srv.Close()
	ctx := context.Background()
	client := s3.NewFromConfig(emulatorConfig(srv.URL), func(o *s3.Options) { o.UsePathStyle = true })
	// kumo keeps its state per process: names are unique to each run.
	bucket := fmt.Sprintf("uploads-%d", rand.Uint32())
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	p := httpapi.NewS3Presigner(s3.NewPresignClient(client), bucket)
	key := "tenants/t1/uploads/u1/UX update.xlsx"
	start := time.Now()
	put, err := p.PresignPut(ctx, key, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if put.Method != http.MethodPut || put.ExpiresAt.Before(start.Add(15*time.Minute)) || put.ExpiresAt.After(time.Now().Add(15*time.Minute)) {
		t.Errorf("presigned = %+v, want a PUT expiring in 15 minutes", put)
	}
	if _, ok := put.Headers["Host"]; ok {
		t.Errorf("headers %v tell the client to send Host", put.Headers)
	}
	req, err := http.NewRequest(put.Method, put.URL, bytes.NewReader([]byte("a,b\n1,2\n")))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range put.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT to presigned URL: %s", resp.Status)
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("uploaded object not at %s: %v", key, err)
	}
	defer obj.Body.Close()
	if b, _ := io.ReadAll(obj.Body); string(b) != "a,b\n1,2\n" {
		t.Errorf("object = %q", b)
	}
}

// Starting the commit of one upload twice starts one execution, named
// after the upload, with the tenant and upload as input.
func TestSFNStarterOnTheEmulator(t *testing.T) {
	srv := kumo.NewServer()
	defer srv.Close()
	ctx := context.Background()
	client := sfn.NewFromConfig(emulatorConfig(srv.URL))
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(fmt.Sprintf("commit-%d", rand.Uint32())),
		RoleArn:    aws.String("arn:aws:iam::000000000000:role/commit"),
		Definition: aws.String(`{"StartAt":"Wait","States":{"Wait":{"Type":"Wait","Seconds":30,"End":true}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := httpapi.NewSFNStarter(client, aws.ToString(sm.StateMachineArn))
	first, err := s.StartCommit(ctx, "t1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.StartCommit(ctx, "t1", "u1")
	if err != nil {
		t.Fatalf("second start of the same upload: %v", err)
	}
	if first != second || first != httpapi.ExecutionARN(aws.ToString(sm.StateMachineArn), "u1") {
		t.Errorf("executions %q and %q, want the same, named u1", first, second)
	}
	list, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Executions) != 1 {
		t.Fatalf("%d executions, want 1", len(list.Executions))
	}
	desc, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(first)})
	if err != nil {
		t.Fatal(err)
	}
	var in map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(desc.Input)), &in); err != nil || in["tenant"] != "t1" || in["upload"] != "u1" || len(in) != 2 {
		t.Errorf("execution input = %s, want {tenant, upload}", aws.ToString(desc.Input))
	}
}

// fakeSFN fails every start with err.
type fakeSFN struct{ err error }

func (f fakeSFN) StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	return nil, f.err
}

func TestSFNStarterPassesOtherErrorsOn(t *testing.T) {
	s := httpapi.NewSFNStarter(fakeSFN{err: errors.New("throttled")}, "arn:aws:states:us-east-1:1:stateMachine:commit")
	if _, err := s.StartCommit(context.Background(), "t1", "u1"); err == nil {
		t.Fatal("a failed start was reported as started")
	}
}

// fakeLambda records invocations.
type fakeLambda struct{ got []*lambda.InvokeInput }

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.got = append(f.got, in)
	return &lambda.InvokeOutput{StatusCode: http.StatusAccepted}, nil
}

func TestLambdaRevalidatorInvokesAsynchronously(t *testing.T) {
	f := &fakeLambda{}
	if err := httpapi.NewLambdaRevalidator(f, "credup-validate").Revalidate(context.Background(), "t1", "u1"); err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 1 {
		t.Fatalf("%d invocations, want 1", len(f.got))
	}
	in := f.got[0]
	var payload map[string]string
	if err := json.Unmarshal(in.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(in.FunctionName) != "credup-validate" || in.InvocationType != lambdatypes.InvocationTypeEvent ||
		payload["tenant"] != "t1" || payload["upload"] != "u1" || len(payload) != 2 {
		t.Errorf("invocation = %s %s %v, want an Event invocation of credup-validate with {tenant, upload}",
			aws.ToString(in.FunctionName), in.InvocationType, payload)
	}
}
