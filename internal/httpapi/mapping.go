package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
	"github.com/credup/credup/internal/mapping"
)

// putMapping serves PUT /bulk-updates/{id}/mapping: the user's mapping
// replaces the stored one (columns it leaves out go back to their
// suggestion), is learned for the tenant, and the upload is re-validated.
func (h *Handler) putMapping(w http.ResponseWriter, r *http.Request, c caller) error {
	var m bulk.Mapping
	if err := decodeJSON(w, r, &m); err != nil {
		return err
	}
	u, err := h.loadUpload(r, c)
	if err != nil {
		return err
	}
	g, err := h.store.GetGroup(r.Context(), c.tenant, u.GroupID)
	if err != nil {
		return fmt.Errorf("get group %s of upload %s: %w", u.GroupID, u.ID, err)
	}
	learn, err := checkMapping(m, g, u.Report)
	if err != nil {
		return err
	}

	prev := u
	updated, err := h.store.UpdateUpload(r.Context(), c.tenant, u.ID, func(u *bulk.Upload) error {
		if u.Status != bulk.StatusNeedsMapping && u.Status != bulk.StatusReadyForReview {
			return bulk.Errorf(bulk.EConflict,
				"the bulk update is %s; its mapping can change only while it needs mapping or is ready for review", u.Status)
		}
		prev = *u
		u.Mapping = m
		u.Status = bulk.StatusValidating
		u.UpdatedAt = h.now().UTC()
		return nil
	})
	if err != nil {
		return fmt.Errorf("set mapping of upload %s: %w", u.ID, err)
	}

	if err := h.revalidator.Revalidate(r.Context(), c.tenant, u.ID); err != nil {
		// Nothing will make the new report: put the upload back as it was,
		// so the user can simply try again.
		_, undoErr := h.store.UpdateUpload(r.Context(), c.tenant, u.ID, func(u *bulk.Upload) error {
			if u.Status != bulk.StatusValidating || !u.UpdatedAt.Equal(updated.UpdatedAt) {
				return errUnchanged
			}
			u.Status, u.Mapping, u.UpdatedAt = prev.Status, prev.Mapping, h.now().UTC()
			return nil
		})
		if undoErr != nil && !errors.Is(undoErr, errUnchanged) {
			h.log.ErrorContext(r.Context(), "restore upload after failed re-validation",
				slog.String("tenant", c.tenant), slog.String("upload", u.ID),
				slog.String("request_id", c.requestID), slog.String("error", undoErr.Error()))
		}
		return fmt.Errorf("start re-validation of upload %s: %w", u.ID, err)
	}

	// Learning only improves future suggestions; this mapping is already
	// stored, so a failure here is logged, not returned.
	if len(learn) > 0 {
		if err := h.store.LearnMappings(r.Context(), c.tenant, learn); err != nil {
			h.log.WarnContext(r.Context(), "learn mappings",
				slog.String("tenant", c.tenant), slog.String("upload", u.ID),
				slog.String("request_id", c.requestID), slog.String("error", err.Error()))
		}
	}
	return writeJSON(w, http.StatusAccepted, viewUpload(updated))
}

// errUnchanged aborts an UpdateUpload whose write is no longer wanted.
var errUnchanged = bulk.Errorf(bulk.EConflict, "unchanged")

// matchKeys are the standard attributes a row can be matched by; a
// group's custom attributes can serve too.
var matchKeys = []string{bulk.AttrCredentialID, bulk.AttrRecipientID, bulk.AttrEmail}

// checkMapping validates a mapping shallowly against the group and the
// current report: every column it names exists, every target is an
// attribute of the group or skip, no attribute gets two columns, the date
// format is one credup knows and the match key can identify a credential.
// It returns what to learn: normalized header → attribute, for columns
// assigned an attribute (a skip is not learned: it would silently drop a
// column of a future file).
func checkMapping(m bulk.Mapping, g bulk.Group, rep *bulk.Report) (map[string]string, error) {
	var f fieldErrors
	learn := map[string]string{}
	byAttr := map[string]string{}
	names := make([]string, 0, len(m.Columns))
	for name := range m.Columns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		attr := m.Columns[name]
		p := pointer("columns", name)
		header, ok := resolveColumn(name, rep, &f, p)
		if !ok {
			continue
		}
		if attr == bulk.Skip {
			continue
		}
		if _, known := g.Kind(attr); !known {
			f.add(p, "%q is not an attribute of group %s: use skip or one of %s",
				attr, g.ID, strings.Join(g.AttributeKeys(), ", "))
			continue
		}
		if other, dup := byAttr[attr]; dup {
			f.add(p, "columns %q and %q are both mapped to %s; map one and skip the other", other, name, attr)
			continue
		}
		byAttr[attr] = name
		if key := mapping.Normalize(header); key != "" {
			learn[key] = attr
		}
	}
	if m.DateFormat != "" && !dates.Valid(m.DateFormat) {
		f.add(pointer("dateFormat"), "%q is not a date format credup knows", m.DateFormat)
	}
	if m.MatchBy != "" && !canMatchBy(g, m.MatchBy) {
		f.add(pointer("matchBy"), "matchBy must be one of %s or custom.<key> for an attribute of group %s",
			strings.Join(matchKeys, ", "), g.ID)
	}
	if err := f.err("the mapping does not fit this bulk update"); err != nil {
		return nil, err
	}
	return learn, nil
}

// resolveColumn finds the column a mapping names ("#N" or a header) and
// returns its header; it records a field error and returns false when the
// report has no such column. Without a report every name is accepted.
func resolveColumn(name string, rep *bulk.Report, f *fieldErrors, p string) (string, bool) {
	if n, err := strconv.Atoi(strings.TrimPrefix(name, "#")); strings.HasPrefix(name, "#") && err == nil {
		if n < 1 {
			f.add(p, "column positions start at #1")
			return "", false
		}
		if rep == nil {
			return "", true
		}
		if n > len(rep.Columns) {
			f.add(p, "the sheet has %d columns; there is no %s", len(rep.Columns), name)
			return "", false
		}
		return rep.Columns[n-1].Header, true
	}
	if strings.TrimSpace(name) == "" {
		f.add(p, "a blank header cannot name a column: use its position, #N")
		return "", false
	}
	if rep == nil {
		return name, true
	}
	count := 0
	for _, col := range rep.Columns {
		if col.Header == name {
			count++
		}
	}
	switch count {
	case 0:
		f.add(p, "the sheet has no column with the header %q", name)
		return "", false
	case 1:
		return name, true
	default:
		f.add(p, "%d columns have the header %q: name each by its position, #N", count, name)
		return "", false
	}
}

// canMatchBy reports whether attr can identify a credential of group g.
func canMatchBy(g bulk.Group, attr string) bool {
	if slices.Contains(matchKeys, attr) {
		return true
	}
	if strings.HasPrefix(attr, bulk.CustomPrefix) {
		_, ok := g.Kind(attr)
		return ok
	}
	return false
}
