// Package store is the storage contract of credup's pipeline: tenants,
// groups, credentials, uploads, report rows, learned mappings and the
// exactly-once application of commit batches. Implementations: inmem (unit
// tests) and dynamo (DynamoDB); storetest is the contract suite both pass.
//
// Every method takes the tenant explicitly; an empty tenant is refused with a
// bulk.EInvalid error before anything is read or written.
package store

import (
	"context"

	"github.com/credup/credup/internal/bulk"
)

// MaxBatchOps is the most operations one batch may carry: each op writes the
// credential and its result record, and a batch adds the credit decrement and
// its marker, within DynamoDB's 100-item transaction limit.
const MaxBatchOps = 49

// Store is everything the pipeline keeps. Errors carry bulk codes:
// ENotFound for a missing item, EConflict for a failed condition or an illegal
// upload status transition, EInvalid for a bad argument.
type Store interface {
	PutTenant(ctx context.Context, t bulk.Tenant) error
	GetTenant(ctx context.Context, tenant string) (bulk.Tenant, error)

	PutGroup(ctx context.Context, tenant string, g bulk.Group) error
	GetGroup(ctx context.Context, tenant, group string) (bulk.Group, error)

	// PutCredentials writes credentials as they are (seeding and tests).
	PutCredentials(ctx context.Context, tenant string, cs []bulk.Credential) error
	GetCredential(ctx context.Context, tenant, id string) (bulk.Credential, error)
	// GroupCredentials returns every credential of a group, in ID order.
	GroupCredentials(ctx context.Context, tenant, group string) ([]bulk.Credential, error)
	// FindCredentials returns the tenant's credentials, of any group, whose
	// attr equals value: attr is credential.id, recipient.id or
	// recipient.email (compared as bulk.NormalizeEmail). Other attributes
	// are EInvalid.
	FindCredentials(ctx context.Context, tenant, attr, value string) ([]bulk.Credential, error)

	// CreateUpload stores a new upload; EConflict if its ID exists.
	CreateUpload(ctx context.Context, u bulk.Upload) error
	GetUpload(ctx context.Context, tenant, id string) (bulk.Upload, error)
	// UpdateUpload reads the upload, lets fn change it, and writes it back
	// conditioned on nothing having changed it in between (retrying fn on a
	// race). A status change fn makes must be allowed by bulk.CanTransition,
	// else EConflict and nothing is written. An error from fn is returned
	// as is and nothing is written.
	UpdateUpload(ctx context.Context, tenant, id string, fn func(*bulk.Upload) error) (bulk.Upload, error)

	// PutReportRows stores rows of one report version; called in chunks.
	PutReportRows(ctx context.Context, tenant, upload string, version int, rows []bulk.Row) error
	// ListReportRows pages the rows of one report version in row order.
	// outcome filters: "" (all), update, unchanged, error, or warning (rows
	// with warnings, whatever their outcome). cursor is opaque; "" starts,
	// and the returned cursor is "" after the last page.
	ListReportRows(ctx context.Context, tenant, upload string, version int, outcome, cursor string, limit int) ([]bulk.Row, string, error)

	// LearnedMappings returns the header → attribute choices this tenant made
	// before, keyed by the header as mapping.Normalize gives it.
	LearnedMappings(ctx context.Context, tenant string) (map[string]string, error)
	LearnMappings(ctx context.Context, tenant string, m map[string]string) error

	// ApplyBatch applies one batch exactly once, as one transaction: each
	// credential written only if its version is still op.ExpectedVersion
	// (the stored version becomes ExpectedVersion+1), a result record per
	// op (updated, or conflict for an op left out), the tenant's credits decremented by the batch's renewals
	// only if the balance covers them, and a marker for (upload, batch)
	// written only if absent. Ops whose credential changed are left out and
	// reported as conflicts; a batch already applied returns its stored
	// result unchanged, whatever ops are passed. If the balance cannot cover
	// the renewals nothing is applied and the result says so.
	ApplyBatch(ctx context.Context, tenant string, b Batch) (BatchResult, error)
	// GetBatchResult returns the stored result of an applied batch;
	// ENotFound if the batch was not applied.
	GetBatchResult(ctx context.Context, tenant, upload string, batch int) (BatchResult, error)
	// ListResults pages the result records of an upload's commit: one per
	// op of every applied batch, updated or left out as a conflict.
	ListResults(ctx context.Context, tenant, upload, cursor string, limit int) ([]Result, string, error)
}

// Op is one credential update of a commit batch.
type Op struct {
	Row             int             `json:"row"`
	CredentialID    string          `json:"credentialId"`
	ExpectedVersion int64           `json:"expectedVersion"`
	Before          bulk.Credential `json:"before"`
	After           bulk.Credential `json:"after"`
	Renewal         bool            `json:"renewal,omitempty"`
	Changes         []bulk.Change   `json:"changes"`
}

// Batch is a numbered slice of a commit.
type Batch struct {
	Upload string `json:"upload"`
	Number int    `json:"number"`
	Ops    []Op   `json:"ops"`
}

// Batch outcomes.
const (
	BatchApplied             = "applied"
	BatchInsufficientCredits = "insufficient_credits"
)

// BatchResult is what applying a batch did.
type BatchResult struct {
	Upload         string   `json:"upload"`
	Number         int      `json:"number"`
	Outcome        string   `json:"outcome"`
	Applied        []string `json:"applied"`
	Conflicts      []string `json:"conflicts"`
	CreditsCharged int      `json:"creditsCharged"`
}

// Result outcomes.
const (
	ResultUpdated  = "updated"
	ResultConflict = "conflict"
)

// Result is one credential's line in a commit's results: what it was and
// what it became.
type Result struct {
	Row          int             `json:"row"`
	CredentialID string          `json:"credentialId"`
	Outcome      string          `json:"outcome"`
	Before       bulk.Credential `json:"before"`
	After        bulk.Credential `json:"after"`
	Changes      []bulk.Change   `json:"changes"`
	Renewal      bool            `json:"renewal,omitempty"`
}
