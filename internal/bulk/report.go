package bulk

import "strconv"

// How a column's attribute was chosen.
const (
	HowExact    = "exact"
	HowSynonym  = "synonym"
	HowFuzzy    = "fuzzy"
	HowLearned  = "learned"
	HowAssigned = "assigned"
	HowSkip     = "skip"
	HowUnmapped = "unmapped"
)

// Row outcomes.
const (
	OutcomeUpdate    = "update"
	OutcomeUnchanged = "unchanged"
	OutcomeError     = "error"
)

// Row error codes: the row will not be updated.
const (
	ErrNoMatch           = "no_match"
	ErrOtherGroup        = "other_group"
	ErrAmbiguousMatch    = "ambiguous_match"
	ErrInvalidDate       = "invalid_date"
	ErrInvalidEmail      = "invalid_email"
	ErrInvalidNumber     = "invalid_number"
	ErrDuplicateTarget   = "duplicate_target"
	ErrExpiryBeforeIssue = "expiry_before_issue"
	ErrValueTooLong      = "value_too_long"
	ErrMissingKey        = "missing_key"
	ErrRaggedRow         = "ragged_row"
	ErrRequired          = "required_value"
)

// Row note codes: information that needs no confirmation.
const (
	NoteBlankKept = "blank_kept"
)

// Row warning codes: applied only once the user confirms them.
const (
	WarnNameOverride = "name_override"
	WarnEmailChange  = "email_change"
	WarnClearsValue  = "clears_value"
)

// Report is the outcome of validating one sheet against a group's
// credentials: how the file was read, how its columns were mapped, and what
// each row would do.
type Report struct {
	Format               string   `json:"format"`
	Encoding             string   `json:"encoding,omitempty"`
	Sheet                string   `json:"sheet,omitempty"`
	HeaderRow            int      `json:"headerRow"`
	DataRows             int      `json:"dataRows"`
	MatchBy              string   `json:"matchBy"`
	DateFormat           string   `json:"dateFormat,omitempty"`
	DateFormatCandidates []string `json:"dateFormatCandidates"`
	Columns              []Column `json:"columns"`
	Summary              Summary  `json:"summary"`
	Rows                 []Row    `json:"rows"`

	// Fingerprint identifies what the report would do (rows, outcomes,
	// changes), so a commit can tell whether the data moved since the
	// report the user confirmed.
	Fingerprint string `json:"-"`
}

// NeedsMapping reports whether some column is still unplaced: the user must
// assign it or skip it before the report can be committed.
func (r *Report) NeedsMapping() bool {
	for _, c := range r.Columns {
		if c.How == HowUnmapped {
			return true
		}
	}
	return false
}

// Column is one column of the sheet and the attribute it maps to.
// Attribute is empty for an unmapped column and "skip" for a skipped one.
type Column struct {
	Index      int     `json:"index"`
	Header     string  `json:"header"`
	Attribute  string  `json:"attribute,omitempty"`
	How        string  `json:"how"`
	Confidence float64 `json:"confidence"`
}

// Name is how a mapping addresses the column: its header, or "#N" (1-based)
// when the header is blank or repeated (unique reports whether it is not).
func (c Column) Name(unique bool) string {
	if c.Header == "" || !unique {
		return ColumnRef(c.Index)
	}
	return c.Header
}

// ColumnRef is the positional name of a 0-based column index: "#1" for 0.
func ColumnRef(index int) string {
	return "#" + strconv.Itoa(index+1)
}

// Summary totals a report.
type Summary struct {
	Update          int `json:"update"`
	Unchanged       int `json:"unchanged"`
	Error           int `json:"error"`
	Warning         int `json:"warning"`
	Renewals        int `json:"renewals"`
	CreditsRequired int `json:"creditsRequired"`
}

// Merge adds the counts of o, a summary of other rows.
func (s *Summary) Merge(o Summary) {
	s.Update += o.Update
	s.Unchanged += o.Unchanged
	s.Error += o.Error
	s.Warning += o.Warning
	s.Renewals += o.Renewals
	s.CreditsRequired += o.CreditsRequired
}

// Add counts one row into the summary.
func (s *Summary) Add(r *Row) {
	switch r.Outcome {
	case OutcomeUpdate:
		s.Update++
	case OutcomeUnchanged:
		s.Unchanged++
	case OutcomeError:
		s.Error++
	}
	if len(r.Warnings) > 0 && r.Outcome != OutcomeError {
		s.Warning++
	}
	if r.Renewal && r.Outcome == OutcomeUpdate {
		s.Renewals++
		s.CreditsRequired++
	}
}

// Row is what one data row of the sheet would do. Row numbers are as the user
// sees them in the sheet.
type Row struct {
	Row          int      `json:"row"`
	CredentialID string   `json:"credentialId,omitempty"`
	Outcome      string   `json:"outcome"`
	Changes      []Change `json:"changes,omitempty"`
	Warnings     []Issue  `json:"warnings,omitempty"`
	Errors       []Issue  `json:"errors,omitempty"`
	// Notes tell what the row will not do that the user might expect, such
	// as a blank expiry date left as it is; they need no confirmation.
	Notes   []Issue `json:"notes,omitempty"`
	Renewal bool    `json:"renewal,omitempty"`
}

// Change is one field a row would change.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Issue is an error or warning on a row; Column names the sheet column it
// concerns, when there is one.
type Issue struct {
	Code    string `json:"code"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}
