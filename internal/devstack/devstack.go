// Package devstack runs all of credup on one machine: the local AWS stack
// provisioned from template.yaml, the three functions serving their Lambda
// Runtime API (in this process, or each as its own process built from
// functions/<name>), and the local HTTP API with its JWT authorizer. It is
// what `credup demo`, `credup dev` and the end-to-end tests start.
package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/credup/credup/internal/function"
	"github.com/credup/credup/internal/lambdart"
	"github.com/credup/credup/internal/localapi"
	"github.com/credup/credup/internal/localstack"
)

// The issuer and audience of local tokens.
const (
	Issuer   = "credup-local"
	Audience = "credup"
)

// Function logical IDs and the directories their code lives in.
var functions = map[string]string{
	"ValidateFunction": "validate",
	"ApiFunction":      "api",
	"CommitFunction":   "commit",
}

// Options configure Start.
type Options struct {
	// AWSAddr is the AWS-compatible endpoint's address ("" = a free port).
	AWSAddr string
	// APIAddr is the HTTP API's address ("" = a free port).
	APIAddr string
	// Processes runs each function as its own process, built from
	// functions/<name>, as Lambda runs it; otherwise handlers run in
	// this process.
	Processes bool
	// Logs receives the functions' logs (nil: discarded); JSONLogs keeps
	// them as the functions write them instead of one readable line each.
	Logs     io.Writer
	JSONLogs bool
	// Key signs and verifies tokens (nil: a fresh random key).
	Key []byte
	// TemplatePath and StackName are passed to the local stack.
	TemplatePath string
	StackName    string
	DataDir      string
	// Logger receives the stack's own progress (nil: discarded).
	Logger *slog.Logger
}

// Stack is credup running locally.
type Stack struct {
	*localstack.Stack
	// APIURL is the local HTTP API, http://127.0.0.1:port.
	APIURL string
	Key    []byte

	cancel context.CancelFunc
	wg     sync.WaitGroup
	server *http.Server
	mu     sync.Mutex
	errs   []error
	// binDir holds the functions built for Processes; Close removes it.
	binDir string
}

// Start brings everything up. Close stops it.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	key := opts.Key
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("make signing key: %w", err)
		}
	}
	ls, err := localstack.Start(ctx, localstack.Options{
		Addr: opts.AWSAddr, TemplatePath: opts.TemplatePath, StackName: opts.StackName,
		DataDir: opts.DataDir, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start local AWS stack: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Stack{Stack: ls, Key: key, cancel: cancel}
	fail := func(err error) (*Stack, error) {
		s.Close()
		return nil, err
	}
	logs := opts.Logs
	if logs == nil {
		logs = io.Discard
	}
	ids := sortedIDs()
	if opts.Processes {
		dir, bins, err := build(ctx, filepath.Dir(templatePath(opts.TemplatePath)))
		s.binDir = dir
		if err != nil {
			return fail(err)
		}
		for _, id := range ids {
			if err := s.runProcess(runCtx, id, bins[id], newLogWriter(logs, functions[id], opts.JSONLogs)); err != nil {
				return fail(err)
			}
		}
	} else {
		for _, id := range ids {
			log := slog.New(slog.NewJSONHandler(newLogWriter(logs, functions[id], opts.JSONLogs), nil))
			h, err := handler(ctx, id, function.Env(ls.FunctionEnv(id)), log)
			if err != nil {
				return fail(err)
			}
			s.serve(runCtx, id, h)
		}
	}
	if err := s.serveAPI(opts.APIAddr, logger); err != nil {
		return fail(err)
	}
	return s, nil
}

func sortedIDs() []string {
	ids := make([]string, 0, len(functions))
	for id := range functions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func templatePath(p string) string {
	if p == "" {
		p = "template.yaml"
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, filepath.Base(p))
		if _, err := os.Stat(cand); err == nil {
			return cand
		}
		if filepath.Dir(dir) == dir {
			return p
		}
	}
}

// handler builds a function's handler in this process.
func handler(ctx context.Context, id string, env function.Getenv, log *slog.Logger) (lambdart.Handler, error) {
	switch id {
	case "ValidateFunction":
		h, err := function.Validate(ctx, env, log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, p []byte) ([]byte, error) {
			return []byte("null"), h(ctx, p)
		}, nil
	case "CommitFunction":
		h, err := function.Commit(ctx, env, log)
		if err != nil {
			return nil, err
		}
		return function.Typed(h), nil
	case "ApiFunction":
		h, err := function.API(ctx, env, log)
		if err != nil {
			return nil, err
		}
		return function.Typed(h), nil
	}
	return nil, fmt.Errorf("no handler for function %s", id)
}

// serve polls the function's Runtime API in this process.
func (s *Stack) serve(ctx context.Context, id string, h lambdart.Handler) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := lambdart.Serve(ctx, s.RuntimeAPI(id), h); err != nil && ctx.Err() == nil {
			s.record(fmt.Errorf("function %s stopped serving: %w", id, err))
		}
	}()
}

// build compiles every function for this machine into a new directory,
// returned even when the build fails so that it can be removed.
func build(ctx context.Context, root string) (string, map[string]string, error) {
	dir, err := os.MkdirTemp("", "credup-functions-")
	if err != nil {
		return "", nil, fmt.Errorf("build functions: %w", err)
	}
	bins := map[string]string{}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, id := range sortedIDs() {
		args = append(args, "./functions/"+functions[id])
		bins[id] = filepath.Join(dir, functions[id])
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, nil, fmt.Errorf("build functions: %w\n%s", err, out)
	}
	return dir, bins, nil
}

// runProcess runs a function binary against its Runtime API with the
// environment the template gives it.
func (s *Stack) runProcess(ctx context.Context, id, bin string, logs io.Writer) error {
	cmd := exec.CommandContext(ctx, bin)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	for k, v := range s.FunctionEnv(id) {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start function %s: %w", id, err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			s.record(fmt.Errorf("function %s exited: %w", id, err))
		}
	}()
	return nil
}

// serveAPI serves the HTTP API as API Gateway would: JWT checked, then the
// api function invoked through the Lambda API.
func (s *Stack) serveAPI(addr string, logger *slog.Logger) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for the HTTP API on %s: %w", addr, err)
	}
	cfg, err := s.AWSConfig(context.Background())
	if err != nil {
		l.Close()
		return err
	}
	client := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(s.Endpoint) })
	api := localapi.New(localapi.Options{
		Lambda: client, FunctionName: s.Functions["ApiFunction"],
		Key: s.Key, Issuer: Issuer, Audience: Audience,
		Routes: s.Routes["ApiFunction"], Logger: logger,
	})
	s.server = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	s.APIURL = "http://" + l.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.record(fmt.Errorf("HTTP API stopped: %w", err))
		}
	}()
	return nil
}

// Token returns a token of the tenant the local HTTP API accepts for a day.
func (s *Stack) Token(tenant string) (string, error) {
	return localapi.MintToken(s.Key, Issuer, Audience, tenant, 24*time.Hour)
}

// Err reports whether a function or the API stopped unexpectedly.
func (s *Stack) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}

func (s *Stack) record(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// Close stops the functions, the API and the AWS stack.
func (s *Stack) Close() error {
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = s.server.Shutdown(ctx)
		cancel()
	}
	s.cancel()
	s.wg.Wait()
	if s.binDir != "" {
		// About 100 MB of binaries per start; the processes have exited.
		_ = os.RemoveAll(s.binDir)
	}
	return s.Stack.Close()
}

// logWriter turns the functions' JSON log lines into readable ones, each
// led by the function's name.
type logWriter struct {
	mu   sync.Mutex
	out  io.Writer
	name string
	raw  bool
	buf  []byte
}

func newLogWriter(out io.Writer, name string, raw bool) *logWriter {
	return &logWriter{out: out, name: name, raw: raw}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := w.buf[:i]
		w.buf = w.buf[i+1:]
		if _, err := io.WriteString(w.out, w.format(line)); err != nil {
			return len(p), err
		}
	}
}

func (w *logWriter) format(line []byte) string {
	var rec map[string]any
	if w.raw || json.Unmarshal(line, &rec) != nil {
		return fmt.Sprintf("%-8s | %s\n", w.name, line)
	}
	ts, _ := rec["time"].(string)
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		ts = t.Format("15:04:05.000")
	}
	out := fmt.Sprintf("%-8s | %s %-5v %v", w.name, ts, rec["level"], rec["msg"])
	keys := make([]string, 0, len(rec))
	for k := range rec {
		if k != "time" && k != "level" && k != "msg" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out += fmt.Sprintf(" %s=%v", k, rec[k])
	}
	return out + "\n"
}
