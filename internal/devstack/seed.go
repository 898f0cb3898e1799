package devstack

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/credup/credup/internal/awsconfig"
	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dynamo"
)

// Store is the stack's table through credup's store.
func (s *Stack) Store(ctx context.Context) (*dynamo.Store, error) {
	cfg, err := s.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	return dynamo.New(dynamodb.NewFromConfig(cfg, dynamo.ForEmulator(s.Endpoint), awsconfig.DynamoOptions), s.TableName), nil
}

// Seed writes a tenant, its groups and its credentials.
func (s *Stack) Seed(ctx context.Context, t bulk.Tenant, groups []bulk.Group, creds []bulk.Credential) error {
	st, err := s.Store(ctx)
	if err != nil {
		return err
	}
	if err := st.PutTenant(ctx, t); err != nil {
		return fmt.Errorf("seed tenant %s: %w", t.ID, err)
	}
	for _, g := range groups {
		if err := st.PutGroup(ctx, t.ID, g); err != nil {
			return fmt.Errorf("seed group %s: %w", g.ID, err)
		}
	}
	if err := st.PutCredentials(ctx, t.ID, creds); err != nil {
		return fmt.Errorf("seed credentials: %w", err)
	}
	return nil
}
