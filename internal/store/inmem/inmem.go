// Package inmem is credup's store.Store in memory, for unit tests of the
// API and commit code. It keeps the DynamoDB store's semantics (tenant and
// ID checks, conditional writes, exactly-once batches, opaque cursors) and
// copies values in and out so callers never share stored data.
package inmem

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

// Limits shared with the DynamoDB store's key layout and paging.
const (
	maxRow            = 9_999_999_999
	maxBatch          = 99_999
	maxUpdateAttempts = 6
	// maxHeaderBytes is the longest header a learned mapping keeps, as in
	// the DynamoDB store, where the header is part of a sort key.
	maxHeaderBytes = 512
)

type id2 struct{ tenant, id string }

type reportKey struct {
	tenant, upload string
	version        int
}

type batchKey struct {
	tenant, upload string
	number         int
}

type storedUpload struct {
	u   bulk.Upload
	rev int64
}

// Store is a store.Store in memory. The zero value is not usable; call New.
type Store struct {
	mu          sync.Mutex
	tenants     map[string]bulk.Tenant
	groups      map[id2]bulk.Group
	credentials map[id2]bulk.Credential
	uploads     map[id2]storedUpload
	rows        map[reportKey]map[int]bulk.Row
	mappings    map[string]map[string]string
	markers     map[batchKey]store.BatchResult
	results     map[batchKey]map[string]store.Result

	// beforeWrite, when set, runs between UpdateUpload's fn and its write,
	// so tests can make another writer win the race.
	beforeWrite func()
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		tenants:     map[string]bulk.Tenant{},
		groups:      map[id2]bulk.Group{},
		credentials: map[id2]bulk.Credential{},
		uploads:     map[id2]storedUpload{},
		rows:        map[reportKey]map[int]bulk.Row{},
		mappings:    map[string]map[string]string{},
		markers:     map[batchKey]store.BatchResult{},
		results:     map[batchKey]map[string]store.Result{},
	}
}

// keyPart refuses an ID the DynamoDB store could not put in a key.
func keyPart(kind, v string) error { return store.KeyPart(kind, v) }

func checkTenant(tenant string) error { return keyPart("tenant", tenant) }

func checkScoped(tenant, kind, id string) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	return keyPart(kind+" id", id)
}

func checkReport(tenant, upload string, version int) error {
	if err := checkScoped(tenant, "upload", upload); err != nil {
		return err
	}
	if version < 0 {
		return bulk.Errorf(bulk.EInvalid, "report version %d is negative", version)
	}
	return nil
}

func checkBatchKey(tenant, upload string, batch int) error {
	if err := checkScoped(tenant, "upload", upload); err != nil {
		return err
	}
	if batch < 0 || batch > maxBatch {
		return bulk.Errorf(bulk.EInvalid, "batch number %d out of range", batch)
	}
	return nil
}

func checkCredential(tenant string, c bulk.Credential) error {
	if err := checkScoped(tenant, "credential", c.ID); err != nil {
		return err
	}
	return keyPart("group id", c.GroupID)
}

// PutTenant stores a tenant and its credit balance.
func (s *Store) PutTenant(_ context.Context, t bulk.Tenant) error {
	if err := checkTenant(t.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants[t.ID] = t
	return nil
}

// GetTenant returns a tenant with its current credit balance.
func (s *Store) GetTenant(_ context.Context, tenant string) (bulk.Tenant, error) {
	if err := checkTenant(tenant); err != nil {
		return bulk.Tenant{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return bulk.Tenant{}, bulk.Errorf(bulk.ENotFound, "tenant %s not found", tenant)
	}
	return t, nil
}

// PutGroup stores a group.
func (s *Store) PutGroup(_ context.Context, tenant string, g bulk.Group) error {
	if err := checkScoped(tenant, "group", g.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id2{tenant, g.ID}] = clone(g)
	return nil
}

// GetGroup returns one group of the tenant.
func (s *Store) GetGroup(_ context.Context, tenant, group string) (bulk.Group, error) {
	if err := checkScoped(tenant, "group", group); err != nil {
		return bulk.Group{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id2{tenant, group}]
	if !ok {
		return bulk.Group{}, bulk.Errorf(bulk.ENotFound, "group %s not found", group)
	}
	return clone(g), nil
}

// PutCredentials writes credentials as they are; the last of duplicates wins.
func (s *Store) PutCredentials(_ context.Context, tenant string, cs []bulk.Credential) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	for _, c := range cs {
		if err := checkCredential(tenant, c); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.credentials[id2{tenant, c.ID}] = clone(c)
	}
	return nil
}

// GetCredential returns one credential of the tenant.
func (s *Store) GetCredential(_ context.Context, tenant, id string) (bulk.Credential, error) {
	if err := checkScoped(tenant, "credential", id); err != nil {
		return bulk.Credential{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.credentials[id2{tenant, id}]
	if !ok {
		return bulk.Credential{}, bulk.Errorf(bulk.ENotFound, "credential %s not found", id)
	}
	return clone(c), nil
}

// credentialsWhere returns copies of the tenant's credentials that match, in
// ID order.
func (s *Store) credentialsWhere(tenant string, match func(*bulk.Credential) bool) []bulk.Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []bulk.Credential{}
	for k, c := range s.credentials {
		if k.tenant == tenant && match(&c) {
			out = append(out, clone(c))
		}
	}
	slices.SortFunc(out, func(a, b bulk.Credential) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// GroupCredentials returns every credential of a group, in ID order.
func (s *Store) GroupCredentials(_ context.Context, tenant, group string) ([]bulk.Credential, error) {
	if err := checkScoped(tenant, "group", group); err != nil {
		return nil, err
	}
	return s.credentialsWhere(tenant, func(c *bulk.Credential) bool { return c.GroupID == group }), nil
}

// FindCredentials returns the tenant's credentials whose attr equals value.
func (s *Store) FindCredentials(_ context.Context, tenant, attr, value string) ([]bulk.Credential, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	switch attr {
	case bulk.AttrCredentialID:
		if keyPart("credential id", value) != nil {
			return []bulk.Credential{}, nil
		}
		return s.credentialsWhere(tenant, func(c *bulk.Credential) bool { return c.ID == value }), nil
	case bulk.AttrEmail:
		want := bulk.NormalizeEmail(value)
		if want == "" {
			return []bulk.Credential{}, nil
		}
		return s.credentialsWhere(tenant, func(c *bulk.Credential) bool { return bulk.NormalizeEmail(c.Recipient.Email) == want }), nil
	case bulk.AttrRecipientID:
		if value == "" {
			return []bulk.Credential{}, nil
		}
		return s.credentialsWhere(tenant, func(c *bulk.Credential) bool { return c.Recipient.ID == value }), nil
	}
	return nil, bulk.Errorf(bulk.EInvalid, "credentials cannot be looked up by %s", attr)
}

// CreateUpload stores a new upload; EConflict if its ID exists.
func (s *Store) CreateUpload(_ context.Context, u bulk.Upload) error {
	if err := checkScoped(u.Tenant, "upload", u.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := id2{u.Tenant, u.ID}
	if _, ok := s.uploads[k]; ok {
		return bulk.Errorf(bulk.EConflict, "upload %s already exists", u.ID)
	}
	s.uploads[k] = storedUpload{u: clone(u), rev: 1}
	return nil
}

func (s *Store) getUpload(tenant, id string) (bulk.Upload, int64, error) {
	if err := checkScoped(tenant, "upload", id); err != nil {
		return bulk.Upload{}, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	su, ok := s.uploads[id2{tenant, id}]
	if !ok {
		return bulk.Upload{}, 0, bulk.Errorf(bulk.ENotFound, "upload %s not found", id)
	}
	return clone(su.u), su.rev, nil
}

// GetUpload returns one upload of the tenant.
func (s *Store) GetUpload(_ context.Context, tenant, id string) (bulk.Upload, error) {
	u, _, err := s.getUpload(tenant, id)
	return u, err
}

// UpdateUpload reads the upload, lets fn change it outside the lock and
// writes it back only if its revision is unchanged, re-running fn on fresh
// data otherwise.
func (s *Store) UpdateUpload(ctx context.Context, tenant, id string, fn func(*bulk.Upload) error) (bulk.Upload, error) {
	for range maxUpdateAttempts {
		if err := ctx.Err(); err != nil {
			return bulk.Upload{}, err
		}
		u, rev, err := s.getUpload(tenant, id)
		if err != nil {
			return bulk.Upload{}, err
		}
		from := u.Status
		if err := fn(&u); err != nil {
			return bulk.Upload{}, err
		}
		if u.Tenant != tenant || u.ID != id {
			return bulk.Upload{}, bulk.Errorf(bulk.EInvalid, "an upload's tenant and ID cannot change")
		}
		if u.Status != from && !bulk.CanTransition(from, u.Status) {
			return bulk.Upload{}, bulk.Errorf(bulk.EConflict, "upload %s cannot go from %s to %s", id, from, u.Status)
		}
		if s.beforeWrite != nil {
			s.beforeWrite()
		}
		if s.writeUpload(u, rev) {
			return clone(u), nil
		}
	}
	return bulk.Upload{}, bulk.Errorf(bulk.EConflict, "upload %s kept changing; try again", id)
}

// writeUpload stores u if the stored revision is still rev.
func (s *Store) writeUpload(u bulk.Upload, rev int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := id2{u.Tenant, u.ID}
	if s.uploads[k].rev != rev {
		return false
	}
	s.uploads[k] = storedUpload{u: clone(u), rev: rev + 1}
	return true
}

// PutReportRows stores rows of one report version.
func (s *Store) PutReportRows(_ context.Context, tenant, upload string, version int, rows []bulk.Row) error {
	if err := checkReport(tenant, upload, version); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Row < 1 || r.Row > maxRow {
			return bulk.Errorf(bulk.EInvalid, "row number %d out of range", r.Row)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := reportKey{tenant, upload, version}
	if s.rows[k] == nil {
		s.rows[k] = map[int]bulk.Row{}
	}
	for _, r := range rows {
		s.rows[k][r.Row] = clone(r)
	}
	return nil
}

// ListReportRows pages the rows of one report version in row order.
func (s *Store) ListReportRows(_ context.Context, tenant, upload string, version int, outcome, cur string, limit int) ([]bulk.Row, string, error) {
	if err := checkReport(tenant, upload, version); err != nil {
		return nil, "", err
	}
	pos, err := store.DecodeCursor(cur, store.CursorRows)
	if err != nil {
		return nil, "", err
	}
	var keep func(*bulk.Row) bool
	switch outcome {
	case "":
		keep = func(*bulk.Row) bool { return true }
	case bulk.OutcomeUpdate, bulk.OutcomeUnchanged, bulk.OutcomeError:
		keep = func(r *bulk.Row) bool { return r.Outcome == outcome }
	case "warning":
		keep = func(r *bulk.Row) bool { return len(r.Warnings) > 0 }
	default:
		return nil, "", bulk.Errorf(bulk.EInvalid, "unknown outcome filter %q", outcome)
	}
	limit = store.PageLimit(limit)

	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.rows[reportKey{tenant, upload, version}]
	nums := make([]int, 0, len(stored))
	for n, r := range stored {
		if n > pos.Row && keep(&r) {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	next := ""
	if len(nums) > limit {
		nums = nums[:limit]
		next = store.EncodeCursor(store.Cursor{Kind: store.CursorRows, Row: nums[limit-1]})
	}
	rows := make([]bulk.Row, len(nums))
	for i, n := range nums {
		rows[i] = clone(stored[n])
	}
	return rows, next, nil
}

// LearnedMappings returns the header → attribute choices the tenant made.
func (s *Store) LearnedMappings(_ context.Context, tenant string) (map[string]string, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]string, len(s.mappings[tenant]))
	for h, a := range s.mappings[tenant] {
		m[h] = a
	}
	return m, nil
}

// LearnMappings records header → attribute choices, replacing earlier ones;
// a header too long to be a DynamoDB sort key is not learned.
func (s *Store) LearnMappings(_ context.Context, tenant string, m map[string]string) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	for h, a := range m {
		if strings.TrimSpace(h) == "" || a == "" {
			return bulk.Errorf(bulk.EInvalid, "a learned mapping needs a header and an attribute")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mappings[tenant] == nil {
		s.mappings[tenant] = map[string]string{}
	}
	for h, a := range m {
		if len(h) <= maxHeaderBytes {
			s.mappings[tenant][h] = a
		}
	}
	return nil
}

func checkBatch(tenant string, b store.Batch) error {
	if err := checkBatchKey(tenant, b.Upload, b.Number); err != nil {
		return err
	}
	return store.CheckOps(b)
}

// ApplyBatch applies one batch exactly once, under the lock: ops whose
// credential moved on are conflicts, the rest are applied if the balance
// covers their renewals, and the marker makes a replay return the stored
// result.
func (s *Store) ApplyBatch(_ context.Context, tenant string, b store.Batch) (store.BatchResult, error) {
	if err := checkBatch(tenant, b); err != nil {
		return store.BatchResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := batchKey{tenant, b.Upload, b.Number}
	if r, ok := s.markers[k]; ok {
		return clone(r), nil
	}
	r := store.BatchResult{Upload: b.Upload, Number: b.Number, Outcome: store.BatchApplied, Applied: []string{}, Conflicts: []string{}}
	var apply []store.Op
	renewals := 0
	for _, op := range b.Ops {
		c, ok := s.credentials[id2{tenant, op.CredentialID}]
		if !ok || c.Version != op.ExpectedVersion {
			r.Conflicts = append(r.Conflicts, op.CredentialID)
			continue
		}
		apply = append(apply, op)
		if op.Renewal {
			renewals++
		}
	}
	if renewals > 0 {
		t, ok := s.tenants[tenant]
		if !ok || t.Credits < renewals {
			r.Outcome = store.BatchInsufficientCredits
			s.markers[k] = clone(r)
			return r, nil
		}
		t.Credits -= renewals
		s.tenants[tenant] = t
	}
	results := make(map[string]store.Result, len(apply))
	for _, op := range apply {
		after := clone(op.After)
		after.ID = op.CredentialID
		after.Version = op.ExpectedVersion + 1
		s.credentials[id2{tenant, op.CredentialID}] = after
		results[op.CredentialID] = clone(store.Result{
			Row: op.Row, CredentialID: op.CredentialID, Outcome: store.ResultUpdated,
			Before: op.Before, After: after, Changes: op.Changes, Renewal: op.Renewal,
		})
		r.Applied = append(r.Applied, op.CredentialID)
	}
	for _, op := range b.Ops {
		if slices.Contains(r.Conflicts, op.CredentialID) {
			results[op.CredentialID] = clone(store.Result{
				Row: op.Row, CredentialID: op.CredentialID, Outcome: store.ResultConflict,
				Before: op.Before, After: op.After, Changes: op.Changes, Renewal: op.Renewal,
			})
		}
	}
	r.CreditsCharged = renewals
	s.markers[k] = clone(r)
	s.results[k] = results
	return r, nil
}

// GetBatchResult returns the stored result of an applied batch.
func (s *Store) GetBatchResult(_ context.Context, tenant, upload string, batch int) (store.BatchResult, error) {
	if err := checkBatchKey(tenant, upload, batch); err != nil {
		return store.BatchResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.markers[batchKey{tenant, upload, batch}]
	if !ok {
		return store.BatchResult{}, bulk.Errorf(bulk.ENotFound, "batch %d of upload %s was not applied", batch, upload)
	}
	return clone(r), nil
}

// ListResults pages an upload's result records batch by batch, in
// credential ID order within a batch.
func (s *Store) ListResults(_ context.Context, tenant, upload, cur string, limit int) ([]store.Result, string, error) {
	if err := checkScoped(tenant, "upload", upload); err != nil {
		return nil, "", err
	}
	pos, err := store.DecodeCursor(cur, store.CursorResults)
	if err != nil || pos.Batch > maxBatch {
		return nil, "", bulk.Errorf(bulk.EInvalid, "invalid cursor")
	}
	limit = store.PageLimit(limit)

	type at struct {
		batch int
		id    string
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []at
	for k, rs := range s.results {
		if k.tenant != tenant || k.upload != upload {
			continue
		}
		for id := range rs {
			if k.number > pos.Batch || (k.number == pos.Batch && id > pos.Credential) {
				keys = append(keys, at{k.number, id})
			}
		}
	}
	slices.SortFunc(keys, func(a, b at) int {
		return cmp.Or(cmp.Compare(a.batch, b.batch), strings.Compare(a.id, b.id))
	})
	next := ""
	if len(keys) > limit {
		keys = keys[:limit]
		last := keys[limit-1]
		next = store.EncodeCursor(store.Cursor{Kind: store.CursorResults, Batch: last.batch, Credential: last.id})
	}
	out := make([]store.Result, len(keys))
	for i, k := range keys {
		out[i] = clone(s.results[batchKey{tenant, upload, k.batch}][k.id])
	}
	return out, next, nil
}
