package localstack

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

// functionSpec is one function as the template declares it, Globals merged.
type functionSpec struct {
	id, name, arn string
	runtime       string
	handler       string
	architectures []string
	memory        int32
	timeout       int32
	env           map[string]string // the template's Environment.Variables
	logEnv        map[string]string // AWS_LAMBDA_LOG_* from LoggingConfig
	s3            []s3Trigger
	routes        []route
}

// s3Trigger is an S3 event source of a function.
type s3Trigger struct {
	event  string // the event's name in the template
	bucket string
	events []string
	prefix string
	suffix string
}

// route is an HttpApi event of a function.
type route struct {
	event      string
	api        string
	method     string
	path       string
	authorizer string // "" when the event names none (the API's default applies)
}

func (t *stackTemplate) function(id string) (functionSpec, error) {
	props := t.functionProperties(id)
	b, err := json.Marshal(props)
	if err != nil {
		return functionSpec{}, fmt.Errorf("function %s: %w", id, err)
	}
	var p struct {
		Runtime       string
		Handler       string
		Architectures []string
		MemorySize    *int32
		Timeout       *int32
		Environment   struct{ Variables map[string]any }
		LoggingConfig map[string]any
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return functionSpec{}, fmt.Errorf("function %s: %w", id, err)
	}
	f := functionSpec{
		id:            id,
		name:          t.names[id],
		arn:           t.arns[id],
		runtime:       p.Runtime,
		handler:       p.Handler,
		architectures: p.Architectures,
		memory:        128, // Lambda's defaults
		timeout:       3,
		env:           map[string]string{},
		logEnv:        map[string]string{},
	}
	if p.MemorySize != nil {
		f.memory = *p.MemorySize
	}
	if p.Timeout != nil {
		f.timeout = *p.Timeout
	}
	var missing []string
	for k, v := range p.Environment.Variables {
		s, ok := envString(v)
		if !ok {
			missing = append(missing, k)
			continue
		}
		f.env[k] = s
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return functionSpec{}, fmt.Errorf("function %s: environment %s has no local value", id, strings.Join(missing, ", "))
	}
	if s, ok := envString(p.LoggingConfig["LogFormat"]); ok {
		f.logEnv["AWS_LAMBDA_LOG_FORMAT"] = s
	}
	if s, ok := envString(p.LoggingConfig["ApplicationLogLevel"]); ok {
		f.logEnv["AWS_LAMBDA_LOG_LEVEL"] = s
	}

	typed, err := t.cf.GetServerlessFunctionWithName(id)
	if err != nil {
		return functionSpec{}, fmt.Errorf("function %s: %w", id, err)
	}
	for _, name := range sortedKeys(typed.Events) {
		ev := typed.Events[name]
		switch ev.Type {
		case "S3":
			trig, err := s3TriggerOf(id, name, ev)
			if err != nil {
				return functionSpec{}, err
			}
			f.s3 = append(f.s3, trig)
		case "HttpApi":
			if ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
				return functionSpec{}, fmt.Errorf("function %s: event %s: not an HttpApi event", id, name)
			}
			h := ev.Properties.HttpApiEvent
			r := route{event: name, api: aws.ToString(h.ApiId), method: aws.ToString(h.Method), path: aws.ToString(h.Path)}
			if h.Auth != nil {
				r.authorizer = aws.ToString(h.Auth.Authorizer)
			}
			f.routes = append(f.routes, r)
		}
	}
	return f, nil
}

func s3TriggerOf(fn, name string, ev serverless.Function_EventSource) (s3Trigger, error) {
	if ev.Properties == nil || ev.Properties.S3Event == nil {
		return s3Trigger{}, fmt.Errorf("function %s: event %s: not an S3 event", fn, name)
	}
	e := ev.Properties.S3Event
	trig := s3Trigger{event: name, bucket: e.Bucket}
	if e.Events != nil {
		if e.Events.String != nil {
			trig.events = []string{*e.Events.String}
		}
		if e.Events.StringArray != nil {
			trig.events = *e.Events.StringArray
		}
	}
	if len(trig.events) == 0 || trig.bucket == "" {
		return s3Trigger{}, fmt.Errorf("function %s: event %s: needs Bucket and Events", fn, name)
	}
	if e.Filter != nil && e.Filter.S3Key != nil {
		for _, r := range e.Filter.S3Key.Rules {
			switch strings.ToLower(r.Name) {
			case "prefix":
				trig.prefix = r.Value
			case "suffix":
				trig.suffix = r.Value
			default:
				return s3Trigger{}, fmt.Errorf("function %s: event %s: unknown key filter %q", fn, name, r.Name)
			}
		}
	}
	return trig, nil
}

// envString renders a resolved template value the way CloudFormation passes
// it to Lambda: as a string. nil (a parameter without a default) has none.
func envString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	default:
		return "", false
	}
}

// tableInput is the CreateTable request for a table of the template.
func (t *stackTemplate) tableInput(id string) (*dynamodb.CreateTableInput, error) {
	tbl, err := t.cf.GetDynamoDBTableWithName(id)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", id, err)
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(t.names[id]),
		BillingMode: dbtypes.BillingMode(aws.ToString(tbl.BillingMode)),
	}
	if in.BillingMode == "" {
		in.BillingMode = dbtypes.BillingModeProvisioned
	}
	if in.BillingMode != dbtypes.BillingModePayPerRequest {
		return nil, fmt.Errorf("table %s: billing mode %s is not supported locally", id, in.BillingMode)
	}
	for _, a := range tbl.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, dbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: dbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, k := range tbl.KeySchema {
		in.KeySchema = append(in.KeySchema, dbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: dbtypes.KeyType(k.KeyType)})
	}
	for _, g := range tbl.GlobalSecondaryIndexes {
		idx := dbtypes.GlobalSecondaryIndex{IndexName: aws.String(g.IndexName), Projection: &dbtypes.Projection{}}
		for _, k := range g.KeySchema {
			idx.KeySchema = append(idx.KeySchema, dbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: dbtypes.KeyType(k.KeyType)})
		}
		if g.Projection != nil {
			idx.Projection.ProjectionType = dbtypes.ProjectionType(aws.ToString(g.Projection.ProjectionType))
			idx.Projection.NonKeyAttributes = g.Projection.NonKeyAttributes
		}
		if g.ProvisionedThroughput != nil || g.ContributorInsightsSpecification != nil {
			return nil, fmt.Errorf("table %s: index %s: throughput settings are not supported locally", id, g.IndexName)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, idx)
	}
	return in, nil
}

// ttlAttribute is the table's enabled TimeToLiveSpecification attribute, or "".
func (t *stackTemplate) ttlAttribute(id string) (string, error) {
	tbl, err := t.cf.GetDynamoDBTableWithName(id)
	if err != nil {
		return "", fmt.Errorf("table %s: %w", id, err)
	}
	if s := tbl.TimeToLiveSpecification; s != nil && s.Enabled {
		return aws.ToString(s.AttributeName), nil
	}
	return "", nil
}

// definitionVars matches the ${Name} placeholders of a state machine definition.
var definitionVars = regexp.MustCompile(`\$\{([^}]*)\}`)

// definition is a state machine's ASL with its DefinitionSubstitutions
// applied. A placeholder without a substitution is an error, as on AWS.
func (t *stackTemplate) definition(id string) (string, error) {
	sm, err := t.cf.GetServerlessStateMachineWithName(id)
	if err != nil {
		return "", fmt.Errorf("state machine %s: %w", id, err)
	}
	var def string
	switch {
	case sm.DefinitionUri != nil && sm.DefinitionUri.String != nil:
		b, err := os.ReadFile(t.definitionPath(*sm.DefinitionUri.String))
		if err != nil {
			return "", fmt.Errorf("state machine %s: %w", id, err)
		}
		def = string(b)
	case sm.Definition != nil:
		b, err := json.Marshal(sm.Definition)
		if err != nil {
			return "", fmt.Errorf("state machine %s: %w", id, err)
		}
		def = string(b)
	default:
		return "", fmt.Errorf("state machine %s: needs a local DefinitionUri or a Definition", id)
	}
	var missing []string
	def = definitionVars.ReplaceAllStringFunc(def, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := sm.DefinitionSubstitutions[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("state machine %s: no DefinitionSubstitutions for %s", id, strings.Join(slices.Compact(missing), ", "))
	}
	if !json.Valid([]byte(def)) {
		return "", fmt.Errorf("state machine %s: definition is not valid JSON once substituted", id)
	}
	return def, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
