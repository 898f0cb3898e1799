package localstack

import (
	"net/http"
	"slices"
	"strings"
	"sync"
)

// kumoSelfAddr is where kumo v0.33.1 sends its own cross-service calls (an S3
// notification invoking Lambda, a Step Functions task invoking Lambda),
// whatever port the emulator actually serves on.
const kumoSelfAddr = "localhost:4566"

// selfCalls routes kumo's cross-service calls to an emulator of this
// process. kumo makes them with http.DefaultTransport, so this wraps it.
// kumo keeps its state in package variables, shared by every emulator in
// the process, so any running one will do.
type selfCalls struct {
	next http.RoundTripper

	mu      sync.Mutex
	targets []string // host:port of running emulators, newest last
}

var (
	routes      *selfCalls
	installOnce sync.Once
)

// routeSelfCalls sends kumo's cross-service calls to target (host:port)
// until the returned func is called.
func routeSelfCalls(target string) (remove func()) {
	installOnce.Do(func() {
		routes = &selfCalls{next: http.DefaultTransport}
		http.DefaultTransport = routes
	})
	routes.mu.Lock()
	routes.targets = append(routes.targets, target)
	routes.mu.Unlock()
	return func() {
		routes.mu.Lock()
		defer routes.mu.Unlock()
		if i := slices.Index(routes.targets, target); i >= 0 {
			routes.targets = slices.Delete(routes.targets, i, i+1)
		}
	}
}

func (s *selfCalls) target() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.targets) == 0 {
		return ""
	}
	return s.targets[len(s.targets)-1]
}

// RoundTrip implements http.RoundTripper.
func (s *selfCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	target := s.target()
	if r.URL.Host != kumoSelfAddr || target == "" {
		return s.next.RoundTrip(r)
	}
	out := r.Clone(r.Context())
	out.URL.Host = target
	out.Host = ""
	resp, err := s.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if isSyncInvoke(r) && resp.StatusCode == http.StatusOK && resp.Header.Get("X-Amz-Function-Error") != "" {
		// kumo's Step Functions treat any 200 from Invoke as success, so a
		// function's error would become the task's output. Failing the
		// call makes it a task failure (States.TaskFailed) that Retry and
		// Catch see, as on AWS; the error body is kept as the cause.
		resp.StatusCode = http.StatusInternalServerError
		resp.Status = "500 Internal Server Error"
	}
	return resp, nil
}

// isSyncInvoke reports whether r is a RequestResponse Lambda Invoke.
func isSyncInvoke(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") || !strings.HasSuffix(r.URL.Path, "/invocations") {
		return false
	}
	t := r.Header.Get("X-Amz-Invocation-Type")
	return t == "" || t == "RequestResponse"
}
