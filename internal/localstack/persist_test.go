package localstack

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// persistStep is set when this test binary runs as one of the processes of
// TestDataDirKeepsStateAcrossRuns: kumo reads KUMO_DATA_DIR only when a
// process starts, so each run must be a process of its own.
const persistStep = "CREDUP_LOCALSTACK_PERSIST_STEP"

func TestDataDirKeepsStateAcrossRuns(t *testing.T) {
	if step := os.Getenv(persistStep); step != "" {
		persistChild(t, step)
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary twice")
	}
	dir := t.TempDir()
	for _, step := range []string{"write", "read"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDataDirKeepsStateAcrossRuns$", "-test.count=1")
		cmd.Env = append(os.Environ(), persistStep+"="+step, "KUMO_DATA_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s run: %v\n%s", step, err, out)
		}
	}
}

// persistChild is one run: "write" leaves a credential row and an upload
// behind; "read" starts on the same data and finds them.
func persistChild(t *testing.T, step string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{StackName: "persisted", DataDir: os.Getenv("KUMO_DATA_DIR")})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	c := clientsFor(t, s)
	key := map[string]dbtypes.AttributeValue{
		"PK": &dbtypes.AttributeValueMemberS{Value: "TENANT#acme#CRED#c-1"},
		"SK": &dbtypes.AttributeValueMemberS{Value: "CRED"},
	}
	const objectKey = "tenants/acme/uploads/u-1/sheet.csv"
	switch step {
	case "write":
		item := map[string]dbtypes.AttributeValue{"version": &dbtypes.AttributeValueMemberN{Value: "3"}}
		for k, v := range key {
			item[k] = v
		}
		if _, err := c.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.TableName), Item: item}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.BucketName), Key: aws.String(objectKey), Body: strings.NewReader("email\n")}); err != nil {
			t.Fatal(err)
		}
	case "read":
		got, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.TableName), Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got.Item["version"].(*dbtypes.AttributeValueMemberN); !ok || v.Value != "3" {
			t.Errorf("item after restart %v, want version 3", got.Item)
		}
		obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.BucketName), Key: aws.String(objectKey)})
		if err != nil {
			t.Fatalf("object after restart: %v", err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		if string(body) != "email\n" {
			t.Errorf("object after restart %q", body)
		}
	default:
		t.Fatalf("unknown step %q", step)
	}
	if err := s.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v", err)
	}
}
