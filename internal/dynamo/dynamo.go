// Package dynamo is credup's store.Store on one DynamoDB table: tenants,
// groups, credentials (indexed by group, email and recipient ID), uploads,
// report rows, learned mappings and exactly-once commit batches. Every key
// starts with TENANT#<tenant> and every key builder refuses a missing tenant
// or an ID containing the # delimiter.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credup/credup/internal/store"
)

// api is the part of the DynamoDB client the store uses.
type api interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is a store.Store on one DynamoDB table.
type Store struct {
	db    api
	table string
	now   func() time.Time
	// backoff is the base delay between retries of a write that lost a race
	// or came back partly unprocessed.
	backoff time.Duration
}

var _ store.Store = (*Store)(nil)

// New returns a store on the given table, created from TableInput.
func New(client *dynamodb.Client, table string) *Store {
	return newStore(client, table)
}

func newStore(db api, table string) *Store {
	return &Store{db: db, table: table, now: time.Now, backoff: 20 * time.Millisecond}
}

// ForEmulator points a DynamoDB client at an emulator endpoint (kumo,
// LocalStack). Emulators send no CRC32 header, so response checksum
// validation is off here and only here.
func ForEmulator(endpoint string) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true
	}
}

// TableInput is the table's schema: the same as template.yaml's, used by
// tests and the local stack to create it.
func TableInput(name string) *dynamodb.CreateTableInput {
	def := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	gsi := func(name, hash, rng string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName:  aws.String(name),
			KeySchema:  keys(hash, rng),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			def(attrPK), def(attrSK),
			def(attrGSI1PK), def(attrGSI1SK),
			def(attrGSI2PK), def(attrGSI2SK),
			def(attrGSI3PK), def(attrGSI3SK),
		},
		KeySchema: keys(attrPK, attrSK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(indexGroup, attrGSI1PK, attrGSI1SK),
			gsi(indexEmail, attrGSI2PK, attrGSI2SK),
			gsi(indexRecipient, attrGSI3PK, attrGSI3SK),
		},
	}
}

// TimeToLiveInput turns on expiry of items by TTLAttribute; CreateTable
// cannot carry it.
func TimeToLiveInput(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	}
}

type item = map[string]types.AttributeValue

// Items are the domain types marshalled through their JSON tags, so the
// stored attribute names are the ones the API shows.
func marshal(v any) (item, error) {
	return attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
}

func unmarshal(m item, v any) error {
	return attributevalue.UnmarshalMapWithOptions(m, v, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" })
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}

func key(pk, sk string) item { return item{attrPK: str(pk), attrSK: str(sk)} }

// withKey adds the primary key to a marshalled item.
func withKey(m item, pk, sk string) item {
	m[attrPK] = str(pk)
	m[attrSK] = str(sk)
	return m
}

// getItem reads one item consistently; nil when it does not exist.
func (s *Store) getItem(ctx context.Context, pk, sk string) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// queryAll runs a query to its end, page by page.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput) ([]item, error) {
	var all []item
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return all, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// batchChunk is BatchWriteItem's limit of requests per call.
const batchChunk = 25

// maxWriteAttempts bounds the retries of unprocessed batch items.
const maxWriteAttempts = 8

// putAll writes items with BatchWriteItem, 25 at a time, retrying what
// DynamoDB leaves unprocessed (throttling) with backoff.
func (s *Store) putAll(ctx context.Context, items []item) error {
	for start := 0; start < len(items); start += batchChunk {
		chunk := items[start:min(start+batchChunk, len(items))]
		reqs := make([]types.WriteRequest, len(chunk))
		for i, it := range chunk {
			reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
		}
		for attempt := 0; len(reqs) > 0; attempt++ {
			if attempt == maxWriteAttempts {
				return fmt.Errorf("%d items still unprocessed after %d attempts", len(reqs), attempt)
			}
			if attempt > 0 {
				if err := s.sleep(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{s.table: reqs},
			})
			if err != nil {
				return err
			}
			reqs = out.UnprocessedItems[s.table]
		}
	}
	return nil
}

// sleep waits a jittered exponential backoff before retry attempt n (n ≥ 1),
// so writers that lost a race do not collide again in step.
func (s *Store) sleep(ctx context.Context, attempt int) error {
	d := s.backoff << min(attempt-1, 6)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
