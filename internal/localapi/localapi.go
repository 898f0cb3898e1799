// Package localapi stands in for API Gateway's HTTP API on one machine: it
// verifies the caller's JWT as the gateway's JWT authorizer does, turns the
// request into the gateway's version 2.0 event, invokes the api function
// synchronously through the Lambda Invoke API (of the local AWS emulator)
// and writes the function's response back. `credup dev` and `credup demo`
// serve it; MintToken and DevKey give them tokens it accepts.
package localapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Limits API Gateway HTTP APIs enforce.
const (
	maxPayloadBytes    = 10 << 20
	integrationTimeout = 30 * time.Second
)

// Invoker is the part of the Lambda client the server uses; *lambda.Client
// pointed at the emulator is one.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Options configure the server.
type Options struct {
	// Lambda invokes the function; FunctionName names it.
	Lambda       Invoker
	FunctionName string
	// Key verifies HS256 tokens; Issuer and Audience are the claims they
	// must carry, as the JWT authorizer's issuer and audience.
	Key      []byte
	Issuer   string
	Audience string
	// Routes are the API's route keys ("GET /bulk-updates/{id}", "ANY
	// /{proxy+}", "$default"). With none, every request goes to the
	// function under the $default route.
	Routes []string
	// Logger receives invocation failures (slog.Default if nil).
	Logger *slog.Logger
}

// Server is the local HTTP API.
type Server struct {
	invoker  Invoker
	function string
	auth     authorizer
	routes   []route
	log      *slog.Logger
}

// New returns the server.
func New(o Options) *Server {
	s := &Server{
		invoker:  o.Lambda,
		function: o.FunctionName,
		auth:     authorizer{key: o.Key, issuer: o.Issuer, audience: o.Audience},
		routes:   parseRoutes(o.Routes),
		log:      o.Logger,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// gatewayError writes an error the way API Gateway itself answers.
func gatewayError(w http.ResponseWriter, status int, requestID string) {
	w.Header().Set("Content-Type", "application/json")
	if requestID != "" {
		w.Header().Set("Apigw-Requestid", requestID)
	}
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "{\"message\":%q}", http.StatusText(status))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	routeKey, params := "$default", map[string]string(nil)
	if len(s.routes) > 0 {
		var ok bool
		if routeKey, params, ok = matchRoute(s.routes, r.Method, r.URL.Path); !ok {
			gatewayError(w, http.StatusNotFound, requestID)
			return
		}
	}
	claims, err := s.auth.verify(r.Header.Get("Authorization"))
	if err != nil {
		w.Header().Set("Www-Authenticate", `Bearer error="invalid_token"`)
		gatewayError(w, http.StatusUnauthorized, requestID)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayloadBytes))
	if err != nil {
		gatewayError(w, http.StatusRequestEntityTooLarge, requestID)
		return
	}
	ev := buildEvent(r, body, claims, routeKey, params, requestID)
	payload, err := json.Marshal(ev)
	if err != nil {
		s.log.ErrorContext(r.Context(), "encode gateway event", slog.String("request_id", requestID), slog.String("error", err.Error()))
		gatewayError(w, http.StatusInternalServerError, requestID)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), integrationTimeout)
	defer cancel()
	out, err := s.invoker.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(s.function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		s.log.ErrorContext(r.Context(), "api function timed out", slog.String("request_id", requestID))
		gatewayError(w, http.StatusServiceUnavailable, requestID)
		return
	case err != nil:
		s.log.ErrorContext(r.Context(), "invoke api function", slog.String("function", s.function),
			slog.String("request_id", requestID), slog.String("error", err.Error()))
		gatewayError(w, http.StatusInternalServerError, requestID)
		return
	case out.FunctionError != nil:
		s.log.ErrorContext(r.Context(), "api function failed", slog.String("function", s.function),
			slog.String("request_id", requestID), slog.String("error", string(out.Payload)))
		gatewayError(w, http.StatusInternalServerError, requestID)
		return
	}
	if err := writeResponse(w, out.Payload, requestID); err != nil {
		s.log.ErrorContext(r.Context(), "api function response", slog.String("request_id", requestID), slog.String("error", err.Error()))
		gatewayError(w, http.StatusInternalServerError, requestID)
	}
}

// buildEvent is the payload format 2.0 event API Gateway would send.
func buildEvent(r *http.Request, body []byte, claims map[string]string, routeKey string, params map[string]string, requestID string) events.APIGatewayV2HTTPRequest {
	now := time.Now()
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			// The gateway hands cookies over separately, one per entry.
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	headers["x-forwarded-for"] = sourceIP
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	}

	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText reports whether a body of this content type travels as text;
// everything else is base64 encoded, as the gateway does for binary media.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "xml") ||
		mt == "application/javascript" || mt == "application/x-www-form-urlencoded"
}

// writeResponse writes the function's payload format 2.0 response. A
// payload without a statusCode is, as the gateway infers, a 200 JSON body.
func writeResponse(w http.ResponseWriter, payload []byte, requestID string) error {
	var probe map[string]json.RawMessage
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &probe); err == nil && probe["statusCode"] != nil {
		if err := json.Unmarshal(payload, &res); err != nil {
			return fmt.Errorf("decode function response: %w", err)
		}
	} else {
		res = events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusOK,
			Headers:    map[string]string{"content-type": "application/json"},
			Body:       string(payload),
		}
	}
	if res.StatusCode < 100 || res.StatusCode > 599 {
		return fmt.Errorf("function response status %d", res.StatusCode)
	}
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
			return fmt.Errorf("decode function response body: %w", err)
		}
	}
	h := w.Header()
	for k, v := range res.Headers {
		h.Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range res.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("Apigw-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
	return nil
}

// newRequestID returns a request ID shaped like the gateway's.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
