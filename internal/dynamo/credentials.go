package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credup/credup/internal/bulk"
)

// PutTenant stores a tenant and its credit balance.
func (s *Store) PutTenant(ctx context.Context, t bulk.Tenant) error {
	pk, err := tenantPK(t.ID)
	if err != nil {
		return err
	}
	m, err := marshal(t)
	if err != nil {
		return fmt.Errorf("marshal tenant %s: %w", t.ID, err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: withKey(m, pk, skTenant)}); err != nil {
		return fmt.Errorf("put tenant %s: %w", t.ID, err)
	}
	return nil
}

// GetTenant returns a tenant with its current credit balance.
func (s *Store) GetTenant(ctx context.Context, tenant string) (bulk.Tenant, error) {
	pk, err := tenantPK(tenant)
	if err != nil {
		return bulk.Tenant{}, err
	}
	it, err := s.getItem(ctx, pk, skTenant)
	if err != nil {
		return bulk.Tenant{}, fmt.Errorf("get tenant %s: %w", tenant, err)
	}
	if it == nil {
		return bulk.Tenant{}, bulk.Errorf(bulk.ENotFound, "tenant %s not found", tenant)
	}
	var t bulk.Tenant
	if err := unmarshal(it, &t); err != nil {
		return bulk.Tenant{}, fmt.Errorf("decode tenant %s: %w", tenant, err)
	}
	return t, nil
}

// PutGroup stores a group.
func (s *Store) PutGroup(ctx context.Context, tenant string, g bulk.Group) error {
	pk, err := groupPK(tenant, g.ID)
	if err != nil {
		return err
	}
	m, err := marshal(g)
	if err != nil {
		return fmt.Errorf("marshal group %s: %w", g.ID, err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: withKey(m, pk, skGroup)}); err != nil {
		return fmt.Errorf("put group %s: %w", g.ID, err)
	}
	return nil
}

// GetGroup returns one group of the tenant.
func (s *Store) GetGroup(ctx context.Context, tenant, group string) (bulk.Group, error) {
	pk, err := groupPK(tenant, group)
	if err != nil {
		return bulk.Group{}, err
	}
	it, err := s.getItem(ctx, pk, skGroup)
	if err != nil {
		return bulk.Group{}, fmt.Errorf("get group %s: %w", group, err)
	}
	if it == nil {
		return bulk.Group{}, bulk.Errorf(bulk.ENotFound, "group %s not found", group)
	}
	var g bulk.Group
	if err := unmarshal(it, &g); err != nil {
		return bulk.Group{}, fmt.Errorf("decode group %s: %w", group, err)
	}
	return g, nil
}

// credentialItem is a credential with its primary key and the keys of the
// three indexes. GSI2 and GSI3 are sparse: a blank email or recipient ID is
// not indexed (DynamoDB refuses empty key values).
func credentialItem(tenant string, c bulk.Credential) (item, error) {
	pk, err := credentialPK(tenant, c.ID)
	if err != nil {
		return nil, err
	}
	g1, err := groupShardPK(tenant, c.GroupID, shard(c.ID))
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	m, err := marshal(c)
	if err != nil {
		return nil, fmt.Errorf("marshal credential %s: %w", c.ID, err)
	}
	withKey(m, pk, skCred)
	m[attrGSI1PK], m[attrGSI1SK] = str(g1), str(credSK(c.ID))
	if bulk.NormalizeEmail(c.Recipient.Email) != "" {
		g2, err := emailPK(tenant, c.Recipient.Email)
		if err != nil {
			return nil, err
		}
		m[attrGSI2PK], m[attrGSI2SK] = str(g2), str(credSK(c.ID))
	}
	if c.Recipient.ID != "" {
		g3, err := recipientPK(tenant, c.Recipient.ID)
		if err != nil {
			return nil, err
		}
		m[attrGSI3PK], m[attrGSI3SK] = str(g3), str(credSK(c.ID))
	}
	return m, nil
}

func decodeCredential(it item) (bulk.Credential, error) {
	var c bulk.Credential
	if err := unmarshal(it, &c); err != nil {
		return bulk.Credential{}, fmt.Errorf("decode credential: %w", err)
	}
	return c, nil
}

func decodeCredentials(items []item) ([]bulk.Credential, error) {
	cs := make([]bulk.Credential, 0, len(items))
	for _, it := range items {
		c, err := decodeCredential(it)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// PutCredentials writes credentials as they are, 25 per BatchWriteItem. A
// credential listed twice is written once, as its last occurrence.
func (s *Store) PutCredentials(ctx context.Context, tenant string, cs []bulk.Credential) error {
	if _, err := tenantPK(tenant); err != nil {
		return err
	}
	last := make(map[string]int, len(cs))
	for i, c := range cs {
		last[c.ID] = i
	}
	items := make([]item, 0, len(last))
	for i, c := range cs {
		if last[c.ID] != i {
			continue
		}
		it, err := credentialItem(tenant, c)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	if err := s.putAll(ctx, items); err != nil {
		return fmt.Errorf("put %d credentials: %w", len(items), err)
	}
	return nil
}

// GetCredential returns one credential of the tenant.
func (s *Store) GetCredential(ctx context.Context, tenant, id string) (bulk.Credential, error) {
	pk, err := credentialPK(tenant, id)
	if err != nil {
		return bulk.Credential{}, err
	}
	it, err := s.getItem(ctx, pk, skCred)
	if err != nil {
		return bulk.Credential{}, fmt.Errorf("get credential %s: %w", id, err)
	}
	if it == nil {
		return bulk.Credential{}, bulk.Errorf(bulk.ENotFound, "credential %s not found", id)
	}
	c, err := decodeCredential(it)
	if err != nil {
		return bulk.Credential{}, fmt.Errorf("get credential %s: %w", id, err)
	}
	return c, nil
}

// GroupCredentials queries the group's 16 GSI1 shards at once and returns
// their credentials in ID order.
func (s *Store) GroupCredentials(ctx context.Context, tenant, group string) ([]bulk.Credential, error) {
	pks := make([]string, groupShards)
	for i := range pks {
		pk, err := groupShardPK(tenant, group, i)
		if err != nil {
			return nil, err
		}
		pks[i] = pk
	}
	results := make([][]item, groupShards)
	errs := make([]error, groupShards)
	var wg sync.WaitGroup
	for i, pk := range pks {
		wg.Go(func() {
			results[i], errs[i] = s.queryAll(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(s.table),
				IndexName:                 aws.String(indexGroup),
				KeyConditionExpression:    aws.String("#pk = :pk"),
				ExpressionAttributeNames:  map[string]string{"#pk": attrGSI1PK},
				ExpressionAttributeValues: item{":pk": str(pk)},
			})
		})
	}
	wg.Wait()
	var all []item
	for i := range results {
		if errs[i] != nil {
			return nil, fmt.Errorf("list credentials of group %s shard %d: %w", group, i, errs[i])
		}
		all = append(all, results[i]...)
	}
	cs, err := decodeCredentials(all)
	if err != nil {
		return nil, fmt.Errorf("list credentials of group %s: %w", group, err)
	}
	slices.SortFunc(cs, func(a, b bulk.Credential) int { return strings.Compare(a.ID, b.ID) })
	return cs, nil
}

// FindCredentials looks a credential up by ID, or the tenant's credentials
// by normalized email (GSI2) or recipient ID (GSI3), in ID order.
func (s *Store) FindCredentials(ctx context.Context, tenant, attr, value string) ([]bulk.Credential, error) {
	if _, err := tenantPK(tenant); err != nil {
		return nil, err
	}
	var index, pkAttr, pk string
	var err error
	switch attr {
	case bulk.AttrCredentialID:
		return s.findByID(ctx, tenant, value)
	case bulk.AttrEmail:
		if bulk.NormalizeEmail(value) == "" {
			return []bulk.Credential{}, nil
		}
		index, pkAttr = indexEmail, attrGSI2PK
		pk, err = emailPK(tenant, value)
	case bulk.AttrRecipientID:
		if value == "" {
			return []bulk.Credential{}, nil
		}
		index, pkAttr = indexRecipient, attrGSI3PK
		pk, err = recipientPK(tenant, value)
	default:
		return nil, bulk.Errorf(bulk.EInvalid, "credentials cannot be looked up by %s", attr)
	}
	if err != nil {
		return nil, err
	}
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr},
		ExpressionAttributeValues: item{":pk": str(pk)},
	})
	if err != nil {
		// The value is a recipient's email or ID: it stays out of the error.
		return nil, fmt.Errorf("find credentials by %s: %w", attr, err)
	}
	cs, err := decodeCredentials(items)
	if err != nil {
		return nil, fmt.Errorf("find credentials by %s: %w", attr, err)
	}
	return cs, nil
}

func (s *Store) findByID(ctx context.Context, tenant, id string) ([]bulk.Credential, error) {
	// An ID that cannot be a key matches nothing: the sheet's value is data,
	// not a bad argument.
	if keyPart("credential id", id) != nil {
		return []bulk.Credential{}, nil
	}
	c, err := s.GetCredential(ctx, tenant, id)
	if bulk.ErrorCode(err) == bulk.ENotFound {
		return []bulk.Credential{}, nil
	}
	if err != nil {
		return nil, err
	}
	return []bulk.Credential{c}, nil
}

// getCredentialVersion reads the stored version of a credential; ok is false
// when it does not exist.
func (s *Store) getCredentialVersion(ctx context.Context, tenant, id string) (version int64, ok bool, err error) {
	pk, err := credentialPK(tenant, id)
	if err != nil {
		return 0, false, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(pk, skCred),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#v"),
		ExpressionAttributeNames: map[string]string{"#v": attrVersion},
	})
	if err != nil {
		return 0, false, fmt.Errorf("read version of credential %s: %w", id, err)
	}
	v, ok := out.Item[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false, nil
	}
	var n int64
	if _, err := fmt.Sscan(v.Value, &n); err != nil {
		return 0, false, fmt.Errorf("read version of credential %s: %w", id, err)
	}
	return n, true, nil
}
