package localstack

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
)

// clients are the SDK clients provisioning uses.
type clients struct {
	db  *dynamodb.Client
	s3  *s3.Client
	fn  *lambda.Client
	sfn *sfn.Client
}

func (s *Stack) provision(ctx context.Context) error {
	cfg, err := s.AWSConfig(ctx)
	if err != nil {
		return err
	}
	c := clients{
		// Emulators send no CRC32 header with DynamoDB responses.
		db:  dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		fn:  lambda.NewFromConfig(cfg),
		sfn: sfn.NewFromConfig(cfg),
	}
	t := s.tmpl
	for id, ref := range t.refs {
		s.Resources[id] = ref
	}
	for _, id := range t.resources(typeTable) {
		if err := s.createTable(ctx, c, id); err != nil {
			return err
		}
	}
	for _, id := range t.resources(typeBucket) {
		if err := s.createBucket(ctx, c, id); err != nil {
			return err
		}
	}
	for _, id := range t.resources(typeFunction) {
		if err := s.createFunction(ctx, c, s.functions[id]); err != nil {
			return err
		}
		s.Functions[id] = s.functions[id].name
		for _, r := range s.functions[id].routes {
			s.Routes[id] = append(s.Routes[id], strings.ToUpper(r.method)+" "+r.path)
		}
	}
	if err := s.notifyFunctions(ctx, c); err != nil {
		return err
	}
	for _, id := range t.resources(typeStateMachine) {
		if err := s.createStateMachine(ctx, c, id); err != nil {
			return err
		}
	}
	for _, id := range t.resources(typeHTTPAPI) {
		s.logger.Info("HttpApi is served by credup's local API server, not by the local stack", "resource", id)
	}
	if ids := t.resources(typeTable); len(ids) == 1 {
		s.TableName = t.refs[ids[0]]
	}
	if ids := t.resources(typeBucket); len(ids) == 1 {
		s.BucketName = t.refs[ids[0]]
	}
	if ids := t.resources(typeStateMachine); len(ids) == 1 {
		s.StateMachineArn = t.arns[ids[0]]
	}
	return nil
}

// exists reports whether err says the resource is already there, and
// whether the stack may take it over: only a stack that persists its state
// expects to find its resources from a previous run.
func (s *Stack) exists(err error, codes ...string) (bool, error) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || !slices.Contains(codes, apiErr.ErrorCode()) {
		return false, err
	}
	if !s.persist {
		return true, fmt.Errorf("%w (is another stack with the same StackName running in this process?)", err)
	}
	return true, nil
}

func (s *Stack) createTable(ctx context.Context, c clients, id string) error {
	in, err := s.tmpl.tableInput(id)
	if err != nil {
		return err
	}
	name := aws.ToString(in.TableName)
	if _, err := c.db.CreateTable(ctx, in); err != nil {
		if found, err := s.exists(err, "ResourceInUseException"); !found || err != nil {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		s.logger.Info("reusing table", "resource", id, "table", name)
	} else {
		s.cleanup = append(s.cleanup, func(ctx context.Context) error {
			if _, err := c.db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
				return fmt.Errorf("delete table %s: %w", name, err)
			}
			return nil
		})
	}
	if err := dynamodb.NewTableExistsWaiter(c.db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	attr, err := s.tmpl.ttlAttribute(id)
	if err != nil || attr == "" {
		return err
	}
	_, err = c.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable time to live on table %s: %w", name, err)
	}
	return nil
}

func (s *Stack) createBucket(ctx context.Context, c clients, id string) error {
	name := s.tmpl.refs[id]
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if s.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(s.Region)}
	}
	if _, err := c.s3.CreateBucket(ctx, in); err != nil {
		if found, err := s.exists(err, "BucketAlreadyOwnedByYou", "BucketAlreadyExists"); !found || err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
		s.logger.Info("reusing bucket", "resource", id, "bucket", name)
	} else {
		s.cleanup = append(s.cleanup, func(ctx context.Context) error { return emptyAndDeleteBucket(ctx, c.s3, name) })
	}

	b, err := s.tmpl.cf.GetS3BucketWithName(id)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", id, err)
	}
	if enc := b.BucketEncryption; enc != nil {
		cfg := &s3types.ServerSideEncryptionConfiguration{}
		for _, r := range enc.ServerSideEncryptionConfiguration {
			rule := s3types.ServerSideEncryptionRule{BucketKeyEnabled: r.BucketKeyEnabled}
			if d := r.ServerSideEncryptionByDefault; d != nil {
				rule.ApplyServerSideEncryptionByDefault = &s3types.ServerSideEncryptionByDefault{
					SSEAlgorithm:   s3types.ServerSideEncryption(d.SSEAlgorithm),
					KMSMasterKeyID: d.KMSMasterKeyID,
				}
			}
			cfg.Rules = append(cfg.Rules, rule)
		}
		if _, err := c.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(name), ServerSideEncryptionConfiguration: cfg}); err != nil {
			return fmt.Errorf("set encryption of bucket %s: %w", name, err)
		}
	}
	if cors := b.CorsConfiguration; cors != nil {
		cfg := &s3types.CORSConfiguration{}
		for _, r := range cors.CorsRules {
			rule := s3types.CORSRule{
				AllowedHeaders: r.AllowedHeaders,
				AllowedMethods: r.AllowedMethods,
				AllowedOrigins: r.AllowedOrigins,
				ExposeHeaders:  r.ExposedHeaders,
				ID:             r.Id,
			}
			if r.MaxAge != nil {
				rule.MaxAgeSeconds = aws.Int32(int32(*r.MaxAge))
			}
			cfg.CORSRules = append(cfg.CORSRules, rule)
		}
		if _, err := c.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(name), CORSConfiguration: cfg}); err != nil {
			return fmt.Errorf("set CORS of bucket %s: %w", name, err)
		}
	}
	if lc := b.LifecycleConfiguration; lc != nil {
		cfg, err := lifecycle(id, s.tmpl.properties(id))
		if err != nil {
			return err
		}
		if _, err := c.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(name), LifecycleConfiguration: cfg}); err != nil {
			return fmt.Errorf("set lifecycle of bucket %s: %w", name, err)
		}
	}
	for _, pid := range s.tmpl.resources(typeBucketPolicy) {
		props := s.tmpl.properties(pid)
		if props["Bucket"] != name {
			continue
		}
		doc, err := json.Marshal(props["PolicyDocument"])
		if err != nil {
			return fmt.Errorf("bucket policy %s: %w", pid, err)
		}
		if _, err := c.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(string(doc))}); err != nil {
			return fmt.Errorf("set policy of bucket %s: %w", name, err)
		}
	}
	return nil
}

// lifecycle translates the rule fields the local stack knows; any other is
// refused rather than dropped.
func lifecycle(id string, props map[string]any) (*s3types.BucketLifecycleConfiguration, error) {
	known := []string{"Id", "Status", "Prefix", "ExpirationInDays", "AbortIncompleteMultipartUpload"}
	cfg := &s3types.BucketLifecycleConfiguration{}
	rules, _ := asMap(props["LifecycleConfiguration"])["Rules"].([]any)
	for i, r := range rules {
		var rule struct {
			Id                             *string
			Status                         string
			Prefix                         string
			ExpirationInDays               *int32
			AbortIncompleteMultipartUpload *struct{ DaysAfterInitiation int32 }
		}
		for k := range asMap(r) {
			if !slices.Contains(known, k) {
				return nil, fmt.Errorf("bucket %s: LifecycleConfiguration.Rules[%d].%s is not supported locally", id, i, k)
			}
		}
		b, err := json.Marshal(r)
		if err == nil {
			err = json.Unmarshal(b, &rule)
		}
		if err != nil {
			return nil, fmt.Errorf("bucket %s: LifecycleConfiguration.Rules[%d]: %w", id, i, err)
		}
		out := s3types.LifecycleRule{
			ID:     rule.Id,
			Status: s3types.ExpirationStatus(rule.Status),
			Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(rule.Prefix)},
		}
		if rule.ExpirationInDays != nil {
			out.Expiration = &s3types.LifecycleExpiration{Days: rule.ExpirationInDays}
		}
		if a := rule.AbortIncompleteMultipartUpload; a != nil {
			out.AbortIncompleteMultipartUpload = &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(a.DaysAfterInitiation)}
		}
		cfg.Rules = append(cfg.Rules, out)
	}
	return cfg, nil
}

func emptyAndDeleteBucket(ctx context.Context, c *s3.Client, name string) error {
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("empty bucket %s: %w", name, err)
		}
		for _, o := range page.Contents {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key}); err != nil {
				return fmt.Errorf("empty bucket %s: %w", name, err)
			}
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("delete bucket %s: %w", name, err)
	}
	return nil
}

// placeholderZip is the code every function is created with: the real code
// runs against the Runtime API, so the package only has to be valid.
func placeholderZip() ([]byte, error) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("bootstrap")
	if err == nil {
		_, err = w.Write([]byte("#!/bin/sh\necho 'served through the local stack Runtime API' >&2\nexit 1\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("build placeholder package: %w", err)
	}
	return b.Bytes(), nil
}

func (s *Stack) createFunction(ctx context.Context, c clients, f functionSpec) error {
	code, err := placeholderZip()
	if err != nil {
		return err
	}
	var arch []ltypes.Architecture
	for _, a := range f.architectures {
		arch = append(arch, ltypes.Architecture(a))
	}
	role := fmt.Sprintf("arn:aws:iam::%s:role/%s", accountID, f.name)
	env := &ltypes.Environment{Variables: f.env}
	out, err := c.fn.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(f.name),
		Runtime:       ltypes.Runtime(f.runtime),
		Handler:       aws.String(f.handler),
		Architectures: arch,
		MemorySize:    aws.Int32(f.memory),
		Timeout:       aws.Int32(f.timeout),
		Environment:   env,
		Role:          aws.String(role),
		Code:          &ltypes.FunctionCode{ZipFile: code},
	})
	if err != nil {
		found, err := s.exists(err, "ResourceConflictException")
		if !found || err != nil {
			return fmt.Errorf("create function %s: %w", f.name, err)
		}
		s.logger.Info("reusing function", "resource", f.id, "function", f.name)
		_, err = c.fn.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(f.name),
			Runtime:      ltypes.Runtime(f.runtime),
			Handler:      aws.String(f.handler),
			MemorySize:   aws.Int32(f.memory),
			Timeout:      aws.Int32(f.timeout),
			Environment:  env,
			Role:         aws.String(role),
		})
		if err != nil {
			return fmt.Errorf("update function %s: %w", f.name, err)
		}
		return nil
	}
	s.cleanup = append(s.cleanup, func(ctx context.Context) error {
		if _, err := c.fn.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(f.name)}); err != nil {
			return fmt.Errorf("delete function %s: %w", f.name, err)
		}
		return nil
	})
	if got := aws.ToString(out.FunctionArn); got != f.arn {
		return fmt.Errorf("create function %s: emulator made ARN %s, template resolved %s", f.name, got, f.arn)
	}
	return nil
}

// notifyFunctions wires every S3 event of the template's functions into its
// bucket's notification configuration, as SAM does.
func (s *Stack) notifyFunctions(ctx context.Context, c clients) error {
	byBucket := map[string][]s3types.LambdaFunctionConfiguration{}
	buckets := map[string]bool{}
	for _, id := range s.tmpl.resources(typeBucket) {
		buckets[s.tmpl.refs[id]] = true
	}
	for _, id := range s.tmpl.resources(typeFunction) {
		f := s.functions[id]
		for _, t := range f.s3 {
			if !buckets[t.bucket] {
				return fmt.Errorf("function %s: event %s: bucket %s is not a bucket of the template", id, t.event, t.bucket)
			}
			cfg := s3types.LambdaFunctionConfiguration{
				Id:                aws.String(id + "-" + t.event),
				LambdaFunctionArn: aws.String(f.arn),
			}
			for _, e := range t.events {
				cfg.Events = append(cfg.Events, s3types.Event(e))
			}
			var rules []s3types.FilterRule
			if t.prefix != "" {
				rules = append(rules, s3types.FilterRule{Name: s3types.FilterRuleNamePrefix, Value: aws.String(t.prefix)})
			}
			if t.suffix != "" {
				rules = append(rules, s3types.FilterRule{Name: s3types.FilterRuleNameSuffix, Value: aws.String(t.suffix)})
			}
			if len(rules) > 0 {
				cfg.Filter = &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: rules}}
			}
			byBucket[t.bucket] = append(byBucket[t.bucket], cfg)
		}
	}
	for _, bucket := range sortedKeys(byBucket) {
		_, err := c.s3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket:                    aws.String(bucket),
			NotificationConfiguration: &s3types.NotificationConfiguration{LambdaFunctionConfigurations: byBucket[bucket]},
		})
		if err != nil {
			return fmt.Errorf("set notifications of bucket %s: %w", bucket, err)
		}
	}
	return nil
}

func (s *Stack) createStateMachine(ctx context.Context, c clients, id string) error {
	def, err := s.tmpl.definition(id)
	if err != nil {
		return err
	}
	sm, err := s.tmpl.cf.GetServerlessStateMachineWithName(id)
	if err != nil {
		return fmt.Errorf("state machine %s: %w", id, err)
	}
	typ := sfntypes.StateMachineTypeStandard
	if sm.Type != nil {
		typ = sfntypes.StateMachineType(*sm.Type)
	}
	name, arn := s.tmpl.names[id], s.tmpl.arns[id]
	in := &sfn.CreateStateMachineInput{
		Name:       aws.String(name),
		Definition: aws.String(def),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", accountID, name)),
		Type:       typ,
	}
	out, err := c.sfn.CreateStateMachine(ctx, in)
	if err != nil {
		found, err := s.exists(err, "StateMachineAlreadyExists")
		if !found || err != nil {
			return fmt.Errorf("create state machine %s: %w", name, err)
		}
		old, err := c.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("describe state machine %s: %w", name, err)
		}
		if aws.ToString(old.Definition) == def && old.Type == typ {
			s.logger.Info("reusing state machine", "resource", id, "state_machine", name)
			return nil
		}
		// kumo has no UpdateStateMachine: replace it.
		s.logger.Info("replacing state machine with the template's definition", "resource", id, "state_machine", name)
		if _, err := c.sfn.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("replace state machine %s: %w", name, err)
		}
		if _, err := c.sfn.CreateStateMachine(ctx, in); err != nil {
			return fmt.Errorf("replace state machine %s: %w", name, err)
		}
		return nil
	}
	s.cleanup = append(s.cleanup, func(ctx context.Context) error {
		if _, err := c.sfn.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("delete state machine %s: %w", name, err)
		}
		return nil
	})
	if got := aws.ToString(out.StateMachineArn); got != arn {
		return fmt.Errorf("create state machine %s: emulator made ARN %s, template resolved %s", name, got, arn)
	}
	return nil
}
