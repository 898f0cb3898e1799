package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

// maxApplyAttempts bounds ApplyBatch's transactions: each failed one either
// drops conflicting ops or waits out a transient conflict.
const maxApplyAttempts = 6

// marker is the stored BatchResult of an applied batch; it is also the
// tenant's credit ledger entry for the batch.
type marker struct {
	store.BatchResult
	AppliedAt time.Time `json:"appliedAt"`
}

// checkBatch validates a batch before anything is read: the keys it needs,
// its size, and one op per credential (a transaction may touch an item once).
func checkBatch(tenant string, b store.Batch) error {
	if _, err := batchPK(tenant, b.Upload, b.Number); err != nil {
		return err
	}
	return store.CheckOps(b)
}

// ApplyBatch applies one batch exactly once as one TransactWriteItems: a
// conditional put per credential and its result record, the credit
// decrement conditioned on the balance, and a marker conditioned on not
// existing. A cancelled transaction is classified from its cancellation
// reasons: a present marker returns the stored result, failed credentials
// become conflicts and the rest is retried, a short balance stores an
// insufficient_credits marker.
func (s *Store) ApplyBatch(ctx context.Context, tenant string, b store.Batch) (store.BatchResult, error) {
	if err := checkBatch(tenant, b); err != nil {
		return store.BatchResult{}, err
	}
	stored, err := s.GetBatchResult(ctx, tenant, b.Upload, b.Number)
	if err == nil {
		return stored, nil
	}
	if bulk.ErrorCode(err) != bulk.ENotFound {
		return store.BatchResult{}, err
	}

	pending := append([]store.Op(nil), b.Ops...)
	conflicts := map[string]bool{}
	for attempt := 0; attempt < maxApplyAttempts; attempt++ {
		tx, err := s.batchTransaction(tenant, b, pending, conflicts)
		if err != nil {
			return store.BatchResult{}, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx.items})
		if err == nil {
			return tx.result, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return store.BatchResult{}, fmt.Errorf("apply batch %d of upload %s: %w", b.Number, b.Upload, err)
		}
		v, err := s.classify(ctx, tenant, b, tx, pending, tce.CancellationReasons)
		if err != nil {
			return store.BatchResult{}, err
		}
		switch {
		case v.markerExists:
			return s.GetBatchResult(ctx, tenant, b.Upload, b.Number)
		case len(v.conflicted) > 0:
			var keep []store.Op
			for _, op := range pending {
				if v.conflicted[op.CredentialID] {
					conflicts[op.CredentialID] = true
				} else {
					keep = append(keep, op)
				}
			}
			pending = keep
		case v.insufficient:
			return s.refuseBatch(ctx, tenant, b, conflicts)
		default:
			// A transient cancellation (a concurrent transaction, throttling):
			// wait and try the same transaction again.
			if err := s.sleep(ctx, attempt+1); err != nil {
				return store.BatchResult{}, fmt.Errorf("apply batch %d of upload %s: %w", b.Number, b.Upload, err)
			}
		}
	}
	return store.BatchResult{}, fmt.Errorf("apply batch %d of upload %s: transaction cancelled %d times", b.Number, b.Upload, maxApplyAttempts)
}

// inOrder lists the credentials of set in the batch's op order, however
// many attempts it took to find them.
func inOrder(ops []store.Op, set map[string]bool) []string {
	out := []string{}
	for _, op := range ops {
		if set[op.CredentialID] {
			out = append(out, op.CredentialID)
		}
	}
	return out
}

// transaction is one attempt at a batch: its items, where each kind of
// conditioned item sits in them, and the result it stores.
type transaction struct {
	items     []types.TransactWriteItem
	opIndex   map[int]string // item index of a credential put → credential ID
	credit    int            // item index of the credit decrement, -1 if none
	marker    int
	renewals  int
	result    store.BatchResult
	appliedAt time.Time
}

func (s *Store) batchTransaction(tenant string, b store.Batch, ops []store.Op, conflicts map[string]bool) (*transaction, error) {
	bpk, err := batchPK(tenant, b.Upload, b.Number)
	if err != nil {
		return nil, err
	}
	tx := &transaction{opIndex: map[int]string{}, credit: -1, appliedAt: s.now().UTC()}
	applied := make([]string, 0, len(ops))
	for _, op := range ops {
		after := op.After
		after.ID = op.CredentialID
		after.Version = op.ExpectedVersion + 1
		cred, err := credentialItem(tenant, after)
		if err != nil {
			return nil, err
		}
		res, err := marshal(store.Result{
			Row: op.Row, CredentialID: op.CredentialID, Outcome: store.ResultUpdated,
			Before: op.Before, After: after, Changes: op.Changes, Renewal: op.Renewal,
		})
		if err != nil {
			return nil, fmt.Errorf("marshal result of credential %s: %w", op.CredentialID, err)
		}
		tx.opIndex[len(tx.items)] = op.CredentialID
		tx.items = append(tx.items,
			types.TransactWriteItem{Put: &types.Put{
				TableName:                 aws.String(s.table),
				Item:                      cred,
				ConditionExpression:       aws.String("#v = :expected"),
				ExpressionAttributeNames:  map[string]string{"#v": attrVersion},
				ExpressionAttributeValues: item{":expected": num(op.ExpectedVersion)},
			}},
			types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(s.table),
				Item:      withKey(res, bpk, resultSK(op.CredentialID)),
			}},
		)
		applied = append(applied, op.CredentialID)
		if op.Renewal {
			tx.renewals++
		}
	}
	// Ops left out as conflicts get a result record too, so the results
	// say which credentials changed under the commit.
	for _, op := range b.Ops {
		if !conflicts[op.CredentialID] {
			continue
		}
		res, err := marshal(store.Result{
			Row: op.Row, CredentialID: op.CredentialID, Outcome: store.ResultConflict,
			Before: op.Before, After: op.After, Changes: op.Changes, Renewal: op.Renewal,
		})
		if err != nil {
			return nil, fmt.Errorf("marshal result of credential %s: %w", op.CredentialID, err)
		}
		tx.items = append(tx.items, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.table),
			Item:      withKey(res, bpk, resultSK(op.CredentialID)),
		}})
	}
	if tx.renewals > 0 {
		tpk, _ := tenantPK(tenant) // checked by checkBatch
		tx.credit = len(tx.items)
		tx.items = append(tx.items, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       key(tpk, skTenant),
			UpdateExpression:          aws.String("SET #c = #c - :n"),
			ConditionExpression:       aws.String("#c >= :n"),
			ExpressionAttributeNames:  map[string]string{"#c": attrCredits},
			ExpressionAttributeValues: item{":n": num(int64(tx.renewals))},
		}})
	}
	tx.result = store.BatchResult{
		Upload: b.Upload, Number: b.Number, Outcome: store.BatchApplied,
		Applied: applied, Conflicts: inOrder(b.Ops, conflicts), CreditsCharged: tx.renewals,
	}
	put, err := s.markerPut(tenant, tx.result, tx.appliedAt)
	if err != nil {
		return nil, err
	}
	tx.marker = len(tx.items)
	tx.items = append(tx.items, types.TransactWriteItem{Put: put})
	return tx, nil
}

// markerPut is the conditional put of a batch's marker. The marker is also
// indexed on GSI1 under its upload so ListResults can walk the batches.
func (s *Store) markerPut(tenant string, r store.BatchResult, at time.Time) (*types.Put, error) {
	pk, err := batchPK(tenant, r.Upload, r.Number)
	if err != nil {
		return nil, err
	}
	g1, err := batchesGSI1PK(tenant, r.Upload)
	if err != nil {
		return nil, err
	}
	m, err := marshal(marker{BatchResult: r, AppliedAt: at})
	if err != nil {
		return nil, fmt.Errorf("marshal marker of batch %d: %w", r.Number, err)
	}
	withKey(m, pk, skMarker)
	m[attrGSI1PK], m[attrGSI1SK] = str(g1), str(batchSK(r.Number))
	return &types.Put{
		TableName:                aws.String(s.table),
		Item:                     m,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	}, nil
}

// verdict is why a batch transaction was cancelled.
type verdict struct {
	markerExists bool
	conflicted   map[string]bool
	insufficient bool
}

// classify reads the cancellation reasons, one per transaction item in
// order. Where they are missing it reads the marker, the credentials'
// versions and the balance instead, so the outcome is the same either way.
func (s *Store) classify(ctx context.Context, tenant string, b store.Batch, tx *transaction, ops []store.Op, reasons []types.CancellationReason) (verdict, error) {
	v := verdict{conflicted: map[string]bool{}}
	if len(reasons) == len(tx.items) {
		for _, r := range reasons {
			// A malformed item never succeeds; retrying would only hide it.
			if aws.ToString(r.Code) == "ValidationError" {
				return verdict{}, fmt.Errorf("apply batch %d of upload %s: %s", b.Number, b.Upload, aws.ToString(r.Message))
			}
		}
		failed := func(i int) bool { return aws.ToString(reasons[i].Code) == "ConditionalCheckFailed" }
		v.markerExists = failed(tx.marker)
		for i, id := range tx.opIndex {
			if failed(i) {
				v.conflicted[id] = true
			}
		}
		v.insufficient = tx.credit >= 0 && failed(tx.credit)
		return v, nil
	}

	_, err := s.GetBatchResult(ctx, tenant, b.Upload, b.Number)
	if err == nil {
		v.markerExists = true
		return v, nil
	}
	if bulk.ErrorCode(err) != bulk.ENotFound {
		return verdict{}, err
	}
	for _, op := range ops {
		version, ok, err := s.getCredentialVersion(ctx, tenant, op.CredentialID)
		if err != nil {
			return verdict{}, err
		}
		if !ok || version != op.ExpectedVersion {
			v.conflicted[op.CredentialID] = true
		}
	}
	if tx.renewals > 0 {
		t, err := s.GetTenant(ctx, tenant)
		if err != nil && bulk.ErrorCode(err) != bulk.ENotFound {
			return verdict{}, err
		}
		v.insufficient = t.Credits < tx.renewals
	}
	return v, nil
}

// refuseBatch stores the marker of a batch the balance cannot cover: no
// credential changes, nothing charged.
func (s *Store) refuseBatch(ctx context.Context, tenant string, b store.Batch, conflicts map[string]bool) (store.BatchResult, error) {
	r := store.BatchResult{
		Upload: b.Upload, Number: b.Number, Outcome: store.BatchInsufficientCredits,
		Applied: []string{}, Conflicts: inOrder(b.Ops, conflicts),
	}
	put, err := s.markerPut(tenant, r, s.now().UTC())
	if err != nil {
		return store.BatchResult{}, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item,
		ConditionExpression: put.ConditionExpression, ExpressionAttributeNames: put.ExpressionAttributeNames,
	})
	if conditionFailed(err) {
		return s.GetBatchResult(ctx, tenant, b.Upload, b.Number)
	}
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("refuse batch %d of upload %s: %w", b.Number, b.Upload, err)
	}
	return r, nil
}

func decodeMarker(it item) (store.BatchResult, error) {
	var m marker
	if err := unmarshal(it, &m); err != nil {
		return store.BatchResult{}, err
	}
	r := m.BatchResult
	if r.Applied == nil {
		r.Applied = []string{}
	}
	if r.Conflicts == nil {
		r.Conflicts = []string{}
	}
	return r, nil
}

// GetBatchResult returns the stored result of an applied batch.
func (s *Store) GetBatchResult(ctx context.Context, tenant, upload string, batch int) (store.BatchResult, error) {
	pk, err := batchPK(tenant, upload, batch)
	if err != nil {
		return store.BatchResult{}, err
	}
	it, err := s.getItem(ctx, pk, skMarker)
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("get batch %d of upload %s: %w", batch, upload, err)
	}
	if it == nil {
		return store.BatchResult{}, bulk.Errorf(bulk.ENotFound, "batch %d of upload %s was not applied", batch, upload)
	}
	r, err := decodeMarker(it)
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("decode batch %d of upload %s: %w", batch, upload, err)
	}
	return r, nil
}

// ListResults pages an upload's result records batch by batch, in
// credential ID order within a batch. Batches come from their markers on
// GSI1, which on DynamoDB trails a just-applied batch by a moment.
func (s *Store) ListResults(ctx context.Context, tenant, upload, cur string, limit int) ([]store.Result, string, error) {
	g1, err := batchesGSI1PK(tenant, upload)
	if err != nil {
		return nil, "", err
	}
	pos, err := store.DecodeCursor(cur, store.CursorResults)
	if err != nil {
		return nil, "", err
	}
	if pos.Batch > maxBatch {
		return nil, "", bulk.Errorf(bulk.EInvalid, "invalid cursor")
	}
	limit = store.PageLimit(limit)
	results := make([]store.Result, 0, limit+1)
	batches := make([]int, 0, limit+1) // the batch of each result, for the cursor
	markers := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(indexGroup),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk >= :from"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrGSI1PK, "#sk": attrGSI1SK},
		ExpressionAttributeValues: item{":pk": str(g1), ":from": str(batchSK(pos.Batch))},
	}
	for len(results) <= limit {
		out, err := s.db.Query(ctx, markers)
		if err != nil {
			return nil, "", fmt.Errorf("list batches of upload %s: %w", upload, err)
		}
		for _, it := range out.Items {
			m, err := decodeMarker(it)
			if err != nil {
				return nil, "", fmt.Errorf("decode batch of upload %s: %w", upload, err)
			}
			if len(m.Applied) == 0 {
				continue
			}
			after := ""
			if m.Number == pos.Batch {
				after = pos.Credential
			}
			rs, err := s.batchResults(ctx, tenant, upload, m.Number, after, limit+1-len(results))
			if err != nil {
				return nil, "", err
			}
			results = append(results, rs...)
			for range rs {
				batches = append(batches, m.Number)
			}
			if len(results) > limit {
				break
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		markers.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(results) <= limit {
		return results, "", nil
	}
	results = results[:limit]
	next := store.Cursor{Kind: store.CursorResults, Batch: batches[limit-1], Credential: results[limit-1].CredentialID}
	return results, store.EncodeCursor(next), nil
}

// batchResults reads up to n result records of one batch whose credential
// IDs sort after the given one.
func (s *Store) batchResults(ctx context.Context, tenant, upload string, batch int, after string, n int) ([]store.Result, error) {
	pk, err := batchPK(tenant, upload, batch)
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: item{":pk": str(pk), ":prefix": str(resultSK(""))},
		ConsistentRead:            aws.Bool(true),
	}
	if after != "" {
		// Result keys are the only ones past MARKER in a batch partition.
		in.KeyConditionExpression = aws.String("#pk = :pk AND #sk > :after")
		in.ExpressionAttributeValues = item{":pk": str(pk), ":after": str(resultSK(after))}
	}
	var rs []store.Result
	for len(rs) < n {
		in.Limit = aws.Int32(int32(n - len(rs)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list results of batch %d of upload %s: %w", batch, upload, err)
		}
		for _, it := range out.Items {
			var r store.Result
			if err := unmarshal(it, &r); err != nil {
				return nil, fmt.Errorf("decode result of batch %d of upload %s: %w", batch, upload, err)
			}
			rs = append(rs, r)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return rs, nil
}
