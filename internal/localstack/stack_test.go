package localstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
	"github.com/sivchari/kumo"
)

// stackName is a name no other stack of this test process uses: kumo's
// state is shared by every emulator in a process.
func stackName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startStack starts a stack of the repository's template and closes it when
// the test ends.
func startStack(t *testing.T, opts Options) (*Stack, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if opts.StackName == "" {
		opts.StackName = stackName(t)
	}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if s.kumo != nil { // not closed by the test itself
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	return s, logs
}

// observer is an emulator of its own that sees the same state as every
// stack of the process, so a test can look at a stack after it closed.
type observer struct {
	db  *dynamodb.Client
	s3  *s3.Client
	fn  *lambda.Client
	sfn *sfn.Client
}

func newObserver(t *testing.T) observer {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	return observer{
		db:  dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		fn:  lambda.NewFromConfig(cfg),
		sfn: sfn.NewFromConfig(cfg),
	}
}

// clientsFor are SDK clients on a stack's endpoint, configured by AWSConfig.
func clientsFor(t *testing.T, s *Stack) observer {
	t.Helper()
	cfg, err := s.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return observer{
		db:  dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }),
		s3:  s3.NewFromConfig(cfg),
		fn:  lambda.NewFromConfig(cfg),
		sfn: sfn.NewFromConfig(cfg),
	}
}

func apiErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// repoFile is a path relative to the repository root.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := findUpward("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(filepath.Dir(p), rel)
}

// writeTemplate writes a variant of the repository's template, with its
// state machine definition beside it, and returns its path.
func writeTemplate(t *testing.T, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	def, err := os.ReadFile(repoFile(t, "statemachine/commit.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "statemachine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "statemachine", "commit.asl.json"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	out := edit(string(b))
	if out == string(b) {
		t.Fatal("template edit changed nothing")
	}
	path := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func keysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// missingFrom lists the wanted substrings that s lacks.
func missingFrom(s string, want ...string) []string {
	var missing []string
	for _, w := range want {
		if !strings.Contains(s, w) {
			missing = append(missing, w)
		}
	}
	return missing
}
