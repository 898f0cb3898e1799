package httpapi

import (
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

// UploadView is an upload as clients see it: the stored upload without
// its storage and execution internals, and the report without its rows.
type UploadView struct {
	ID        string       `json:"id"`
	GroupID   string       `json:"groupId"`
	Status    string       `json:"status"`
	Source    string       `json:"source"`
	FileName  string       `json:"fileName,omitempty"`
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`
	Mapping   bulk.Mapping `json:"mapping"`

	ReportVersion    int         `json:"reportVersion"`
	ConfirmedVersion int         `json:"confirmedVersion"`
	Report           *ReportView `json:"report,omitempty"`
	// NeedsConfirmation says the report has warnings the user has not
	// accepted for this report version.
	NeedsConfirmation bool `json:"needsConfirmation"`

	Results *bulk.Results `json:"results,omitempty"`
	Failure string        `json:"failure,omitempty"`
}

// ReportView is the report of an upload without its rows (they are paged
// by the rows route).
type ReportView struct {
	Format               string       `json:"format"`
	Encoding             string       `json:"encoding,omitempty"`
	Sheet                string       `json:"sheet,omitempty"`
	HeaderRow            int          `json:"headerRow"`
	DataRows             int          `json:"dataRows"`
	MatchBy              string       `json:"matchBy"`
	DateFormat           string       `json:"dateFormat,omitempty"`
	DateFormatCandidates []string     `json:"dateFormatCandidates"`
	Columns              []ColumnView `json:"columns"`
	Summary              bulk.Summary `json:"summary"`
	NeedsMapping         bool         `json:"needsMapping"`
}

// ColumnView is a report column plus the name a mapping addresses it by.
type ColumnView struct {
	bulk.Column
	Name string `json:"name"`
}

func viewUpload(u bulk.Upload) UploadView {
	v := UploadView{
		ID:               u.ID,
		GroupID:          u.GroupID,
		Status:           u.Status,
		Source:           u.Source,
		FileName:         u.FileName,
		CreatedAt:        u.CreatedAt,
		UpdatedAt:        u.UpdatedAt,
		Mapping:          u.Mapping,
		ReportVersion:    u.ReportVersion,
		ConfirmedVersion: u.ConfirmedVersion,
		Results:          u.Results,
		Failure:          u.Failure,
	}
	if r := u.Report; r != nil {
		v.Report = &ReportView{
			Format:               r.Format,
			Encoding:             r.Encoding,
			Sheet:                r.Sheet,
			HeaderRow:            r.HeaderRow,
			DataRows:             r.DataRows,
			MatchBy:              r.MatchBy,
			DateFormat:           r.DateFormat,
			DateFormatCandidates: nonNil(r.DateFormatCandidates),
			Columns:              viewColumns(r.Columns),
			Summary:              r.Summary,
			NeedsMapping:         r.NeedsMapping(),
		}
		v.NeedsConfirmation = r.Summary.Warning > 0 && u.ConfirmedVersion != u.ReportVersion
	}
	return v
}

func viewColumns(cols []bulk.Column) []ColumnView {
	seen := map[string]int{}
	for _, c := range cols {
		seen[c.Header]++
	}
	out := make([]ColumnView, len(cols))
	for i, c := range cols {
		out[i] = ColumnView{Column: c, Name: c.Name(seen[c.Header] == 1)}
	}
	return out
}

// CreatedView answers the creation of an upload: where to send the file.
type CreatedView struct {
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	Upload    PresignedUpload `json:"upload"`
	ObjectKey string          `json:"objectKey"`
}

// RowsView is one page of report rows.
type RowsView struct {
	ReportVersion int        `json:"reportVersion"`
	Rows          []bulk.Row `json:"rows"`
	NextCursor    string     `json:"nextCursor"`
}

// ResultsView is one page of a commit's results.
type ResultsView struct {
	Status     string        `json:"status"`
	Totals     *bulk.Results `json:"totals"`
	Results    []ResultView  `json:"results"`
	NextCursor string        `json:"nextCursor"`
}

// ResultView is one credential a commit touched, before and after.
type ResultView struct {
	CredentialID string          `json:"credentialId"`
	Row          int             `json:"row"`
	Outcome      string          `json:"outcome"`
	Before       bulk.Credential `json:"before"`
	After        bulk.Credential `json:"after"`
	Changes      []bulk.Change   `json:"changes"`
	Renewal      bool            `json:"renewal,omitempty"`
}

func viewResult(r store.Result) ResultView {
	return ResultView{
		CredentialID: r.CredentialID,
		Row:          r.Row,
		Outcome:      r.Outcome,
		Before:       r.Before,
		After:        r.After,
		Changes:      nonNil(r.Changes),
		Renewal:      r.Renewal,
	}
}

// nonNil makes an absent list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
