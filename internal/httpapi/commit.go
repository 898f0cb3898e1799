package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/credup/credup/internal/bulk"
)

// confirmRequest is the body of POST /bulk-updates/{id}/confirmations.
type confirmRequest struct {
	ReportVersion int `json:"reportVersion"`
}

// confirm serves POST /bulk-updates/{id}/confirmations: the user accepts
// the warnings of the report version they saw, and only that version.
func (h *Handler) confirm(w http.ResponseWriter, r *http.Request, c caller) error {
	var req confirmRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ReportVersion < 1 {
		var f fieldErrors
		f.add(pointer("reportVersion"), "reportVersion is required: the version of the report whose warnings you accept")
		return f.err("bad request body")
	}
	u, err := h.loadUpload(r, c)
	if err != nil {
		return err
	}
	updated, err := h.store.UpdateUpload(r.Context(), c.tenant, u.ID, func(u *bulk.Upload) error {
		if u.ReportVersion == 0 {
			return bulk.Errorf(bulk.EConflict, "the bulk update has no report yet (it is %s)", u.Status)
		}
		if req.ReportVersion != u.ReportVersion {
			return bulk.Errorf(bulk.EStale,
				"report %d is not the current report; review report %d and confirm it", req.ReportVersion, u.ReportVersion)
		}
		if u.Status != bulk.StatusReadyForReview {
			return bulk.Errorf(bulk.EConflict,
				"the bulk update is %s; a report can be confirmed only while it is ready for review", u.Status)
		}
		u.ConfirmedVersion = req.ReportVersion
		u.UpdatedAt = h.now().UTC()
		return nil
	})
	if err != nil {
		return fmt.Errorf("confirm report %d of upload %s: %w", req.ReportVersion, u.ID, err)
	}
	return writeJSON(w, http.StatusOK, viewUpload(updated))
}

// errCommitting stops a commit's status change when the commit has
// already started: a repeated commit is the same commit, not a new one.
var errCommitting = errors.New("commit already started")

// commit serves POST /bulk-updates/{id}/commit: it checks the report is
// mapped, confirmed and affordable, moves the upload to committing and
// starts the commit execution. Committing again while the commit runs
// answers like the first call did, and starts nothing new.
func (h *Handler) commit(w http.ResponseWriter, r *http.Request, c caller) error {
	u, err := h.loadUpload(r, c)
	if err != nil {
		return err
	}
	credits, err := h.credits(r, c.tenant)
	if err != nil {
		return err
	}
	updated, err := h.store.UpdateUpload(r.Context(), c.tenant, u.ID, func(u *bulk.Upload) error {
		if err := commitAllowed(u, credits); err != nil {
			return err
		}
		u.Status = bulk.StatusCommitting
		u.UpdatedAt = h.now().UTC()
		return nil
	})
	switch {
	case errors.Is(err, errCommitting):
		if updated, err = h.store.GetUpload(r.Context(), c.tenant, u.ID); err != nil {
			return fmt.Errorf("get upload %s: %w", u.ID, err)
		}
		if updated.Execution != "" {
			return writeJSON(w, http.StatusAccepted, viewUpload(updated))
		}
		// Committing with no execution recorded: the first call may have
		// failed to start it. Starting is idempotent by name, so try again.
	case err != nil:
		return fmt.Errorf("commit upload %s: %w", u.ID, err)
	}

	execution, err := h.starter.StartCommit(r.Context(), c.tenant, u.ID)
	if err != nil {
		return fmt.Errorf("start commit of upload %s: %w", u.ID, err)
	}
	// Recording the execution is bookkeeping: the commit runs either way.
	recorded, err := h.store.UpdateUpload(r.Context(), c.tenant, u.ID, func(u *bulk.Upload) error {
		u.Execution = execution
		return nil
	})
	if err != nil {
		h.log.WarnContext(r.Context(), "record commit execution",
			slog.String("tenant", c.tenant), slog.String("upload", u.ID),
			slog.String("request_id", c.requestID), slog.String("error", err.Error()))
	} else {
		updated = recorded
	}
	return writeJSON(w, http.StatusAccepted, viewUpload(updated))
}

// credits returns the tenant's credit balance; a tenant with no record has none.
func (h *Handler) credits(r *http.Request, tenant string) (int, error) {
	t, err := h.store.GetTenant(r.Context(), tenant)
	if bulk.ErrorCode(err) == bulk.ENotFound {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get tenant: %w", err)
	}
	return t.Credits, nil
}

// commitAllowed is the rule for starting a commit: a report ready for
// review, fully mapped, with its warnings confirmed for this very version
// (a report without warnings needs no confirmation), whose renewals the
// balance covers. errCommitting when the commit has already started.
func commitAllowed(u *bulk.Upload, credits int) error {
	switch u.Status {
	case bulk.StatusReadyForReview:
	case bulk.StatusCommitting:
		return errCommitting
	case bulk.StatusNeedsMapping:
		return bulk.Errorf(bulk.EConflict, "the report still needs mapping: assign or skip every unmapped column first")
	case bulk.StatusAwaitingUpload, bulk.StatusValidating:
		return bulk.Errorf(bulk.EConflict, "the bulk update is %s; wait for its report", u.Status)
	default:
		return bulk.Errorf(bulk.EConflict, "the bulk update is %s and cannot be committed", u.Status)
	}
	rep := u.Report
	if rep == nil {
		return bulk.Errorf(bulk.EConflict, "the bulk update has no report yet")
	}
	if rep.NeedsMapping() {
		return bulk.Errorf(bulk.EConflict, "the report still needs mapping: assign or skip every unmapped column first")
	}
	if rep.Summary.Warning > 0 {
		switch {
		case u.ConfirmedVersion == 0:
			return bulk.Errorf(bulk.EUnconfirmed,
				"report %d has %d rows with warnings; confirm them before committing", u.ReportVersion, rep.Summary.Warning)
		case u.ConfirmedVersion != u.ReportVersion:
			return bulk.Errorf(bulk.EStale,
				"you confirmed report %d, but the current report is %d; review it and confirm again", u.ConfirmedVersion, u.ReportVersion)
		}
	}
	if need := rep.Summary.CreditsRequired; need > credits {
		return bulk.Errorf(bulk.EInsufficientCredits,
			"this commit renews %d credentials and needs %d credits; the balance is %d", rep.Summary.Renewals, need, credits)
	}
	return nil
}
