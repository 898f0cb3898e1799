// Package validation is the validate function's work: for a file that
// landed in the bucket (or an upload whose mapping changed), read it as a
// stream, run the engine against the group's credentials, store the report
// and move the upload on. It decides nothing about rows itself: the engine
// does; it only sequences storage, objects and events.
package validation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/objectkey"
	"github.com/credup/credup/internal/sheet"
	"github.com/credup/credup/internal/store"
)

// Objects reads uploaded files.
type Objects interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Publisher emits the pipeline's events (detail type and detail).
type Publisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// Starter starts the commit of an upload.
type Starter interface {
	StartCommit(ctx context.Context, tenant, upload string) (execution string, err error)
}

// Service validates uploads.
type Service struct {
	Store   store.Store
	Objects Objects
	Events  Publisher
	Commits Starter
	Log     *slog.Logger
	Now     func() time.Time
	// Sheet bounds what a file may hold; zero values take the defaults.
	Sheet sheet.Options
}

// rowChunk is how many report rows are written at once.
const rowChunk = 100

// Object handles a file that landed in the bucket: key is URL-decoded, etag
// identifies this version of the object, so a repeated event for it
// produces one report. A key outside the layout is ignored, not retried.
func (s *Service) Object(ctx context.Context, key, etag string) error {
	k, ok := objectkey.Parse(key)
	if !ok || k.Kind == objectkey.Manifest {
		s.log().InfoContext(ctx, "ignoring object outside the upload layout", "key_prefix", safePrefix(key))
		return nil
	}
	log := s.log().With("tenant", k.Tenant)
	var id string
	switch k.Kind {
	case objectkey.Upload:
		id = k.ID
		_, err := s.Store.UpdateUpload(ctx, k.Tenant, id, func(u *bulk.Upload) error {
			if u.ObjectKey != "" && u.ObjectKey != key {
				return bulk.Errorf(bulk.EConflict, "upload %s expects its file at another key", id)
			}
			if u.ETag == etag && u.Status != bulk.StatusAwaitingUpload {
				return errDuplicate
			}
			if u.Status != bulk.StatusAwaitingUpload {
				return bulk.Errorf(bulk.EConflict, "upload %s already has a file", id)
			}
			u.ObjectKey, u.ETag, u.Status, u.UpdatedAt = key, etag, bulk.StatusValidating, s.now()
			return nil
		})
		switch {
		case errors.Is(err, errDuplicate):
			return s.resumeDuplicate(ctx, k.Tenant, id)
		case bulk.ErrorCode(err) == bulk.ENotFound || bulk.ErrorCode(err) == bulk.EConflict:
			log.WarnContext(ctx, "ignoring file for an upload that does not take it", "upload", id, "reason", bulk.ErrorMessage(err))
			return nil
		case err != nil:
			return fmt.Errorf("start validating upload %s: %w", id, err)
		}
	case objectkey.Dropbox:
		if _, err := s.Store.GetGroup(ctx, k.Tenant, k.ID); err != nil {
			if bulk.ErrorCode(err) == bulk.ENotFound {
				log.WarnContext(ctx, "ignoring dropped file for an unknown group", "group", k.ID)
				return nil
			}
			return fmt.Errorf("read group %s: %w", k.ID, err)
		}
		id = dropUploadID(key, etag)
		now := s.now()
		err := s.Store.CreateUpload(ctx, bulk.Upload{
			Tenant: k.Tenant, ID: id, GroupID: k.ID, Status: bulk.StatusValidating, Source: "dropbox",
			FileName: k.File, ObjectKey: key, ETag: etag, CreatedAt: now, UpdatedAt: now,
		})
		if bulk.ErrorCode(err) == bulk.EConflict {
			return s.resumeDuplicate(ctx, k.Tenant, id)
		}
		if err != nil {
			return fmt.Errorf("create upload for dropped file: %w", err)
		}
	}
	return s.Validate(ctx, k.Tenant, id)
}

var errDuplicate = errors.New("duplicate event")

// resumeDuplicate handles an event seen before: if the first delivery died
// while validating, this one finishes the work; otherwise there is nothing
// to do.
func (s *Service) resumeDuplicate(ctx context.Context, tenant, id string) error {
	u, err := s.Store.GetUpload(ctx, tenant, id)
	if err != nil {
		return fmt.Errorf("read upload %s: %w", id, err)
	}
	if u.Status == bulk.StatusCommitting && u.Execution == "" && u.Source == "dropbox" && s.Commits != nil {
		// The first delivery moved the dropped file to committing but could
		// not start its commit: start it now.
		return s.startCommit(ctx, tenant, id)
	}
	if u.Status != bulk.StatusValidating {
		s.log().InfoContext(ctx, "duplicate object event ignored", "tenant", tenant, "upload", id, "status", u.Status)
		return nil
	}
	return s.Validate(ctx, tenant, id)
}

// dropUploadID names the upload of a dropped file after the object version,
// so the same event delivered twice finds the same upload.
func dropUploadID(key, etag string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + etag))
	return "drop-" + hex.EncodeToString(sum[:10])
}

// Validate builds a new report for an upload that is validating: the file
// under the upload's mapping, against the group's current credentials.
func (s *Service) Validate(ctx context.Context, tenant, id string) error {
	log := s.log().With("tenant", tenant, "upload", id)
	u, err := s.Store.GetUpload(ctx, tenant, id)
	if err != nil {
		if bulk.ErrorCode(err) == bulk.ENotFound {
			log.WarnContext(ctx, "ignoring validation of an unknown upload")
			return nil
		}
		return fmt.Errorf("read upload %s: %w", id, err)
	}
	if u.Status != bulk.StatusValidating {
		log.InfoContext(ctx, "upload is not validating; nothing to do", "status", u.Status)
		return nil
	}
	version := u.ReportVersion + 1
	rep, err := s.report(ctx, u, version)
	if err != nil {
		if code := bulk.ErrorCode(err); code != bulk.EInternal {
			// The file or the mapping is wrong: the user must act.
			return s.reject(ctx, u, err)
		}
		var se *sheet.Error
		if errors.As(err, &se) {
			return s.reject(ctx, u, bulk.Errorf(bulk.EInvalid, "%s", se.Error()))
		}
		return fmt.Errorf("validate upload %s: %w", id, err)
	}
	status := bulk.StatusReadyForReview
	if rep.NeedsMapping() {
		status = bulk.StatusNeedsMapping
	}
	u, err = s.Store.UpdateUpload(ctx, tenant, id, func(x *bulk.Upload) error {
		if x.Status != bulk.StatusValidating || x.ReportVersion >= version {
			return errSuperseded
		}
		x.Status, x.ReportVersion, x.Report, x.ReportFingerprint = status, version, rep, rep.Fingerprint
		x.Failure, x.UpdatedAt = "", s.now()
		return nil
	})
	if errors.Is(err, errSuperseded) {
		log.InfoContext(ctx, "report superseded by another run", "version", version)
		return nil
	}
	if err != nil {
		return fmt.Errorf("store report %d of upload %s: %w", version, id, err)
	}
	log.InfoContext(ctx, "upload validated", "version", version, "status", status,
		"rows", rep.DataRows, "update", rep.Summary.Update, "error", rep.Summary.Error, "warning", rep.Summary.Warning)
	if err := s.publish(ctx, "BulkUpdate Validated", u, 0); err != nil {
		return err
	}
	return s.commitIfClean(ctx, u)
}

var errSuperseded = errors.New("report superseded")

// report reads the file and writes the report rows of one version.
func (s *Service) report(ctx context.Context, u bulk.Upload, version int) (*bulk.Report, error) {
	group, err := s.Store.GetGroup(ctx, u.Tenant, u.GroupID)
	if err != nil {
		return nil, fmt.Errorf("read group %s: %w", u.GroupID, err)
	}
	creds, err := s.Store.GroupCredentials(ctx, u.Tenant, u.GroupID)
	if err != nil {
		return nil, fmt.Errorf("read credentials of group %s: %w", u.GroupID, err)
	}
	learned, err := s.Store.LearnedMappings(ctx, u.Tenant)
	if err != nil {
		return nil, fmt.Errorf("read learned mappings: %w", err)
	}
	body, err := s.Objects.Open(ctx, u.ObjectKey)
	if err != nil {
		return nil, fmt.Errorf("open uploaded file: %w", err)
	}
	defer body.Close()
	src, err := sheet.Open(body, s.Sheet)
	if err != nil {
		return nil, fmt.Errorf("read uploaded file: %w", err)
	}
	defer src.Close()
	in := engine.Input{
		Group: group, Credentials: creds, Elsewhere: Finder(s.Store, u.Tenant),
		Mapping: u.Mapping, Learned: learned, Now: s.now(),
	}
	chunk := make([]bulk.Row, 0, rowChunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := s.Store.PutReportRows(ctx, u.Tenant, u.ID, version, chunk); err != nil {
			return fmt.Errorf("write report rows: %w", err)
		}
		chunk = chunk[:0]
		return nil
	}
	rep, err := engine.Run(ctx, src, in, func(o engine.Outcome) error {
		chunk = append(chunk, *o.Row)
		if len(chunk) == rowChunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return rep, nil
}

// reject fails an upload whose file or mapping cannot make a report.
func (s *Service) reject(ctx context.Context, u bulk.Upload, cause error) error {
	msg := bulk.ErrorMessage(cause)
	s.log().InfoContext(ctx, "upload rejected", "tenant", u.Tenant, "upload", u.ID, "reason", msg)
	u, err := s.Store.UpdateUpload(ctx, u.Tenant, u.ID, func(x *bulk.Upload) error {
		if x.Status != bulk.StatusValidating {
			return errSuperseded
		}
		// A mapping the file cannot take sends the user back to mapping;
		// a file that cannot be read fails the upload.
		if x.Report != nil {
			x.Status = bulk.StatusNeedsMapping
		} else {
			x.Status = bulk.StatusFailed
		}
		x.Failure, x.UpdatedAt = msg, s.now()
		return nil
	})
	if errors.Is(err, errSuperseded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record rejection of upload %s: %w", u.ID, err)
	}
	if u.Status == bulk.StatusFailed {
		return s.publish(ctx, "BulkUpdate Failed", u, 0)
	}
	return s.publish(ctx, "BulkUpdate Validated", u, 0)
}

// commitIfClean commits a dropped file at once when its group allows it and
// the report has nothing for a person to decide.
func (s *Service) commitIfClean(ctx context.Context, u bulk.Upload) error {
	if u.Source != "dropbox" || u.Report == nil || s.Commits == nil {
		return nil
	}
	g, err := s.Store.GetGroup(ctx, u.Tenant, u.GroupID)
	if err != nil {
		return fmt.Errorf("read group %s: %w", u.GroupID, err)
	}
	sum := u.Report.Summary
	if g.DropPolicy != bulk.DropCommitIfClean || u.Status != bulk.StatusReadyForReview ||
		sum.Error > 0 || sum.Warning > 0 || sum.Update == 0 {
		return nil
	}
	t, err := s.Store.GetTenant(ctx, u.Tenant)
	if err != nil {
		return fmt.Errorf("read tenant: %w", err)
	}
	if sum.CreditsRequired > t.Credits {
		s.log().WarnContext(ctx, "dropped file not committed: credits fall short", "tenant", u.Tenant, "upload", u.ID,
			"required", sum.CreditsRequired, "available", t.Credits)
		return nil
	}
	version := u.ReportVersion
	_, err = s.Store.UpdateUpload(ctx, u.Tenant, u.ID, func(x *bulk.Upload) error {
		if x.Status != bulk.StatusReadyForReview || x.ReportVersion != version {
			return errSuperseded
		}
		x.ConfirmedVersion, x.Status, x.UpdatedAt = version, bulk.StatusCommitting, s.now()
		return nil
	})
	if errors.Is(err, errSuperseded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start commit of upload %s: %w", u.ID, err)
	}
	return s.startCommit(ctx, u.Tenant, u.ID)
}

// startCommit starts the commit of an upload that is committing and then
// records its execution. Until it is recorded, a retried event or the
// user's commit starts it again, which is safe: the execution is named
// after the upload.
func (s *Service) startCommit(ctx context.Context, tenant, id string) error {
	execution, err := s.Commits.StartCommit(ctx, tenant, id)
	if err != nil {
		return fmt.Errorf("start commit of upload %s: %w", id, err)
	}
	if _, err := s.Store.UpdateUpload(ctx, tenant, id, func(x *bulk.Upload) error {
		x.Execution = execution
		return nil
	}); err != nil {
		return fmt.Errorf("record commit execution of upload %s: %w", id, err)
	}
	return nil
}

func (s *Service) publish(ctx context.Context, detailType string, u bulk.Upload, credits int) error {
	if s.Events == nil {
		return nil
	}
	if err := s.Events.Publish(ctx, detailType, Detail(u, credits)); err != nil {
		return fmt.Errorf("publish %s: %w", detailType, err)
	}
	return nil
}

// EventDetail is the detail of the pipeline's events: counts, no recipient data.
type EventDetail struct {
	Tenant         string        `json:"tenant"`
	Group          string        `json:"group"`
	Upload         string        `json:"upload"`
	Status         string        `json:"status"`
	ReportVersion  int           `json:"reportVersion"`
	Summary        *bulk.Summary `json:"summary,omitempty"`
	Results        *bulk.Results `json:"results,omitempty"`
	CreditsCharged int           `json:"creditsCharged"`
	Failure        string        `json:"failure,omitempty"`
}

// Detail is the event detail of an upload's current state.
func Detail(u bulk.Upload, credits int) EventDetail {
	d := EventDetail{Tenant: u.Tenant, Group: u.GroupID, Upload: u.ID, Status: u.Status,
		ReportVersion: u.ReportVersion, Results: u.Results, CreditsCharged: credits, Failure: u.Failure}
	if u.Report != nil {
		sum := u.Report.Summary
		d.Summary = &sum
	}
	return d
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

// safePrefix keeps only the layout part of a key for logs (its first three
// segments: tenants/<tenant>/<kind>): file names may carry personal data.
func safePrefix(key string) string {
	parts := strings.SplitN(key, "/", 4)
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Join(parts, "/")
}

// Finder lets the engine ask the store about a tenant's credentials of
// other groups.
func Finder(s store.Store, tenant string) engine.Finder {
	return finder{s, tenant}
}

type finder struct {
	store  store.Store
	tenant string
}

func (f finder) FindCredentials(ctx context.Context, attr, value string) ([]bulk.Credential, error) {
	return f.store.FindCredentials(ctx, f.tenant, attr, value)
}
