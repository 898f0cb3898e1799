package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/credup/credup/internal/bulk"
)

// problem is an RFC 9457 problem details document, extended with credup's
// stable error code, the offending fields and the request ID.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Code      string       `json:"code"`
	Errors    []fieldError `json:"errors,omitempty"`
	RequestID string       `json:"requestId,omitempty"`
}

// fieldError is one problem with one field of the request, located by a
// JSON pointer fragment into the request body or the query ("#/limit").
type fieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// invalidError is a request that failed validation field by field.
type invalidError struct {
	detail string
	fields []fieldError
}

func (e *invalidError) Error() string { return bulk.EInvalid + ": " + e.detail }

// fieldErrors collects field problems; err returns nil when there are none.
type fieldErrors []fieldError

func (f *fieldErrors) add(pointer, format string, args ...any) {
	*f = append(*f, fieldError{Pointer: pointer, Detail: fmt.Sprintf(format, args...)})
}

func (f fieldErrors) err(detail string) error {
	if len(f) == 0 {
		return nil
	}
	return &invalidError{detail: detail, fields: f}
}

// pointer builds a JSON pointer fragment from path segments, escaping
// them as RFC 6901 says.
func pointer(segments ...string) string {
	var b strings.Builder
	b.WriteString("#")
	for _, s := range segments {
		b.WriteString("/")
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
	}
	return b.String()
}

// statusOf maps domain error codes to HTTP statuses; this edge is the only
// place that knows about statuses.
var statusOf = map[string]int{
	bulk.EInvalid:             http.StatusBadRequest,
	bulk.EUnauthorized:        http.StatusUnauthorized,
	bulk.EInsufficientCredits: http.StatusPaymentRequired,
	bulk.EForbidden:           http.StatusForbidden,
	bulk.ENotFound:            http.StatusNotFound,
	bulk.EConflict:            http.StatusConflict,
	bulk.EStale:               http.StatusConflict,
	bulk.EUnconfirmed:         http.StatusConflict,
	bulk.ETooLarge:            http.StatusRequestEntityTooLarge,
}

// fail writes err as a problem. Errors without a domain code are internal:
// the client gets a generic message and the log gets the error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, c caller, err error) {
	p := problem{Type: "about:blank", RequestID: c.requestID}
	var inv *invalidError
	switch {
	case errors.As(err, &inv):
		p.Code, p.Detail, p.Errors = bulk.EInvalid, inv.detail, inv.fields
	default:
		p.Code, p.Detail = bulk.ErrorCode(err), bulk.ErrorMessage(err)
	}
	p.Status = statusOf[p.Code]
	if p.Status == 0 {
		p.Code, p.Status = bulk.EInternal, http.StatusInternalServerError
		p.Detail = "something went wrong on our side; try again, and quote the request ID if it persists"
		h.log.ErrorContext(r.Context(), "request failed",
			slog.String("tenant", c.tenant),
			slog.String("upload", r.PathValue("id")),
			slog.String("request_id", c.requestID),
			slog.String("route", r.Pattern),
			slog.String("error", err.Error()))
	}
	p.Title = http.StatusText(p.Status)

	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as the JSON response with the given status. It fails
// only before anything is written, so the caller can still report a problem.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// A failed write means the client went away; there is no one to tell.
	_, _ = w.Write(append(body, '\n'))
	return nil
}
