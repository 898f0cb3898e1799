package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

// maxUpdateAttempts bounds UpdateUpload's read-modify-write retries when
// another writer changed the upload in between.
const maxUpdateAttempts = 6

func uploadItem(u bulk.Upload, pk string, rev int64) (item, error) {
	m, err := marshal(u)
	if err != nil {
		return nil, fmt.Errorf("marshal upload %s: %w", u.ID, err)
	}
	m[attrRev] = num(rev)
	return withKey(m, pk, skUpload), nil
}

// CreateUpload stores a new upload; EConflict if its ID exists.
func (s *Store) CreateUpload(ctx context.Context, u bulk.Upload) error {
	pk, err := uploadPK(u.Tenant, u.ID)
	if err != nil {
		return err
	}
	it, err := uploadItem(u, pk, 1)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	if conditionFailed(err) {
		return bulk.Errorf(bulk.EConflict, "upload %s already exists", u.ID)
	}
	if err != nil {
		return fmt.Errorf("create upload %s: %w", u.ID, err)
	}
	return nil
}

// getUpload reads an upload and its revision.
func (s *Store) getUpload(ctx context.Context, tenant, id string) (bulk.Upload, int64, error) {
	pk, err := uploadPK(tenant, id)
	if err != nil {
		return bulk.Upload{}, 0, err
	}
	it, err := s.getItem(ctx, pk, skUpload)
	if err != nil {
		return bulk.Upload{}, 0, fmt.Errorf("get upload %s: %w", id, err)
	}
	if it == nil {
		return bulk.Upload{}, 0, bulk.Errorf(bulk.ENotFound, "upload %s not found", id)
	}
	var u bulk.Upload
	if err := unmarshal(it, &u); err != nil {
		return bulk.Upload{}, 0, fmt.Errorf("decode upload %s: %w", id, err)
	}
	rev, ok := it[attrRev].(*types.AttributeValueMemberN)
	if !ok {
		return bulk.Upload{}, 0, fmt.Errorf("decode upload %s: no revision", id)
	}
	n, err := strconv.ParseInt(rev.Value, 10, 64)
	if err != nil {
		return bulk.Upload{}, 0, fmt.Errorf("decode upload %s revision: %w", id, err)
	}
	return u, n, nil
}

// GetUpload returns one upload of the tenant.
func (s *Store) GetUpload(ctx context.Context, tenant, id string) (bulk.Upload, error) {
	u, _, err := s.getUpload(ctx, tenant, id)
	return u, err
}

// UpdateUpload reads the upload, lets fn change it and writes it back
// conditioned on its revision, re-running fn on fresh data when another
// writer got there first.
func (s *Store) UpdateUpload(ctx context.Context, tenant, id string, fn func(*bulk.Upload) error) (bulk.Upload, error) {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		if attempt > 0 {
			if err := s.sleep(ctx, attempt); err != nil {
				return bulk.Upload{}, fmt.Errorf("update upload %s: %w", id, err)
			}
		}
		u, rev, err := s.getUpload(ctx, tenant, id)
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
		pk, _ := uploadPK(tenant, id) // checked by getUpload
		it, err := uploadItem(u, pk, rev+1)
		if err != nil {
			return bulk.Upload{}, err
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(s.table),
			Item:                      it,
			ConditionExpression:       aws.String("#rev = :rev"),
			ExpressionAttributeNames:  map[string]string{"#rev": attrRev},
			ExpressionAttributeValues: item{":rev": num(rev)},
		})
		if conditionFailed(err) {
			continue
		}
		if err != nil {
			return bulk.Upload{}, fmt.Errorf("update upload %s: %w", id, err)
		}
		return u, nil
	}
	return bulk.Upload{}, bulk.Errorf(bulk.EConflict, "upload %s kept changing; try again", id)
}

// PutReportRows stores rows of one report version, 25 per BatchWriteItem,
// with the outcome and a warnings flag as attributes to filter on.
func (s *Store) PutReportRows(ctx context.Context, tenant, upload string, version int, rows []bulk.Row) error {
	pk, err := reportPK(tenant, upload, version)
	if err != nil {
		return err
	}
	last := make(map[int]int, len(rows))
	for i, r := range rows {
		last[r.Row] = i
	}
	items := make([]item, 0, len(last))
	for i, r := range rows {
		if last[r.Row] != i {
			continue
		}
		sk, err := rowSK(r.Row)
		if err != nil {
			return err
		}
		m, err := marshal(r)
		if err != nil {
			return fmt.Errorf("marshal report row %d: %w", r.Row, err)
		}
		m[attrHasWarnings] = &types.AttributeValueMemberBOOL{Value: len(r.Warnings) > 0}
		items = append(items, withKey(m, pk, sk))
	}
	if err := s.putAll(ctx, items); err != nil {
		return fmt.Errorf("put %d report rows of upload %s version %d: %w", len(items), upload, version, err)
	}
	return nil
}

// ListReportRows pages the rows of one report version in row order. A filter
// may leave a query page short, so it queries until the page is full or the
// rows run out, reading one row more to know whether a next page exists.
func (s *Store) ListReportRows(ctx context.Context, tenant, upload string, version int, outcome, cur string, limit int) ([]bulk.Row, string, error) {
	pk, err := reportPK(tenant, upload, version)
	if err != nil {
		return nil, "", err
	}
	pos, err := store.DecodeCursor(cur, store.CursorRows)
	if err != nil {
		return nil, "", err
	}
	limit = store.PageLimit(limit)
	names := map[string]string{"#pk": attrPK, "#sk": attrSK}
	values := item{":pk": str(pk), ":after": str(fmt.Sprintf("ROW#%010d", pos.Row))}
	var filter *string
	switch outcome {
	case "":
	case bulk.OutcomeUpdate, bulk.OutcomeUnchanged, bulk.OutcomeError:
		filter = aws.String("#o = :o")
		names["#o"] = attrOutcome
		values[":o"] = str(outcome)
	case "warning":
		filter = aws.String("#w = :w")
		names["#w"] = attrHasWarnings
		values[":w"] = &types.AttributeValueMemberBOOL{Value: true}
	default:
		return nil, "", bulk.Errorf(bulk.EInvalid, "unknown outcome filter %q", outcome)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk > :after"),
		FilterExpression:          filter,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ConsistentRead:            aws.Bool(true),
	}
	rows := make([]bulk.Row, 0, limit+1)
	for len(rows) <= limit {
		// Without a filter every evaluated row is returned, so ask for exactly
		// what is missing; with one, read a full page and keep what matches.
		in.Limit = aws.Int32(int32(store.MaxLimit))
		if filter == nil {
			in.Limit = aws.Int32(int32(limit + 1 - len(rows)))
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list report rows of upload %s version %d: %w", upload, version, err)
		}
		for _, it := range out.Items {
			var r bulk.Row
			if err := unmarshal(it, &r); err != nil {
				return nil, "", fmt.Errorf("decode report row of upload %s: %w", upload, err)
			}
			rows = append(rows, r)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(rows) <= limit {
		return rows, "", nil
	}
	rows = rows[:limit]
	return rows, store.EncodeCursor(store.Cursor{Kind: store.CursorRows, Row: rows[limit-1].Row}), nil
}

// LearnedMappings returns the header → attribute choices the tenant made.
func (s *Store) LearnedMappings(ctx context.Context, tenant string) (map[string]string, error) {
	pk, err := mappingsPK(tenant)
	if err != nil {
		return nil, err
	}
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: item{":pk": str(pk)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("list learned mappings: %w", err)
	}
	m := make(map[string]string, len(items))
	for _, it := range items {
		h, _ := it[attrHeader].(*types.AttributeValueMemberS)
		a, _ := it[attrAttribute].(*types.AttributeValueMemberS)
		if h == nil || a == nil {
			return nil, fmt.Errorf("decode learned mapping: missing %s or %s", attrHeader, attrAttribute)
		}
		m[h.Value] = a.Value
	}
	return m, nil
}

// maxHeaderBytes is the longest header a learned mapping keeps: the header
// is part of the sort key, which DynamoDB caps at 1024 bytes.
const maxHeaderBytes = 512

// LearnMappings records header → attribute choices, replacing earlier ones
// for the same headers. A header longer than maxHeaderBytes is not learned:
// remembering it is a convenience, not worth failing the user's mapping for.
func (s *Store) LearnMappings(ctx context.Context, tenant string, m map[string]string) error {
	pk, err := mappingsPK(tenant)
	if err != nil {
		return err
	}
	items := make([]item, 0, len(m))
	for h, a := range m {
		if strings.TrimSpace(h) == "" || a == "" {
			return bulk.Errorf(bulk.EInvalid, "a learned mapping needs a header and an attribute")
		}
		if len(h) > maxHeaderBytes {
			continue
		}
		items = append(items, withKey(item{attrHeader: str(h), attrAttribute: str(a)}, pk, "HEADER#"+h))
	}
	if err := s.putAll(ctx, items); err != nil {
		return fmt.Errorf("learn %d mappings: %w", len(items), err)
	}
	return nil
}
