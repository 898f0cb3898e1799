package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/credup/credup/internal/bulk"
)

// BenchmarkListRows measures one page of 1000 report rows, the largest a
// client can ask for, from the in-memory store through JSON.
func BenchmarkListRows(b *testing.B) {
	f := newFixture(b)
	rows := make([]bulk.Row, 5000)
	for i := range rows {
		rows[i] = bulk.Row{Row: i + 2, CredentialID: fmt.Sprintf("c-%05d", i), Outcome: bulk.OutcomeUpdate,
			Changes: []bulk.Change{{Field: bulk.AttrExpiresOn, From: "2024-01-31", To: "2027-01-31"}}}
	}
	f.seedUpload(b, "u-1", nil, rows...)
	b.ReportAllocs()
	for b.Loop() {
		res := f.do(b, tenant1, http.MethodGet, "/bulk-updates/u-1/rows?limit=1000", nil)
		if res.Code != http.StatusOK {
			b.Fatalf("status %d", res.Code)
		}
	}
}
