// Package httpapi is credup's HTTP API: plain net/http handlers for every
// route of the bulk-update contract, served behind API Gateway (through a
// Lambda adapter) and directly in tests. The tenant comes only from the
// JWT claims API Gateway's authorizer verified; storage, presigning, the
// commit state machine and re-validation are injected.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/objectkey"
	"github.com/credup/credup/internal/store"
)

// TenantClaim is the JWT claim that names the caller's tenant.
const TenantClaim = "tenant"

// DefaultUploadURLTTL is how long a presigned upload stays valid when
// Options.UploadURLTTL is zero.
const DefaultUploadURLTTL = 15 * time.Minute

// Presigner hands out a presigned PUT for one object key.
type Presigner interface {
	PresignPut(ctx context.Context, key string, ttl time.Duration) (PresignedUpload, error)
}

// PresignedUpload is how a client sends the file: the method, URL and
// headers it must use, until ExpiresAt.
type PresignedUpload struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// Starter starts the commit of an upload: one state machine execution
// named after the upload, so starting it twice starts it once. It returns
// the execution's identifier.
type Starter interface {
	StartCommit(ctx context.Context, tenant, upload string) (string, error)
}

// Revalidator asks the validate function, asynchronously, to make a new
// report for an upload (after its mapping changed).
type Revalidator interface {
	Revalidate(ctx context.Context, tenant, upload string) error
}

// Options are the dependencies of the API.
type Options struct {
	Store       store.Store
	Presigner   Presigner
	Starter     Starter
	Revalidator Revalidator

	// UploadURLTTL is the expiry of presigned uploads (DefaultUploadURLTTL if zero).
	UploadURLTTL time.Duration
	// Logger receives error logs (slog.Default if nil).
	Logger *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Handler serves credup's HTTP API.
type Handler struct {
	store       store.Store
	presigner   Presigner
	starter     Starter
	revalidator Revalidator
	uploadTTL   time.Duration
	log         *slog.Logger
	now         func() time.Time
	mux         *http.ServeMux
}

// New returns the API handler.
func New(o Options) *Handler {
	h := &Handler{
		store:       o.Store,
		presigner:   o.Presigner,
		starter:     o.Starter,
		revalidator: o.Revalidator,
		uploadTTL:   o.UploadURLTTL,
		log:         o.Logger,
		now:         o.Now,
		mux:         http.NewServeMux(),
	}
	if h.uploadTTL <= 0 {
		h.uploadTTL = DefaultUploadURLTTL
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}

	h.handle("GET /groups/{groupId}/template", h.getTemplate)
	h.handle("POST /groups/{groupId}/bulk-updates", h.createUpload)
	h.handle("GET /bulk-updates/{id}", h.getUpload)
	h.handle("GET /bulk-updates/{id}/rows", h.listRows)
	h.handle("PUT /bulk-updates/{id}/mapping", h.putMapping)
	h.handle("POST /bulk-updates/{id}/confirmations", h.confirm)
	h.handle("POST /bulk-updates/{id}/commit", h.commit)
	h.handle("GET /bulk-updates/{id}/results", h.listResults)
	// Unknown routes answer in the same problem format as the rest.
	h.handle("/", func(http.ResponseWriter, *http.Request, caller) error {
		return bulk.Errorf(bulk.ENotFound, "no such route")
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// caller is who is asking: the verified tenant and the gateway's request ID.
type caller struct {
	tenant    string
	requestID string
}

// handle registers a route whose handler runs only for an authenticated
// tenant and reports failures as problem details.
func (h *Handler) handle(pattern string, fn func(http.ResponseWriter, *http.Request, caller) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, err := callerOf(r)
		if err == nil {
			err = fn(w, r, c)
		}
		if err != nil {
			h.fail(w, r, c, err)
		}
	})
}

// callerOf reads the tenant from the JWT claims API Gateway put in the
// request context; nothing the client sends in the request itself counts.
func callerOf(r *http.Request) (caller, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok {
		return caller{}, bulk.Errorf(bulk.EUnauthorized, "the request carries no verified token")
	}
	c := caller{requestID: rc.RequestID}
	if rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return c, bulk.Errorf(bulk.EUnauthorized, "the request carries no verified token")
	}
	tenant := rc.Authorizer.JWT.Claims[TenantClaim]
	if tenant == "" {
		return c, bulk.Errorf(bulk.EUnauthorized, "the token has no %s claim", TenantClaim)
	}
	if !objectkey.ValidID(tenant) {
		return c, bulk.Errorf(bulk.EUnauthorized, "the token's %s claim is not a valid tenant ID", TenantClaim)
	}
	c.tenant = tenant
	return c, nil
}
