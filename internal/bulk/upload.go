package bulk

import "time"

// Upload statuses.
const (
	StatusAwaitingUpload      = "awaiting_upload"
	StatusValidating          = "validating"
	StatusNeedsMapping        = "needs_mapping"
	StatusReadyForReview      = "ready_for_review"
	StatusCommitting          = "committing"
	StatusCompleted           = "completed"
	StatusCompletedWithErrors = "completed_with_errors"
	StatusFailed              = "failed"
	StatusCancelled           = "cancelled"
)

// transitions lists, for each status, the statuses it may move to.
var transitions = map[string][]string{
	StatusAwaitingUpload: {StatusValidating, StatusCancelled, StatusFailed},
	StatusValidating:     {StatusNeedsMapping, StatusReadyForReview, StatusFailed, StatusCancelled},
	StatusNeedsMapping:   {StatusValidating, StatusCancelled},
	StatusReadyForReview: {StatusValidating, StatusCommitting, StatusCancelled},
	StatusCommitting:     {StatusCompleted, StatusCompletedWithErrors, StatusFailed},
}

// CanTransition reports whether an upload may move from one status to another.
func CanTransition(from, to string) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Upload is one bulk update: a file for one group and everything decided
// about it, from the first report to the commit's results.
type Upload struct {
	Tenant    string    `json:"tenant"`
	ID        string    `json:"id"`
	GroupID   string    `json:"groupId"`
	Status    string    `json:"status"`
	Source    string    `json:"source"` // "api" or "dropbox"
	FileName  string    `json:"fileName,omitempty"`
	ObjectKey string    `json:"objectKey,omitempty"`
	ETag      string    `json:"etag,omitempty"`
	Mapping   Mapping   `json:"mapping"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`

	// The latest report: its version, fingerprint and everything but rows.
	ReportVersion     int     `json:"reportVersion"`
	ReportFingerprint string  `json:"reportFingerprint,omitempty"`
	Report            *Report `json:"report,omitempty"`

	// ConfirmedVersion is the report version whose warnings the user accepted.
	ConfirmedVersion int `json:"confirmedVersion,omitempty"`

	Execution string   `json:"execution,omitempty"`
	Results   *Results `json:"results,omitempty"`
	Failure   string   `json:"failure,omitempty"`
}

// Results totals a commit.
type Results struct {
	Updated        int `json:"updated"`
	Conflicts      int `json:"conflicts"`
	Skipped        int `json:"skipped"`
	CreditsCharged int `json:"creditsCharged"`
	Batches        int `json:"batches"`
}
