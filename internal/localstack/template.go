package localstack

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Resource types the local stack knows.
const (
	typeTable        = "AWS::DynamoDB::Table"
	typeBucket       = "AWS::S3::Bucket"
	typeBucketPolicy = "AWS::S3::BucketPolicy"
	typeFunction     = "AWS::Serverless::Function"
	typeStateMachine = "AWS::Serverless::StateMachine"
	typeHTTPAPI      = "AWS::Serverless::HttpApi"
)

// accountID is the account kumo puts in every ARN it makes.
const accountID = "000000000000"

// stackTemplate is template.yaml with every intrinsic resolved to the local
// names, in the two forms the provisioner needs: goformation's typed
// resources, and the generic tree used to check that every property is
// either provisioned or reported.
type stackTemplate struct {
	path string
	// raw is the resolved template as generic JSON values.
	raw map[string]any
	cf  *cloudformation.Template

	types map[string]string // logical ID -> resource type
	refs  map[string]string // logical ID -> what Ref gives
	arns  map[string]string // logical ID -> ARN (resources that have one)
	names map[string]string // logical ID -> name (GetAtt Name)
}

// naming is what the resolver needs to name resources locally.
type naming struct {
	stack  string
	region string
}

// goformation's YAML tag registry is a package-level map it rewrites on
// every parse, so concurrent parses must not overlap.
var parseMu sync.Mutex

// loadTemplate reads and resolves the template at path.
func loadTemplate(path string, n naming) (*stackTemplate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t := &stackTemplate{path: path}

	// First the unresolved tree, for the resource types and logical IDs.
	var plain map[string]any
	if err := processYAML(data, &intrinsics.ProcessorOptions{NoProcess: true}, &plain); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	resources, _ := plain["Resources"].(map[string]any)
	if len(resources) == 0 {
		return nil, fmt.Errorf("parse template %s: no Resources", path)
	}
	t.types = make(map[string]string, len(resources))
	for id, r := range resources {
		typ, _ := asMap(r)["Type"].(string)
		t.types[id] = typ
	}

	// Names a template sets itself (BucketName: !Sub ...) may use
	// parameters and pseudo parameters, so resolve once with default names,
	// read the explicit ones, and resolve again with the final names.
	t.name(n, nil)
	var first map[string]any
	if err := processYAML(data, t.options(n, plain, nil), &first); err != nil {
		return nil, fmt.Errorf("resolve template %s: %w", path, err)
	}
	t.name(n, asMap(first["Resources"]))

	errs := needDefaults(plain)
	if err := processYAML(data, t.options(n, plain, &errs), &t.raw); err != nil {
		return nil, fmt.Errorf("resolve template %s: %w", path, err)
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, fmt.Errorf("resolve template %s: %s", path, strings.Join(slices.Compact(errs), "; "))
	}
	b, err := json.Marshal(t.raw)
	if err != nil {
		return nil, fmt.Errorf("resolve template %s: %w", path, err)
	}
	t.cf = &cloudformation.Template{}
	if err := json.Unmarshal(b, t.cf); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	return t, nil
}

func processYAML(data []byte, opts *intrinsics.ProcessorOptions, into *map[string]any) error {
	parseMu.Lock()
	out, err := intrinsics.ProcessYAML(data, opts)
	parseMu.Unlock()
	if err != nil {
		return err
	}
	return json.Unmarshal(out, into)
}

// name sets the local name, Ref value and ARN of every resource: the name
// the template gives it when resolved has one, else <stack>-<LogicalId>.
func (t *stackTemplate) name(n naming, resolved map[string]any) {
	t.refs = make(map[string]string, len(t.types))
	t.arns = make(map[string]string, len(t.types))
	t.names = make(map[string]string, len(t.types))
	for id, typ := range t.types {
		props := asMap(asMap(resolved[id])["Properties"])
		name := n.stack + "-" + id
		explicit := func(prop string) {
			if s, ok := props[prop].(string); ok && s != "" {
				name = s
			}
		}
		switch typ {
		case typeTable:
			explicit("TableName")
			t.refs[id] = name
			t.arns[id] = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", n.region, accountID, name)
		case typeBucket:
			name = strings.ToLower(name)
			explicit("BucketName")
			t.refs[id] = name
			t.arns[id] = "arn:aws:s3:::" + name
		case typeFunction:
			explicit("FunctionName")
			t.refs[id] = name
			t.arns[id] = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", n.region, accountID, name)
		case typeStateMachine:
			explicit("Name")
			t.arns[id] = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", n.region, accountID, name)
			t.refs[id] = t.arns[id]
		default:
			t.refs[id] = name
		}
		t.names[id] = name
	}
}

// options resolves Ref, Fn::GetAtt and Fn::Sub to local values; goformation's
// own handlers resolve references to resources as nothing. errs, when not
// nil, collects what cannot be resolved.
func (t *stackTemplate) options(n naming, plain map[string]any, errs *[]string) *intrinsics.ProcessorOptions {
	fail := func(format string, args ...any) {
		if errs != nil {
			*errs = append(*errs, fmt.Sprintf(format, args...))
		}
	}
	params := asMap(plain["Parameters"])
	pseudo := map[string]any{
		"AWS::AccountId": accountID,
		"AWS::Region":    n.region,
		"AWS::StackName": n.stack,
		"AWS::StackId":   fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/local", n.region, accountID, n.stack),
		"AWS::Partition": "aws",
		"AWS::URLSuffix": "amazonaws.com",
	}
	ref := func(name string) (any, bool) {
		if v, ok := pseudo[name]; ok {
			return v, true
		}
		if name == "AWS::NoValue" {
			return nil, true
		}
		if p, ok := params[name]; ok {
			// A parameter without a default resolves to nothing; what the
			// local stack provisions must not use one (see needDefaults).
			v, has := asMap(p)["Default"]
			return v, has
		}
		if v, ok := t.refs[name]; ok {
			return v, true
		}
		fail("Ref to unknown %s", name)
		return nil, false
	}
	getAtt := func(id, attr string) (string, bool) {
		switch attr {
		case "Arn":
			if v, ok := t.arns[id]; ok {
				return v, true
			}
		case "Name":
			if t.types[id] == typeStateMachine {
				return t.names[id], true
			}
		}
		fail("Fn::GetAtt %s.%s is not supported locally", id, attr)
		return "", false
	}
	return &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": func(_ string, input any, _ any) any {
				name, _ := input.(string)
				v, _ := ref(name)
				return v
			},
			"Fn::GetAtt": func(_ string, input any, _ any) any {
				id, attr, ok := splitGetAtt(input)
				if !ok {
					fail("malformed Fn::GetAtt %v", input)
					return nil
				}
				v, _ := getAtt(id, attr)
				return v
			},
			"Fn::Sub": func(_ string, input any, _ any) any {
				src, vars, ok := splitSub(input)
				if !ok {
					fail("malformed Fn::Sub %v", input)
					return nil
				}
				return subVars.ReplaceAllStringFunc(src, func(m string) string {
					name := m[2 : len(m)-1]
					if strings.HasPrefix(name, "!") {
						return "${" + name[1:] + "}" // ${!Literal} escapes a literal ${Literal}
					}
					if v, ok := vars[name]; ok {
						return fmt.Sprint(v)
					}
					if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
						v, _ := getAtt(id, attr)
						return v
					}
					v, ok := ref(name)
					if !ok || v == nil {
						return ""
					}
					return fmt.Sprint(v)
				})
			},
		},
	}
}

var subVars = regexp.MustCompile(`\$\{[^}]+\}`)

func splitGetAtt(input any) (id, attr string, ok bool) {
	switch v := input.(type) {
	case string:
		return strings.Cut(v, ".")
	case []any:
		if len(v) == 2 {
			id, ok1 := v[0].(string)
			attr, ok2 := v[1].(string)
			return id, attr, ok1 && ok2
		}
	}
	return "", "", false
}

func splitSub(input any) (string, map[string]any, bool) {
	switch v := input.(type) {
	case string:
		return v, nil, true
	case []any:
		if len(v) == 2 {
			src, ok := v[0].(string)
			vars := asMap(v[1])
			return src, vars, ok
		}
	}
	return "", nil, false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// resources returns the logical IDs of one type, sorted.
func (t *stackTemplate) resources(typ string) []string {
	var ids []string
	for id, rt := range t.types {
		if rt == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// properties returns a resource's resolved properties.
func (t *stackTemplate) properties(id string) map[string]any {
	return asMap(asMap(asMap(t.raw["Resources"])[id])["Properties"])
}

// functionProperties returns a function's properties merged over
// Globals.Function the way SAM merges them: the function's own value wins,
// and maps (Environment.Variables) are merged key by key.
func (t *stackTemplate) functionProperties(id string) map[string]any {
	merged := maps.Clone(asMap(asMap(t.raw["Globals"])["Function"]))
	if merged == nil {
		merged = map[string]any{}
	}
	for k, v := range t.properties(id) {
		merged[k] = mergeSAM(merged[k], v)
	}
	return merged
}

func mergeSAM(global, local any) any {
	g, gok := global.(map[string]any)
	l, lok := local.(map[string]any)
	if !gok || !lok {
		return local
	}
	out := maps.Clone(g)
	for k, v := range l {
		out[k] = mergeSAM(g[k], v)
	}
	return out
}

// definitionPath is the state machine's DefinitionUri, relative to the template.
func (t *stackTemplate) definitionPath(uri string) string {
	if filepath.IsAbs(uri) {
		return uri
	}
	return filepath.Join(filepath.Dir(t.path), uri)
}

// needDefaults names the parameters without a Default that something the
// local stack provisions refers to: there is nothing to run them with. The
// HttpApi (served elsewhere) and Outputs may use them.
func needDefaults(plain map[string]any) []string {
	var errs []string
	params := asMap(plain["Parameters"])
	uses := func(where string, v any) {
		for _, p := range referencedNames(v) {
			if def, ok := params[p]; ok {
				if _, has := asMap(def)["Default"]; !has {
					errs = append(errs, fmt.Sprintf("%s uses parameter %s, which has no Default to run with locally", where, p))
				}
			}
		}
	}
	uses("Globals.Function", asMap(plain["Globals"])["Function"])
	for id, r := range asMap(plain["Resources"]) {
		if typ, _ := asMap(r)["Type"].(string); typ != typeHTTPAPI {
			uses(id, r)
		}
	}
	return errs
}

// referencedNames lists the names a tree refers to through Ref or Fn::Sub.
func referencedNames(v any) []string {
	var names []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				switch k {
				case "Ref":
					if s, ok := child.(string); ok {
						names = append(names, s)
					}
				case "Fn::Sub":
					src, _, _ := splitSub(child)
					for _, m := range subVars.FindAllString(src, -1) {
						names = append(names, m[2:len(m)-1])
					}
				}
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(v)
	return names
}
