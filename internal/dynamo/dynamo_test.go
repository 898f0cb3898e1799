package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/sivchari/kumo"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
	"github.com/credup/credup/internal/store/storetest"
)

// client talks to the package's one in-process emulator.
var client *dynamodb.Client

func TestMain(m *testing.M) {
	srv := kumo.NewServer()
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	client = dynamodb.NewFromConfig(cfg, ForEmulator(srv.URL))
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// newTable creates a fresh table with a random name, so tests run in
// parallel, and after the test checks every item is under a tenant.
func newTable(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "credup-" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := client.CreateTable(ctx, TableInput(name)); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		if tt, ok := t.(*testing.T); ok {
			checkTenantKeys(tt, name)
		}
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("delete table: %v", err)
		}
	})
	return name
}

func newTestStore(t testing.TB) *Store {
	return New(client, newTable(t))
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t) })
}

// checkTenantKeys scans a table after a test and fails on any item whose
// partition key does not start with TENANT#<tenant>.
func checkTenantKeys(t *testing.T, table string) {
	t.Helper()
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		for _, it := range out.Items {
			n++
			pk, _ := it[attrPK].(*types.AttributeValueMemberS)
			if pk == nil {
				t.Errorf("item without a string PK: %v", it)
				continue
			}
			rest, ok := strings.CutPrefix(pk.Value, "TENANT#")
			tenant, _, _ := strings.Cut(rest, "#")
			if !ok || tenant == "" {
				t.Errorf("item PK %q is not under a tenant", pk.Value)
			}
		}
	}
	t.Logf("%d items, all under a tenant", n)
}

// TestKeyLayout checks the items a store writes against the documented
// table layout, which template.yaml and other readers rely on.
func TestKeyLayout(t *testing.T) {
	t.Parallel()
	s := newTestStore(t)
	ctx := context.Background()
	c := bulk.Credential{ID: "c-7", GroupID: "g-ux", Version: 1, Recipient: bulk.Recipient{ID: "S-1", Email: " Ana@Example.COM"}}
	must(t, s.PutTenant(ctx, bulk.Tenant{ID: "acme", Credits: 3}))
	must(t, s.PutCredentials(ctx, "acme", []bulk.Credential{c}))
	must(t, s.PutReportRows(ctx, "acme", "u1", 2, []bulk.Row{{Row: 12, Outcome: bulk.OutcomeUpdate}}))
	must(t, s.LearnMappings(ctx, "acme", map[string]string{"e-mail": bulk.AttrEmail}))
	op := store.Op{CredentialID: "c-7", ExpectedVersion: 1, After: c, Renewal: true}
	_, err := s.ApplyBatch(ctx, "acme", store.Batch{Upload: "u1", Number: 3, Ops: []store.Op{op}})
	must(t, err)

	shard := fmt.Sprintf("%02d", shard("c-7"))
	cases := []struct {
		name   string
		pk, sk string
		attrs  map[string]string
	}{
		{"tenant", "TENANT#acme", "TENANT", map[string]string{attrCredits: "N:2"}},
		{"credential", "TENANT#acme#CRED#c-7", "CRED", map[string]string{
			attrVersion: "N:2",
			attrGSI1PK:  "S:TENANT#acme#GROUP#g-ux#S#" + shard, attrGSI1SK: "S:CRED#c-7",
			attrGSI2PK: "S:TENANT#acme#EMAIL#ana@example.com", attrGSI2SK: "S:CRED#c-7",
			attrGSI3PK: "S:TENANT#acme#RID#S-1", attrGSI3SK: "S:CRED#c-7",
		}},
		{"report row", "TENANT#acme#UPLOAD#u1#REPORT#2", "ROW#0000000012", map[string]string{attrOutcome: "S:update", attrHasWarnings: "BOOL:false"}},
		{"learned mapping", "TENANT#acme#MAPPINGS", "HEADER#e-mail", map[string]string{attrAttribute: "S:" + bulk.AttrEmail}},
		{"batch marker", "TENANT#acme#UPLOAD#u1#BATCH#00003", "MARKER", map[string]string{
			"outcome": "S:applied", "creditsCharged": "N:1",
			attrGSI1PK: "S:TENANT#acme#UPLOAD#u1#BATCHES", attrGSI1SK: "S:BATCH#00003",
		}},
		{"result record", "TENANT#acme#UPLOAD#u1#BATCH#00003", "RESULT#c-7", map[string]string{"credentialId": "S:c-7"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, err := s.getItem(ctx, tc.pk, tc.sk)
			must(t, err)
			if it == nil {
				t.Fatalf("no item %s / %s", tc.pk, tc.sk)
			}
			for name, want := range tc.attrs {
				if got := show(it[name]); got != want {
					t.Errorf("%s = %s, want %s", name, got, want)
				}
			}
		})
	}
	t.Run("marker records when", func(t *testing.T) {
		it, err := s.getItem(ctx, "TENANT#acme#UPLOAD#u1#BATCH#00003", "MARKER")
		must(t, err)
		if _, ok := it[attrAppliedAt].(*types.AttributeValueMemberS); !ok {
			t.Errorf("marker has no %s: %v", attrAppliedAt, it)
		}
	})
}

func show(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + v.Value
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprintf("BOOL:%v", v.Value)
	case nil:
		return "absent"
	}
	return fmt.Sprintf("%T", v)
}

// TestGroupShards checks a group's credentials spread over the GSI1 shards
// rather than one hot partition.
func TestGroupShards(t *testing.T) {
	seen := map[int]int{}
	for i := range 1000 {
		n := shard(fmt.Sprintf("cred-%d", i))
		if n < 0 || n >= groupShards {
			t.Fatalf("shard %d out of range", n)
		}
		seen[n]++
	}
	if len(seen) != groupShards {
		t.Fatalf("1000 credentials used %d of %d shards", len(seen), groupShards)
	}
	for n, count := range seen {
		// An even spread is 62.5 per shard.
		if count < 30 || count > 100 {
			t.Errorf("shard %d holds %d of 1000 credentials", n, count)
		}
	}
}

// flaky wraps the emulator and leaves part of every BatchWriteItem
// unprocessed, as DynamoDB does under throttling.
type flaky struct {
	api
	calls int
}

func (f *flaky) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.calls++
	var out dynamodb.BatchWriteItemOutput
	for table, reqs := range in.RequestItems {
		if len(reqs) > 1 {
			half := len(reqs) / 2
			out.UnprocessedItems = map[string][]types.WriteRequest{table: reqs[half:]}
			in = &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs[:half]}}
		}
	}
	if _, err := f.api.BatchWriteItem(ctx, in, optFns...); err != nil {
		return nil, err
	}
	return &out, nil
}

func TestUnprocessedItemsAreRetried(t *testing.T) {
	t.Parallel()
	f := &flaky{api: client}
	s := newStore(f, newTable(t))
	s.backoff = 0
	ctx := context.Background()
	rows := make([]bulk.Row, 60)
	for i := range rows {
		rows[i] = bulk.Row{Row: i + 2, Outcome: bulk.OutcomeUnchanged}
	}
	must(t, s.PutReportRows(ctx, "acme", "u1", 1, rows))
	got, _, err := s.ListReportRows(ctx, "acme", "u1", 1, "", "", 1000)
	must(t, err)
	if len(got) != len(rows) {
		t.Errorf("stored %d rows of %d", len(got), len(rows))
	}
	// 60 rows are 3 chunks; halving each attempt takes ≥5 calls per full chunk.
	if f.calls <= 3 {
		t.Errorf("%d BatchWriteItem calls: unprocessed items were not retried", f.calls)
	}
}

// noReasons strips the cancellation reasons from cancelled transactions, so
// ApplyBatch must classify them by reading the table.
type noReasons struct {
	api
}

func (n noReasons) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := n.api.TransactWriteItems(ctx, in, optFns...)
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		return nil, &types.TransactionCanceledException{Message: tce.Message}
	}
	return out, err
}

// TestContractWithoutCancellationReasons runs the contract suite on a client
// whose cancelled transactions carry no reasons.
func TestContractWithoutCancellationReasons(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return newStore(noReasons{client}, newTable(t))
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTableInput creates the table from its schema and checks what a
// deployment relies on: the keys, three GSIs projecting everything,
// on-demand billing, and the TTL attribute.
func TestTableInput(t *testing.T) {
	t.Parallel()
	name := newTable(t)
	ctx := context.Background()
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	must(t, err)
	d := out.Table
	keys := func(ks []types.KeySchemaElement) string {
		var parts []string
		for _, k := range ks {
			parts = append(parts, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		return strings.Join(parts, ",")
	}
	if got := keys(d.KeySchema); got != "PK:HASH,SK:RANGE" {
		t.Errorf("table keys = %s", got)
	}
	if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing = %+v, want PAY_PER_REQUEST", d.BillingModeSummary)
	}
	want := map[string]string{
		"GSI1": "GSI1PK:HASH,GSI1SK:RANGE",
		"GSI2": "GSI2PK:HASH,GSI2SK:RANGE",
		"GSI3": "GSI3PK:HASH,GSI3SK:RANGE",
	}
	if len(d.GlobalSecondaryIndexes) != len(want) {
		t.Errorf("%d GSIs, want %d", len(d.GlobalSecondaryIndexes), len(want))
	}
	for _, g := range d.GlobalSecondaryIndexes {
		if got := keys(g.KeySchema); got != want[aws.ToString(g.IndexName)] {
			t.Errorf("%s keys = %s", aws.ToString(g.IndexName), got)
		}
		if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("%s projection = %+v, want ALL", aws.ToString(g.IndexName), g.Projection)
		}
	}
	_, err = client.UpdateTimeToLive(ctx, TimeToLiveInput(name))
	must(t, err)
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	must(t, err)
	if got := aws.ToString(ttl.TimeToLiveDescription.AttributeName); got != TTLAttribute {
		t.Errorf("TTL attribute = %q, want %q", got, TTLAttribute)
	}
}

func benchCredentials(n int, group string) []bulk.Credential {
	cs := make([]bulk.Credential, n)
	for i := range cs {
		cs[i] = bulk.Credential{
			ID: fmt.Sprintf("c-%06d", i), GroupID: group, Version: 1, IssuedOn: "2023-01-31", ExpiresOn: "2024-01-31",
			Recipient: bulk.Recipient{ID: fmt.Sprintf("S-%06d", i), Name: "Learner", Email: fmt.Sprintf("l%d@example.com", i)},
			Custom:    map[string]string{"course_hours": "40"},
		}
	}
	return cs
}

// BenchmarkPutReportRows writes 1000 report rows (40 BatchWriteItem calls).
func BenchmarkPutReportRows(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	rows := make([]bulk.Row, 1000)
	for i := range rows {
		rows[i] = bulk.Row{Row: i + 2, CredentialID: fmt.Sprintf("c-%06d", i), Outcome: bulk.OutcomeUpdate,
			Changes: []bulk.Change{{Field: bulk.AttrExpiresOn, From: "2024-01-31", To: "2027-01-31"}}}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		must(b, s.PutReportRows(ctx, "acme", "u1", i+1, rows))
	}
}

// BenchmarkGroupCredentials lists a group of 2000 credentials over its 16
// shards.
func BenchmarkGroupCredentials(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	must(b, s.PutCredentials(ctx, "acme", benchCredentials(2000, "g1")))
	b.ReportAllocs()
	for b.Loop() {
		cs, err := s.GroupCredentials(ctx, "acme", "g1")
		must(b, err)
		if len(cs) != 2000 {
			b.Fatalf("%d credentials", len(cs))
		}
	}
}

// BenchmarkApplyBatch applies full batches of 49 ops, one renewal each.
func BenchmarkApplyBatch(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	cs := benchCredentials(store.MaxBatchOps, "g1")
	must(b, s.PutCredentials(ctx, "acme", cs))
	must(b, s.PutTenant(ctx, bulk.Tenant{ID: "acme", Credits: 1 << 30}))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ops := make([]store.Op, len(cs))
		for j, c := range cs {
			after := c
			after.ExpiresOn = "2027-01-31"
			ops[j] = store.Op{Row: j + 2, CredentialID: c.ID, ExpectedVersion: int64(i + 1), Before: c, After: after, Renewal: true}
		}
		r, err := s.ApplyBatch(ctx, "acme", store.Batch{Upload: fmt.Sprintf("u%d", i), Number: 1, Ops: ops})
		must(b, err)
		if len(r.Applied) != len(ops) {
			b.Fatalf("applied %d of %d", len(r.Applied), len(ops))
		}
	}
}

// contended cancels the first n transactions the way DynamoDB does when
// another transaction touches the same items.
type contended struct {
	api
	n, calls int
}

func (c *contended) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls++
	if c.calls <= c.n {
		reasons := make([]types.CancellationReason, len(in.TransactItems))
		for i := range reasons {
			reasons[i].Code = aws.String("None")
		}
		reasons[0].Code = aws.String("TransactionConflict")
		return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
	}
	return c.api.TransactWriteItems(ctx, in, optFns...)
}

func TestApplyBatchTransientCancellation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name      string
		cancelled int
		wantErr   bool
	}{
		{"retried until it goes through", 2, false},
		{"gives up after bounded attempts", maxApplyAttempts, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := &contended{api: client, n: tc.cancelled}
			s := newStore(db, newTable(t))
			s.backoff = 0
			c := bulk.Credential{ID: "c1", GroupID: "g1", Version: 1}
			must(t, s.PutCredentials(ctx, "acme", []bulk.Credential{c}))
			must(t, s.PutTenant(ctx, bulk.Tenant{ID: "acme", Credits: 2}))
			op := store.Op{CredentialID: "c1", ExpectedVersion: 1, Before: c, After: c, Renewal: true}
			r, err := s.ApplyBatch(ctx, "acme", store.Batch{Upload: "u1", Number: 1, Ops: []store.Op{op}})
			if tc.wantErr {
				if err == nil || bulk.ErrorCode(err) != bulk.EInternal {
					t.Fatalf("error = %v, want an infrastructure error for the task to retry", err)
				}
				_, err := s.GetBatchResult(ctx, "acme", "u1", 1)
				if bulk.ErrorCode(err) != bulk.ENotFound {
					t.Errorf("a marker was stored: %v", err)
				}
				return
			}
			must(t, err)
			if len(r.Applied) != 1 || r.CreditsCharged != 1 {
				t.Errorf("result = %+v, want c1 applied and 1 credit charged", r)
			}
			tn, err := s.GetTenant(ctx, "acme")
			must(t, err)
			if tn.Credits != 1 {
				t.Errorf("credits = %d, want 1", tn.Credits)
			}
		})
	}
}
