// Package storetest is the contract suite of store.Store: one set of tests
// every implementation (inmem, dynamo) must pass, so the API and commit code
// can be unit-tested on the in-memory store and trusted on DynamoDB.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

// Run runs the contract suite. newStore must return an empty store that no
// other test uses; the subtests run in parallel, each on its own store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(*testing.T, func(*testing.T) store.Store)
	}{
		{"InvalidKeys", testInvalidKeys},
		{"Tenants", testTenants},
		{"Groups", testGroups},
		{"CredentialRoundTrip", testCredentialRoundTrip},
		{"GroupCredentials", testGroupCredentials},
		{"FindCredentials", testFindCredentials},
		{"Copies", testCopies},
		{"Uploads", testUploads},
		{"UploadTransitions", testUploadTransitions},
		{"ConcurrentUploadUpdates", testConcurrentUploadUpdates},
		{"ReportRows", testReportRows},
		{"ReportRowLimits", testReportRowLimits},
		{"LearnedMappings", testLearnedMappings},
		{"ApplyBatch", testApplyBatch},
		{"ConcurrentReplay", testConcurrentReplay},
		{"ListResults", testListResults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore)
		})
	}
}

const (
	acme   = "acme"
	globex = "globex"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err carries the domain error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *bulk.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want a %s error", err, code)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func credential(id, group string) bulk.Credential {
	return bulk.Credential{
		ID: id, GroupID: group, Version: 1,
		Recipient: bulk.Recipient{ID: "R-" + id, Name: "Name " + id, Email: id + "@example.com"},
		IssuedOn:  "2023-01-31", ExpiresOn: "2024-01-31", Grade: "A",
		Custom: map[string]string{"course_hours": "40"},
	}
}

func ids(cs []bulk.Credential) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// seed stores a tenant with the given balance (no tenant item at all when
// it is negative), group g1 and credentials c1..cn of version 1.
func seed(t *testing.T, s store.Store, credits, n int) []bulk.Credential {
	t.Helper()
	ctx := context.Background()
	if credits >= 0 {
		must(t, s.PutTenant(ctx, bulk.Tenant{ID: acme, Name: "Acme", Credits: credits}))
	}
	must(t, s.PutGroup(ctx, acme, bulk.Group{ID: "g1", Name: "UX"}))
	cs := make([]bulk.Credential, n)
	for i := range cs {
		cs[i] = credential(fmt.Sprintf("c%d", i+1), "g1")
	}
	must(t, s.PutCredentials(ctx, acme, cs))
	return cs
}

func credits(t *testing.T, s store.Store, tenant string) int {
	t.Helper()
	tn, err := s.GetTenant(context.Background(), tenant)
	must(t, err)
	return tn.Credits
}
