package localstack

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestStartRefuses(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name string
		opts func(t *testing.T) Options
		want []string // substrings of the error
	}{
		{
			name: "stack name unfit for a bucket",
			opts: func(*testing.T) Options { return Options{StackName: "Credup_Dev"} },
			want: []string{`stack name "Credup_Dev"`},
		},
		{
			name: "region other than kumo's",
			opts: func(*testing.T) Options { return Options{Region: otherRegion()} },
			want: []string{"region " + otherRegion(), "kumo builds every ARN in"},
		},
		{
			name: "data dir kumo was not started with",
			opts: func(t *testing.T) Options { return Options{DataDir: t.TempDir()} },
			want: []string{"KUMO_DATA_DIR"},
		},
		{
			name: "template that does not exist",
			opts: func(*testing.T) Options { return Options{TemplatePath: "no-such-template.yaml"} },
			want: []string{"no-such-template.yaml"},
		},
		{
			name: "resource types, properties and events it cannot run",
			opts: func(t *testing.T) Options {
				return Options{TemplatePath: writeTemplate(t, func(s string) string {
					s = strings.Replace(s, "Resources:\n", `Resources:
  Queue:
    Type: AWS::SQS::Queue
  Nightly:
    Type: AWS::Serverless::Function
    Properties:
      Layers: [arn:aws:lambda:us-east-1:000000000000:layer:x:1]
      Events:
        Tick:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
`, 1)
					return strings.Replace(s, "      Type: STANDARD\n", "      Type: STANDARD\n      Events:\n        Hook:\n          Type: Api\n          Properties: {Path: /x, Method: get}\n", 1)
				})}
			},
			want: []string{"Queue (AWS::SQS::Queue)", "Nightly.Layers", "Nightly.Events.Tick (Schedule)", "CommitStateMachine.Events"},
		},
		{
			name: "parameter without a default used by a function",
			opts: func(t *testing.T) Options {
				return Options{TemplatePath: writeTemplate(t, func(s string) string {
					return strings.Replace(s, "UPLOAD_URL_TTL: !Ref UploadUrlTtl", "UPLOAD_URL_TTL: !Ref JwtIssuer", 1)
				})}
			},
			want: []string{"ApiFunction uses parameter JwtIssuer, which has no Default"},
		},
		{
			name: "definition placeholder without a substitution",
			opts: func(t *testing.T) Options {
				return Options{TemplatePath: writeTemplate(t, func(s string) string {
					return strings.Replace(s, "CommitFunctionArn: !GetAtt CommitFunction.Arn", "CommitArn: !GetAtt CommitFunction.Arn", 1)
				})}
			},
			want: []string{"no DefinitionSubstitutions for CommitFunctionArn"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts(t)
			opts.Logger = quiet
			if opts.StackName == "" {
				opts.StackName = stackName(t)
			}
			s, err := Start(context.Background(), opts)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			for _, m := range missingFrom(err.Error(), tt.want...) {
				t.Errorf("error %q does not name %q", err, m)
			}
		})
	}
}

// otherRegion is a region kumo was not started in.
func otherRegion() string {
	if os.Getenv("AWS_DEFAULT_REGION") == "eu-central-1" {
		return "ap-south-1"
	}
	return "eu-central-1"
}

func putObject(bucket, key string) *s3.PutObjectInput {
	return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("email\n")}
}

func TestStartServesOnAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	s, _ := startStack(t, Options{Addr: addr})
	if s.Endpoint != "http://"+addr {
		t.Fatalf("Endpoint %s, want http://%s", s.Endpoint, addr)
	}
	if got := s.RuntimeAPI("CommitFunction"); got != addr+"/_runtime/"+s.Functions["CommitFunction"] {
		t.Errorf("RuntimeAPI %s, want it on %s", got, addr)
	}
	c := clientsFor(t, s)
	if _, err := c.db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName)}); err != nil {
		t.Errorf("DescribeTable through %s: %v", addr, err)
	}
	// The whole pipeline works through the address: S3 notification in,
	// Runtime API out.
	got := make(chan []byte, 1)
	serve(t, s, "ValidateFunction", 1, func(_ context.Context, p []byte) ([]byte, error) {
		if !isProbe(p) {
			got <- p
		}
		return []byte(`{}`), nil
	})
	if _, err := c.s3.PutObject(context.Background(), putObject(s.BucketName, "tenants/acme/dropbox/g-ux/a.csv")); err != nil {
		t.Fatal(err)
	}
	if p := <-got; !strings.Contains(string(p), "dropbox") {
		t.Errorf("event %s, want the dropped object", p)
	}
}

func TestFunctionEnv(t *testing.T) {
	s, _ := startStack(t, Options{})
	for _, id := range []string{"ValidateFunction", "ApiFunction", "CommitFunction"} {
		t.Run(id, func(t *testing.T) {
			env := s.FunctionEnv(id)
			want := map[string]string{
				"TABLE_NAME":               s.TableName,
				"BUCKET_NAME":              s.BucketName,
				"EVENT_BUS_NAME":           "default",
				"AWS_ENDPOINT_URL":         s.Endpoint,
				"AWS_REGION":               s.Region,
				"AWS_LAMBDA_RUNTIME_API":   s.RuntimeAPI(id),
				"AWS_LAMBDA_FUNCTION_NAME": s.Functions[id],
				"AWS_LAMBDA_LOG_FORMAT":    "JSON",
			}
			for k, v := range want {
				if env[k] != v {
					t.Errorf("%s = %q, want %q", k, env[k], v)
				}
			}
			if env["AWS_ACCESS_KEY_ID"] == "" || env["AWS_SECRET_ACCESS_KEY"] == "" {
				t.Error("no credentials for the SDK")
			}
			if !strings.HasSuffix(env["AWS_LAMBDA_RUNTIME_API"], "/_runtime/"+s.Functions[id]) {
				t.Errorf("runtime API %s is not the function's", env["AWS_LAMBDA_RUNTIME_API"])
			}
		})
	}
	t.Run("unknown function", func(t *testing.T) {
		if env := s.FunctionEnv("NoSuchFunction"); env != nil {
			t.Errorf("FunctionEnv = %v, want nil", env)
		}
		if api := s.RuntimeAPI("NoSuchFunction"); api != "" {
			t.Errorf("RuntimeAPI = %q, want empty", api)
		}
	})
}

func TestSelfCallsReachTheEmulatorAndFailFunctionErrors(t *testing.T) {
	// A stand-in emulator: Invoke answers as kumo does for a function that
	// returned an error; anything else is a plain 200.
	var (
		mu   sync.Mutex
		hits []string
	)
	emu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/invocations") {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		_, _ = io.WriteString(w, `{"errorMessage":"boom","errorType":"errorString"}`)
	}))
	defer emu.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	}))
	defer other.Close()

	remove := routeSelfCalls(strings.TrimPrefix(emu.URL, "http://"))
	defer remove()

	tests := []struct {
		name       string
		url        string
		invocation string // X-Amz-Invocation-Type
		wantStatus int
		wantHit    string // the request the stand-in emulator saw, "" for none
	}{
		{name: "synchronous invoke with a function error fails", url: "http://localhost:4566/2015-03-31/functions/f/invocations", wantStatus: 500, wantHit: "POST /2015-03-31/functions/f/invocations"},
		{name: "explicit RequestResponse fails too", url: "http://localhost:4566/2015-03-31/functions/f/invocations", invocation: "RequestResponse", wantStatus: 500, wantHit: "POST /2015-03-31/functions/f/invocations"},
		{name: "asynchronous invoke is left alone", url: "http://localhost:4566/2015-03-31/functions/f/invocations", invocation: "Event", wantStatus: 200, wantHit: "POST /2015-03-31/functions/f/invocations"},
		{name: "other calls are only rerouted", url: "http://localhost:4566/queue", wantStatus: 200, wantHit: "POST /queue"},
		{name: "other hosts are not touched", url: other.URL + "/2015-03-31/functions/f/invocations", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			hits = nil
			mu.Unlock()
			req, _ := http.NewRequest(http.MethodPost, tt.url, strings.NewReader(`{}`))
			if tt.invocation != "" {
				req.Header.Set("X-Amz-Invocation-Type", tt.invocation)
			}
			resp, err := (&http.Client{}).Do(req) // http.DefaultTransport, as kumo's clients
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			var want []string
			if tt.wantHit != "" {
				want = []string{tt.wantHit}
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(hits, ",") != strings.Join(want, ",") {
				t.Errorf("emulator saw %v, want %v", hits, want)
			}
		})
	}
}

func TestFindUpward(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "internal", "pkg")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "template.yaml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)
	got, err := findUpward("template.yaml")
	if err != nil || got != filepath.Join(root, "template.yaml") {
		t.Errorf("findUpward = %q, %v; want the template two directories up", got, err)
	}
	if _, err := findUpward("missing.yaml"); err == nil {
		t.Error("findUpward found a file that does not exist")
	}
}

func TestStartRefusesTheNameOfARunningStack(t *testing.T) {
	name := stackName(t)
	first, _ := startStack(t, Options{StackName: name})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	second, err := Start(context.Background(), Options{StackName: name, Logger: quiet})
	if err == nil {
		second.Close()
		t.Fatal("a second stack with the same name started")
	}
	if !strings.Contains(err.Error(), "same StackName") {
		t.Errorf("error %q does not say the name is taken", err)
	}
	// The failed start must not have taken the running stack's resources down.
	c := clientsFor(t, first)
	if _, err := c.db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(first.TableName)}); err != nil {
		t.Errorf("running stack's table after the failed start: %v", err)
	}
}
