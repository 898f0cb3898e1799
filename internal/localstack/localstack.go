// Package localstack runs credup's AWS resources on one machine: it starts
// the kumo emulator in-process and provisions on it what template.yaml
// declares (the table, the bucket and its notifications, the functions, the
// state machine), so the template and the local run cannot drift.
//
// Functions are created with a placeholder package: their code runs in this
// process or another one, against the Lambda Runtime API the stack exposes
// per function (see RuntimeAPI, FunctionEnv and package lambdart). The HTTP
// API is served by credup's local API server and only reported here.
//
// kumo keeps its state in package variables: every Stack of one process
// shares one emulated account, so stacks running at the same time need
// distinct StackNames. See docs/local-stack.md for what kumo does differently
// from AWS.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/sivchari/kumo"
)

// Options configure Start.
type Options struct {
	// Addr is where the AWS-compatible endpoint listens: "" for a random
	// loopback port, "127.0.0.1:4566" for credup dev.
	Addr string
	// TemplatePath is the SAM template; default "template.yaml", looked for
	// in the working directory and then in its parents.
	TemplatePath string
	// StackName names the resources (<StackName>-<LogicalId>) and fills
	// AWS::StackName; default "credup". Lowercase letters, digits and
	// hyphens, since it becomes part of the bucket's name.
	StackName string
	// Region is the stack's region; default, and the only one allowed, is
	// the region kumo builds ARNs with: AWS_DEFAULT_REGION as the process
	// started, else us-east-1.
	Region string
	// DataDir keeps the emulator's state across runs. kumo reads its data
	// directory from KUMO_DATA_DIR when the process starts, so DataDir must
	// equal that variable; Start refuses anything else. With DataDir set,
	// Start reuses the resources a previous run left and Close keeps them.
	DataDir string
	// Logger receives provisioning logs; default slog.Default().
	Logger *slog.Logger
}

// Stack is a running local stack.
type Stack struct {
	// Endpoint is the AWS-compatible endpoint, http://127.0.0.1:port.
	Endpoint string
	Region   string

	TableName, BucketName, StateMachineArn string
	// Functions maps each function's logical ID to its function name.
	Functions map[string]string
	// Routes maps each function's logical ID to its HttpApi route keys
	// ("GET /bulk-updates/{id}"), for the local API server.
	Routes map[string][]string
	// Resources maps every logical ID of the template to the name or ARN
	// it was provisioned as (what Ref gives for it); the HttpApi entry
	// names the API that credup's local API server stands in for.
	Resources map[string]string

	kumo      *kumo.Server
	proxy     *http.Server
	unroute   func()
	persist   bool
	logger    *slog.Logger
	tmpl      *stackTemplate
	functions map[string]functionSpec
	cleanup   []func(context.Context) error
}

// Credentials every client of the local stack uses; kumo accepts any.
const (
	localAccessKey = "test"
	localSecretKey = "test"
)

var stackNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)

// Start starts the emulator and provisions the template on it. The stack
// runs until Close; ctx bounds only the provisioning.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	tmpl, err := loadTemplate(opts.TemplatePath, naming{stack: opts.StackName, region: opts.Region})
	if err != nil {
		return nil, err
	}
	notEnforced, unsupported := tmpl.review()
	if len(unsupported) > 0 {
		return nil, unsupportedError(opts.TemplatePath, unsupported)
	}
	if len(notEnforced) > 0 {
		opts.Logger.Warn("template settings not enforced by the local stack", "template", opts.TemplatePath, "settings", strings.Join(notEnforced, "; "))
	}
	functions := map[string]functionSpec{}
	for _, id := range tmpl.resources(typeFunction) {
		f, err := tmpl.function(id)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", opts.TemplatePath, err)
		}
		functions[id] = f
	}

	s := &Stack{
		Region:    opts.Region,
		Functions: map[string]string{},
		Routes:    map[string][]string{},
		Resources: map[string]string{},
		kumo:      kumo.NewServer(),
		persist:   opts.DataDir != "",
		logger:    opts.Logger,
		tmpl:      tmpl,
		functions: functions,
	}
	s.Endpoint = s.kumo.URL
	s.unroute = routeSelfCalls(strings.TrimPrefix(s.kumo.URL, "http://"))
	if opts.Addr != "" {
		if err := s.listen(opts.Addr); err != nil {
			s.stop()
			return nil, err
		}
	}
	if err := s.provision(ctx); err != nil {
		if cerr := s.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	s.logger.Info("local stack started", "endpoint", s.Endpoint, "stack", opts.StackName,
		"table", s.TableName, "bucket", s.BucketName, "state_machine", s.StateMachineArn)
	return s, nil
}

func (o *Options) defaults() error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StackName == "" {
		o.StackName = "credup"
	}
	if !stackNamePattern.MatchString(o.StackName) {
		return fmt.Errorf("start local stack: stack name %q: want lowercase letters, digits and hyphens", o.StackName)
	}
	region := os.Getenv("AWS_DEFAULT_REGION")
	if region == "" {
		region = "us-east-1"
	}
	if o.Region == "" {
		o.Region = region
	}
	if o.Region != region {
		return fmt.Errorf("start local stack: region %s: kumo builds every ARN in %s (AWS_DEFAULT_REGION when the process started)", o.Region, region)
	}
	if o.DataDir != "" {
		want, err := filepath.Abs(o.DataDir)
		if err != nil {
			return fmt.Errorf("start local stack: data dir: %w", err)
		}
		got := os.Getenv("KUMO_DATA_DIR")
		if abs, err := filepath.Abs(got); got == "" || err != nil || abs != want {
			return fmt.Errorf("start local stack: data dir %s: kumo reads KUMO_DATA_DIR once, when the process starts; run the process with KUMO_DATA_DIR=%s", o.DataDir, want)
		}
	}
	if o.TemplatePath == "" {
		o.TemplatePath = "template.yaml"
	}
	path, err := findUpward(o.TemplatePath)
	if err != nil {
		return fmt.Errorf("start local stack: %w", err)
	}
	o.TemplatePath = path
	return nil
}

// findUpward finds a relative path in the working directory or its parents,
// so tests in a package directory find the repository's template.
func findUpward(path string) (string, error) {
	if filepath.IsAbs(path) {
		return path, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", path, err)
	}
	for {
		p := filepath.Join(dir, path)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find %s: not in the working directory or any parent", path)
		}
		dir = parent
	}
}

// listen serves the emulator on addr too, through a reverse proxy: kumo
// chooses its own port.
func (s *Stack) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("start local stack: listen on %s: %w", addr, err)
	}
	target, err := url.Parse(s.kumo.URL)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("start local stack: %w", err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // S3 virtual-hosted requests name the bucket in Host
		},
		FlushInterval: -1, // Runtime API long polls
		Transport:     &http.Transport{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.Canceled) { // a long poll given up by its client
				s.logger.Warn("local stack endpoint", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	s.proxy = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.proxy.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("local stack endpoint stopped", "addr", addr, "error", err)
		}
	}()
	s.Endpoint = "http://" + ln.Addr().String()
	return nil
}

// Close deletes what Start provisioned (unless the stack persists its state)
// and stops the emulator.
func (s *Stack) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if !s.persist {
		for i := len(s.cleanup) - 1; i >= 0; i-- {
			if err := s.cleanup[i](ctx); err != nil {
				errs = append(errs, err)
			}
		}
	} else {
		// kumo writes its state to disk in the background about once a
		// second; give the last changes time to land.
		time.Sleep(1500 * time.Millisecond)
	}
	s.cleanup = nil
	if s.proxy != nil {
		if err := s.proxy.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop local stack endpoint: %w", err))
		}
	}
	s.stop()
	return errors.Join(errs...)
}

func (s *Stack) stop() {
	if s.unroute != nil {
		s.unroute()
		s.unroute = nil
	}
	if s.kumo != nil {
		s.kumo.Close()
		s.kumo = nil
	}
}

// AWSConfig is an SDK configuration for the stack: its region, static test
// credentials, and the stack's endpoint for every service.
func (s *Stack) AWSConfig(ctx context.Context) (aws.Config, error) {
	if err := ctx.Err(); err != nil {
		return aws.Config{}, fmt.Errorf("local stack config: %w", err)
	}
	return aws.Config{
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(localAccessKey, localSecretKey, ""),
		BaseEndpoint: aws.String(s.Endpoint),
	}, nil
}

// RuntimeAPI is the Lambda Runtime API address of a function of the
// template (host:port/_runtime/<function name>), the value for
// AWS_LAMBDA_RUNTIME_API; "" for an unknown logical ID.
func (s *Stack) RuntimeAPI(logicalID string) string {
	f, ok := s.functions[logicalID]
	if !ok {
		return ""
	}
	return strings.TrimPrefix(s.Endpoint, "http://") + "/_runtime/" + f.name
}

// FunctionEnv is the environment a function of the template runs with
// locally: its template environment (Globals merged, references resolved
// to the local names), the AWS_LAMBDA_* variables Lambda would set, and the
// endpoint, region and dummy credentials of the stack. nil for an unknown
// logical ID.
func (s *Stack) FunctionEnv(logicalID string) map[string]string {
	f, ok := s.functions[logicalID]
	if !ok {
		return nil
	}
	env := make(map[string]string, len(f.env)+len(f.logEnv)+9)
	for k, v := range f.env {
		env[k] = v
	}
	for k, v := range f.logEnv {
		env[k] = v
	}
	env["AWS_ENDPOINT_URL"] = s.Endpoint
	env["AWS_REGION"] = s.Region
	env["AWS_DEFAULT_REGION"] = s.Region
	env["AWS_ACCESS_KEY_ID"] = localAccessKey
	env["AWS_SECRET_ACCESS_KEY"] = localSecretKey
	env["AWS_LAMBDA_RUNTIME_API"] = s.RuntimeAPI(logicalID)
	env["AWS_LAMBDA_FUNCTION_NAME"] = f.name
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(int(f.memory))
	env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	return env
}
