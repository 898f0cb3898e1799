package httpapi

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/objectkey"
	"github.com/credup/credup/internal/template"
)

// Content types of the template formats.
var templateTypes = map[string]string{
	template.CSV:  "text/csv; charset=utf-8",
	template.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// getTemplate serves GET /groups/{groupId}/template?format=csv|xlsx&prefill=true.
func (h *Handler) getTemplate(w http.ResponseWriter, r *http.Request, c caller) error {
	groupID, err := pathID(r, "groupId", "group")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var f fieldErrors
	format := q.Get("format")
	if format == "" {
		format = template.CSV
	}
	if _, ok := templateTypes[format]; !ok {
		f.add(pointer("format"), "format must be csv or xlsx")
	}
	prefill := false
	if s := q.Get("prefill"); s != "" {
		if prefill, err = strconv.ParseBool(s); err != nil {
			f.add(pointer("prefill"), "prefill must be true or false")
		}
	}
	if err := f.err("bad query parameter"); err != nil {
		return err
	}

	g, err := h.store.GetGroup(r.Context(), c.tenant, groupID)
	if err != nil {
		return fmt.Errorf("get group %s: %w", groupID, err)
	}
	var creds []bulk.Credential
	if prefill {
		if creds, err = h.store.GroupCredentials(r.Context(), c.tenant, groupID); err != nil {
			return fmt.Errorf("list credentials of group %s: %w", groupID, err)
		}
	}
	// Buffered so a failure half-way is still a clean problem response.
	var buf bytes.Buffer
	if err := template.Write(&buf, format, g, creds); err != nil {
		return fmt.Errorf("write %s template of group %s: %w", format, groupID, err)
	}
	w.Header().Set("Content-Type", templateTypes[format])
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment",
		map[string]string{"filename": templateFileName(g, format)}))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// templateFileName names the download after the group, e.g.
// "UX Foundations-template.xlsx".
func templateFileName(g bulk.Group, format string) string {
	name := strings.TrimSpace(g.Name)
	if name == "" {
		name = g.ID
	}
	name = strings.NewReplacer("/", "-", `\`, "-").Replace(name)
	return objectkey.SafeFileName(name + "-template." + format)
}

// createRequest is the body of POST /groups/{groupId}/bulk-updates.
type createRequest struct {
	FileName string `json:"fileName"`
}

// createUpload serves POST /groups/{groupId}/bulk-updates: a new upload
// awaiting its file, and the presigned PUT that delivers it.
func (h *Handler) createUpload(w http.ResponseWriter, r *http.Request, c caller) error {
	groupID, err := pathID(r, "groupId", "group")
	if err != nil {
		return err
	}
	var req createRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var f fieldErrors
	if strings.TrimSpace(req.FileName) == "" {
		f.add(pointer("fileName"), "fileName is required: the name of the spreadsheet being uploaded")
	}
	if err := f.err("bad request body"); err != nil {
		return err
	}
	if _, err := h.store.GetGroup(r.Context(), c.tenant, groupID); err != nil {
		return fmt.Errorf("get group %s: %w", groupID, err)
	}

	id, err := newUploadID()
	if err != nil {
		return err
	}
	name := objectkey.SafeFileName(req.FileName)
	key := objectkey.ForUpload(c.tenant, id, name)
	// Presign first: it needs no network, and a failure leaves nothing behind.
	put, err := h.presigner.PresignPut(r.Context(), key, h.uploadTTL)
	if err != nil {
		return fmt.Errorf("presign upload %s: %w", id, err)
	}
	now := h.now().UTC()
	u := bulk.Upload{
		Tenant:    c.tenant,
		ID:        id,
		GroupID:   groupID,
		Status:    bulk.StatusAwaitingUpload,
		Source:    "api",
		FileName:  name,
		ObjectKey: key,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := h.store.CreateUpload(r.Context(), u); err != nil {
		return fmt.Errorf("create upload %s: %w", id, err)
	}
	if put.Headers == nil {
		put.Headers = map[string]string{}
	}
	w.Header().Set("Location", "/bulk-updates/"+id)
	return writeJSON(w, http.StatusCreated, CreatedView{ID: id, Status: u.Status, Upload: put, ObjectKey: key})
}

// loadUpload reads the caller's upload named in the path. Another
// tenant's upload is simply not found: its existence is never revealed.
func (h *Handler) loadUpload(r *http.Request, c caller) (bulk.Upload, error) {
	id, err := pathID(r, "id", "bulk update")
	if err != nil {
		return bulk.Upload{}, err
	}
	u, err := h.store.GetUpload(r.Context(), c.tenant, id)
	if err != nil {
		return bulk.Upload{}, fmt.Errorf("get upload %s: %w", id, err)
	}
	return u, nil
}

// getUpload serves GET /bulk-updates/{id}.
func (h *Handler) getUpload(w http.ResponseWriter, r *http.Request, c caller) error {
	u, err := h.loadUpload(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewUpload(u))
}

// Row outcome filters of the rows route ("" lists every row).
var rowOutcomes = map[string]bool{
	"": true, bulk.OutcomeError: true, "warning": true, bulk.OutcomeUpdate: true, bulk.OutcomeUnchanged: true,
}

// listRows serves GET /bulk-updates/{id}/rows: the rows of the upload's
// current report, filtered by outcome and paged.
func (h *Handler) listRows(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	var f fieldErrors
	outcome := q.Get("outcome")
	if !rowOutcomes[outcome] {
		f.add(pointer("outcome"), "outcome must be error, warning, update or unchanged")
	}
	if err := f.err("bad query parameter"); err != nil {
		return err
	}
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	u, err := h.loadUpload(r, c)
	if err != nil {
		return err
	}
	if u.ReportVersion == 0 {
		return bulk.Errorf(bulk.EConflict, "the bulk update has no report yet (it is %s)", u.Status)
	}
	rows, next, err := h.store.ListReportRows(r.Context(), c.tenant, u.ID, u.ReportVersion, outcome, q.Get("cursor"), limit)
	if err != nil {
		return fmt.Errorf("list rows of upload %s report %d: %w", u.ID, u.ReportVersion, err)
	}
	return writeJSON(w, http.StatusOK, RowsView{ReportVersion: u.ReportVersion, Rows: nonNil(rows), NextCursor: next})
}

// listResults serves GET /bulk-updates/{id}/results: the credentials the
// commit touched, before and after, paged.
func (h *Handler) listResults(w http.ResponseWriter, r *http.Request, c caller) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	u, err := h.loadUpload(r, c)
	if err != nil {
		return err
	}
	switch u.Status {
	case bulk.StatusCommitting, bulk.StatusCompleted, bulk.StatusCompletedWithErrors, bulk.StatusFailed:
	default:
		return bulk.Errorf(bulk.EConflict, "the bulk update has not been committed (it is %s)", u.Status)
	}
	results, next, err := h.store.ListResults(r.Context(), c.tenant, u.ID, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return fmt.Errorf("list results of upload %s: %w", u.ID, err)
	}
	v := ResultsView{Status: u.Status, Totals: u.Results, Results: make([]ResultView, len(results)), NextCursor: next}
	for i, res := range results {
		v.Results[i] = viewResult(res)
	}
	return writeJSON(w, http.StatusOK, v)
}
