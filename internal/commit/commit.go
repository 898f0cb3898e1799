// Package commit is the commit function's work, one method per state of the
// commit state machine: Plan re-validates the upload under the confirmed
// mapping and writes batch manifests, Apply applies one batch exactly once,
// Finish totals the batches and settles the upload, Fail records a failure.
// State payloads carry IDs and counts only; rows travel in manifests.
package commit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/objectkey"
	"github.com/credup/credup/internal/sheet"
	"github.com/credup/credup/internal/store"
	"github.com/credup/credup/internal/validation"
)

// Objects reads uploaded files and reads and writes manifests.
type Objects interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Put(ctx context.Context, key string, body []byte) error
}

// Publisher emits the pipeline's events.
type Publisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// Service runs the steps of a commit.
type Service struct {
	Store   store.Store
	Objects Objects
	Events  Publisher
	Log     *slog.Logger
	Now     func() time.Time
	// BatchSize is how many credentials one batch updates (at most
	// store.MaxBatchOps; default 40).
	BatchSize int
	Sheet     sheet.Options
}

// Plan outcomes.
const (
	PlanReady = "ready"
	PlanStale = "stale"
	PlanEmpty = "empty"
	// PlanRefused: the balance no longer covers the renewals.
	PlanRefused = "insufficient_credits"
)

// Input is what the state machine passes to every step.
type Input struct {
	Action string     `json:"action"`
	Tenant string     `json:"tenant"`
	Upload string     `json:"upload"`
	Batch  int        `json:"batch,omitempty"`
	Error  *TaskError `json:"error,omitempty"`
}

// TaskError is a Step Functions error as a Catch passes it on.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// PlanOutput is Plan's result: the batch numbers the Map state iterates.
type PlanOutput struct {
	Tenant     string `json:"tenant"`
	Upload     string `json:"upload"`
	Status     string `json:"status"`
	Batches    []int  `json:"batches"`
	BatchCount int    `json:"batchCount"`
}

// ApplyOutput is Apply's result for one batch.
type ApplyOutput struct {
	Batch     int    `json:"batch"`
	Outcome   string `json:"outcome"`
	Applied   int    `json:"applied"`
	Conflicts int    `json:"conflicts"`
	Credits   int    `json:"credits"`
}

// FinishOutput is the final status of the upload.
type FinishOutput struct {
	Status string `json:"status"`
}

// Handle dispatches one state machine step.
func (s *Service) Handle(ctx context.Context, in Input) (any, error) {
	switch in.Action {
	case "plan":
		return s.Plan(ctx, in.Tenant, in.Upload)
	case "apply":
		return s.Apply(ctx, in.Tenant, in.Upload, in.Batch)
	case "finish":
		return s.Finish(ctx, in.Tenant, in.Upload)
	case "fail":
		return s.Fail(ctx, in.Tenant, in.Upload, in.Error)
	}
	return nil, fmt.Errorf("unknown commit action %q", in.Action)
}

// Plan re-validates the upload with the mapping of the confirmed report and,
// if the result is the report the user confirmed, writes one manifest per
// batch. A report that no longer matches (a credential changed, the mapping
// moved) stops the commit as stale before anything is written.
func (s *Service) Plan(ctx context.Context, tenant, id string) (PlanOutput, error) {
	out := PlanOutput{Tenant: tenant, Upload: id, Batches: []int{}}
	u, err := s.Store.GetUpload(ctx, tenant, id)
	if err != nil {
		return out, fmt.Errorf("read upload %s: %w", id, err)
	}
	if u.Status != bulk.StatusCommitting || u.Report == nil {
		return out, fmt.Errorf("upload %s is %s, not committing", id, u.Status)
	}
	ops, rep, err := s.replan(ctx, u)
	if err != nil {
		return out, err
	}
	log := s.log().With("tenant", tenant, "upload", id)
	if rep.Fingerprint != u.ReportFingerprint {
		log.WarnContext(ctx, "commit stopped: the data changed since the confirmed report")
		out.Status = PlanStale
		return out, s.settle(ctx, u, bulk.StatusFailed, "stale: the credentials or the file changed since the report was confirmed; upload the file again", nil)
	}
	// The route checked the balance when the commit started; another
	// commit may have spent it since. Refuse before anything is written.
	renewals := 0
	for _, op := range ops {
		if op.Renewal {
			renewals++
		}
	}
	if renewals > 0 {
		t, err := s.Store.GetTenant(ctx, tenant)
		if err != nil {
			return out, fmt.Errorf("read tenant: %w", err)
		}
		if t.Credits < renewals {
			log.WarnContext(ctx, "commit refused: credits fall short", "required", renewals, "available", t.Credits)
			out.Status = PlanRefused
			return out, s.settle(ctx, u, bulk.StatusFailed, fmt.Sprintf(
				"insufficient credits: the commit renews %d credentials and the balance is %d; nothing was written", renewals, t.Credits), nil)
		}
	}
	size := s.batchSize()
	for start, n := 0, 0; start < len(ops); start, n = start+size, n+1 {
		end := min(start+size, len(ops))
		b := store.Batch{Upload: id, Number: n, Ops: ops[start:end]}
		body, err := json.Marshal(b)
		if err != nil {
			return out, fmt.Errorf("encode batch %d: %w", n, err)
		}
		if err := s.Objects.Put(ctx, objectkey.ForManifest(tenant, id, n), body); err != nil {
			return out, fmt.Errorf("write manifest %d of upload %s: %w", n, id, err)
		}
		out.Batches = append(out.Batches, n)
	}
	out.BatchCount = len(out.Batches)
	if _, err := s.Store.UpdateUpload(ctx, tenant, id, func(x *bulk.Upload) error {
		if x.Results == nil {
			x.Results = &bulk.Results{}
		}
		x.Results.Batches = out.BatchCount
		return nil
	}); err != nil {
		return out, fmt.Errorf("record batches of upload %s: %w", id, err)
	}
	out.Status = PlanReady
	if out.BatchCount == 0 {
		out.Status = PlanEmpty
	}
	log.InfoContext(ctx, "commit planned", "updates", len(ops), "batches", out.BatchCount)
	return out, nil
}

// replan runs the engine again over the uploaded file with the columns,
// date format and match key of the confirmed report, and returns the
// updates it would make.
func (s *Service) replan(ctx context.Context, u bulk.Upload) ([]store.Op, *bulk.Report, error) {
	group, err := s.Store.GetGroup(ctx, u.Tenant, u.GroupID)
	if err != nil {
		return nil, nil, fmt.Errorf("read group %s: %w", u.GroupID, err)
	}
	creds, err := s.Store.GroupCredentials(ctx, u.Tenant, u.GroupID)
	if err != nil {
		return nil, nil, fmt.Errorf("read credentials of group %s: %w", u.GroupID, err)
	}
	body, err := s.Objects.Open(ctx, u.ObjectKey)
	if err != nil {
		return nil, nil, fmt.Errorf("open uploaded file: %w", err)
	}
	defer body.Close()
	src, err := sheet.Open(body, s.Sheet)
	if err != nil {
		return nil, nil, fmt.Errorf("read uploaded file: %w", err)
	}
	defer src.Close()
	var ops []store.Op
	rep, err := engine.Run(ctx, src, engine.Input{
		Group: group, Credentials: creds, Mapping: Confirmed(u.Report), Now: s.now(),
		Elsewhere: validation.Finder(s.Store, u.Tenant),
	}, func(o engine.Outcome) error {
		if o.Row.Outcome != bulk.OutcomeUpdate {
			return nil
		}
		ops = append(ops, store.Op{
			Row: o.Row.Row, CredentialID: o.Before.ID, ExpectedVersion: o.Before.Version,
			Before: *o.Before, After: *o.After(), Renewal: o.Row.Renewal, Changes: o.Row.Changes,
		})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("re-validate upload %s: %w", u.ID, err)
	}
	sortOps(ops)
	return ops, rep, nil
}

// Confirmed is the mapping that reproduces a report exactly: every column
// placed as the report placed it (so later learned mappings change nothing),
// its date format and its match key.
func Confirmed(rep *bulk.Report) bulk.Mapping {
	m := bulk.Mapping{Columns: map[string]string{}, DateFormat: rep.DateFormat, MatchBy: rep.MatchBy}
	for _, c := range rep.Columns {
		switch {
		case c.How == bulk.HowSkip || c.Attribute == bulk.Skip:
			m.Columns[bulk.ColumnRef(c.Index)] = bulk.Skip
		case c.Attribute != "" && c.How != bulk.HowUnmapped:
			m.Columns[bulk.ColumnRef(c.Index)] = c.Attribute
		}
	}
	return m
}

// Apply applies one batch. A batch applied before returns what it did then.
func (s *Service) Apply(ctx context.Context, tenant, id string, batch int) (ApplyOutput, error) {
	out := ApplyOutput{Batch: batch}
	body, err := s.Objects.Open(ctx, objectkey.ForManifest(tenant, id, batch))
	if err != nil {
		return out, fmt.Errorf("open manifest %d of upload %s: %w", batch, id, err)
	}
	defer body.Close()
	var b store.Batch
	if err := json.NewDecoder(body).Decode(&b); err != nil {
		return out, fmt.Errorf("decode manifest %d of upload %s: %w", batch, id, err)
	}
	if b.Upload != id || b.Number != batch {
		return out, fmt.Errorf("manifest %d of upload %s describes batch %d of %s", batch, id, b.Number, b.Upload)
	}
	res, err := s.Store.ApplyBatch(ctx, tenant, b)
	if err != nil {
		return out, fmt.Errorf("apply batch %d of upload %s: %w", batch, id, err)
	}
	s.log().InfoContext(ctx, "batch applied", "tenant", tenant, "upload", id, "batch", batch,
		"outcome", res.Outcome, "applied", len(res.Applied), "conflicts", len(res.Conflicts), "credits", res.CreditsCharged)
	return ApplyOutput{Batch: batch, Outcome: res.Outcome, Applied: len(res.Applied), Conflicts: len(res.Conflicts), Credits: res.CreditsCharged}, nil
}

// Finish totals the batch results and gives the upload its final status.
func (s *Service) Finish(ctx context.Context, tenant, id string) (FinishOutput, error) {
	u, err := s.Store.GetUpload(ctx, tenant, id)
	if err != nil {
		return FinishOutput{}, fmt.Errorf("read upload %s: %w", id, err)
	}
	if u.Status != bulk.StatusCommitting {
		// Finished before: a retried Finish reports what it decided.
		return FinishOutput{Status: u.Status}, nil
	}
	totals := bulk.Results{}
	if u.Results != nil {
		totals.Batches = u.Results.Batches
	}
	short := false
	for n := 0; n < totals.Batches; n++ {
		r, err := s.Store.GetBatchResult(ctx, tenant, id, n)
		if err != nil {
			return FinishOutput{}, fmt.Errorf("read result of batch %d of upload %s: %w", n, id, err)
		}
		totals.Updated += len(r.Applied)
		totals.Conflicts += len(r.Conflicts)
		totals.CreditsCharged += r.CreditsCharged
		if r.Outcome == store.BatchInsufficientCredits {
			short = true
		}
	}
	if u.Report != nil {
		totals.Skipped = u.Report.Summary.Error
	}
	status := bulk.StatusCompleted
	failure := ""
	switch {
	case short && totals.Updated == 0:
		status, failure = bulk.StatusFailed, "insufficient credits: the balance no longer covers the renewals"
	case short:
		status, failure = bulk.StatusCompletedWithErrors, "some batches were not applied: the balance no longer covered their renewals"
	case totals.Conflicts > 0 || totals.Skipped > 0:
		status = bulk.StatusCompletedWithErrors
	}
	if err := s.settle(ctx, u, status, failure, &totals); err != nil {
		return FinishOutput{}, err
	}
	s.log().InfoContext(ctx, "commit finished", "tenant", tenant, "upload", id, "status", status,
		"updated", totals.Updated, "conflicts", totals.Conflicts, "credits", totals.CreditsCharged)
	return FinishOutput{Status: status}, nil
}

// Fail marks the upload failed after a step gave up.
func (s *Service) Fail(ctx context.Context, tenant, id string, cause *TaskError) (FinishOutput, error) {
	u, err := s.Store.GetUpload(ctx, tenant, id)
	if err != nil {
		return FinishOutput{}, fmt.Errorf("read upload %s: %w", id, err)
	}
	if u.Status != bulk.StatusCommitting {
		return FinishOutput{Status: u.Status}, nil
	}
	msg := "the commit failed"
	if cause != nil && cause.Error != "" {
		msg += ": " + cause.Error
	}
	s.log().ErrorContext(ctx, "commit failed", "tenant", tenant, "upload", id, "error", msg)
	// Batches applied before the failure stay applied; the totals say so.
	var totals *bulk.Results
	if u.Results != nil {
		t := *u.Results
		for n := 0; n < t.Batches; n++ {
			r, err := s.Store.GetBatchResult(ctx, tenant, id, n)
			if err != nil {
				continue
			}
			t.Updated += len(r.Applied)
			t.Conflicts += len(r.Conflicts)
			t.CreditsCharged += r.CreditsCharged
		}
		totals = &t
	}
	if err := s.settle(ctx, u, bulk.StatusFailed, msg, totals); err != nil {
		return FinishOutput{}, err
	}
	return FinishOutput{Status: bulk.StatusFailed}, nil
}

// settle moves a committing upload to its final status and emits the event.
func (s *Service) settle(ctx context.Context, u bulk.Upload, status, failure string, totals *bulk.Results) error {
	u, err := s.Store.UpdateUpload(ctx, u.Tenant, u.ID, func(x *bulk.Upload) error {
		if x.Status != bulk.StatusCommitting {
			return errSettled
		}
		x.Status, x.Failure, x.UpdatedAt = status, failure, s.now()
		if totals != nil {
			x.Results = totals
		}
		return nil
	})
	if errors.Is(err, errSettled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("settle upload %s as %s: %w", u.ID, status, err)
	}
	if s.Events == nil {
		return nil
	}
	detailType := "BulkUpdate Committed"
	if status == bulk.StatusFailed {
		detailType = "BulkUpdate Failed"
	}
	credits := 0
	if totals != nil {
		credits = totals.CreditsCharged
	}
	if err := s.Events.Publish(ctx, detailType, validation.Detail(u, credits)); err != nil {
		return fmt.Errorf("publish %s: %w", detailType, err)
	}
	return nil
}

var errSettled = errors.New("upload already settled")

func (s *Service) batchSize() int {
	if s.BatchSize <= 0 || s.BatchSize > store.MaxBatchOps {
		return 40
	}
	return s.BatchSize
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// sortOps puts updates in sheet order, so batches follow the file.
func sortOps(ops []store.Op) {
	sort.Slice(ops, func(i, j int) bool { return ops[i].Row < ops[j].Row })
}
