package localstack

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credup/credup/internal/dynamo"
	"github.com/credup/credup/internal/objectkey"
)

// The wiring of template.yaml: what a deploy needs to be right that no
// emulator run would show. The template is read through goformation, the
// way the local stack reads it.

func loadRepoTemplate(t *testing.T) *stackTemplate {
	t.Helper()
	tmpl, err := loadTemplate(repoFile(t, "template.yaml"), naming{stack: "credup", region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// makeTargets maps each target of the Makefile to its recipe.
func makeTargets(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(repoFile(t, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	targets := map[string]string{}
	var current string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "\t") && current != "":
			targets[current] += strings.TrimSpace(line) + "\n"
		case strings.Contains(line, ":") && !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "#") && !strings.Contains(line, "="):
			current = strings.TrimSpace(line[:strings.Index(line, ":")])
			targets[current] += ""
		default:
			current = ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return targets
}

var buildPackage = regexp.MustCompile(`\$\(ARTIFACTS_DIR\)/bootstrap\s+\./(functions/[a-z0-9_-]+)`)

func TestTemplateFunctionsBuild(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	targets := makeTargets(t)
	for _, id := range tmpl.resources(typeFunction) {
		t.Run(id, func(t *testing.T) {
			props := tmpl.functionProperties(id)
			if props["CodeUri"] != "." || props["Handler"] != "bootstrap" || props["Runtime"] != "provided.al2023" {
				t.Errorf("CodeUri %v Handler %v Runtime %v, want . bootstrap provided.al2023", props["CodeUri"], props["Handler"], props["Runtime"])
			}
			if arch, _ := props["Architectures"].([]any); len(arch) != 1 || arch[0] != "arm64" {
				t.Errorf("Architectures %v, want [arm64]", props["Architectures"])
			}
			fn, err := tmpl.cf.GetServerlessFunctionWithName(id)
			if err != nil {
				t.Fatal(err)
			}
			if fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
				t.Errorf("Metadata.BuildMethod %v, want makefile", fn.AWSCloudFormationMetadata["BuildMethod"])
			}

			recipe, ok := targets["build-"+id]
			if !ok {
				t.Fatalf("Makefile has no target build-%s for sam build", id)
			}
			m := buildPackage.FindStringSubmatch(recipe)
			if m == nil {
				t.Fatalf("build-%s does not build a ./functions/<name> package into $(ARTIFACTS_DIR)/bootstrap:\n%s", id, recipe)
			}
			for _, flag := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "lambda.norpc"} {
				if !strings.Contains(recipe+makeVars(t), flag) {
					t.Errorf("build-%s does not build with %s", id, flag)
				}
			}
			if !hasMainPackage(t, repoFile(t, m[1])) {
				t.Errorf("build-%s builds ./%s, which has no package main", id, m[1])
			}
		})
	}
}

// makeVars is the Makefile's variable definitions, where the build flags live.
func makeVars(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "=") && !strings.HasPrefix(line, "\t") {
			vars = append(vars, line)
		}
	}
	return strings.Join(vars, "")
}

func hasMainPackage(t *testing.T, dir string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?m)^package main\b`).Match(b) {
			return true
		}
	}
	return false
}

func TestTemplateStateMachineSubstitutions(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	for _, id := range tmpl.resources(typeStateMachine) {
		t.Run(id, func(t *testing.T) {
			sm, err := tmpl.cf.GetServerlessStateMachineWithName(id)
			if err != nil {
				t.Fatal(err)
			}
			if sm.DefinitionUri == nil || sm.DefinitionUri.String == nil {
				t.Fatal("no local DefinitionUri")
			}
			def, err := os.ReadFile(tmpl.definitionPath(*sm.DefinitionUri.String))
			if err != nil {
				t.Fatal(err)
			}
			used := map[string]bool{}
			for _, m := range definitionVars.FindAllStringSubmatch(string(def), -1) {
				used[m[1]] = true
			}
			for v := range used {
				if _, ok := sm.DefinitionSubstitutions[v]; !ok {
					t.Errorf("definition uses ${%s}, which DefinitionSubstitutions does not define", v)
				}
			}
			for v, value := range sm.DefinitionSubstitutions {
				if !used[v] {
					t.Errorf("DefinitionSubstitutions defines %s, which the definition does not use", v)
				}
				if value == "" {
					t.Errorf("substitution %s resolves to nothing", v)
				}
			}
			if got := sm.DefinitionSubstitutions["CommitFunctionArn"]; got != tmpl.arns["CommitFunction"] {
				t.Errorf("CommitFunctionArn is %q, want the commit function's ARN %q", got, tmpl.arns["CommitFunction"])
			}
		})
	}
}

func TestTemplateS3KeyLayout(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	validate, err := tmpl.function("ValidateFunction")
	if err != nil {
		t.Fatal(err)
	}
	if len(validate.s3) != 1 {
		t.Fatalf("validate has %d S3 events, want 1", len(validate.s3))
	}
	trig := validate.s3[0]
	if trig.bucket != tmpl.refs["UploadBucket"] || !slices.Equal(trig.events, []string{"s3:ObjectCreated:*"}) {
		t.Errorf("validate is triggered by %v on %s, want s3:ObjectCreated:* on the upload bucket", trig.events, trig.bucket)
	}
	if trig.prefix != objectkey.Prefix || trig.suffix != "" {
		t.Errorf("trigger filter prefix %q suffix %q, want prefix %q", trig.prefix, trig.suffix, objectkey.Prefix)
	}
	for _, key := range []string{objectkey.ForUpload("acme", "u-1", "Cohort A+B.xlsx"), objectkey.DropboxPrefix("acme", "g-ux") + "a.csv"} {
		if !strings.HasPrefix(key, trig.prefix) {
			t.Errorf("upload key %s would not trigger validate", key)
		}
	}
	life, err := lifecycle("UploadBucket", tmpl.properties("UploadBucket"))
	if err != nil {
		t.Fatal(err)
	}
	if len(life.Rules) != 1 || aws.ToString(life.Rules[0].Filter.Prefix) != objectkey.Prefix || life.Rules[0].Expiration == nil {
		t.Errorf("lifecycle %+v, want uploads under %s to expire", life.Rules, objectkey.Prefix)
	}
}

// iamMatch matches an IAM resource pattern, where * spans any characters.
func iamMatch(pattern, arn string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(arn)
}

func TestTemplatePoliciesCoverTheKeys(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	bucket := "arn:aws:s3:::" + tmpl.refs["UploadBucket"] + "/"
	upload := bucket + objectkey.ForUpload("acme", "u-1", "sheet.xlsx")
	drop := bucket + objectkey.DropboxPrefix("acme", "g-ux") + "sheet.csv"
	manifest := bucket + objectkey.ForManifest("acme", "u-1", 7)
	tests := []struct {
		fn    string
		allow map[string][]string // action -> object ARNs it must cover
		deny  map[string][]string // action -> object ARNs it must not cover
	}{
		{fn: "ValidateFunction", allow: map[string][]string{"s3:GetObject": {upload, drop}}, deny: map[string][]string{"s3:PutObject": {upload}}},
		{fn: "ApiFunction", allow: map[string][]string{"s3:PutObject": {upload}, "s3:GetObject": {upload}}, deny: map[string][]string{"s3:PutObject": {manifest, drop}}},
		{fn: "CommitFunction", allow: map[string][]string{"s3:GetObject": {upload, drop, manifest}, "s3:PutObject": {manifest}}, deny: map[string][]string{"s3:PutObject": {upload}}},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			grants := s3Grants(tmpl.functionProperties(tt.fn)["Policies"])
			covers := func(action, arn string) bool {
				for _, pattern := range grants[action] {
					if iamMatch(pattern, arn) {
						return true
					}
				}
				return false
			}
			for action, arns := range tt.allow {
				for _, arn := range arns {
					if !covers(action, arn) {
						t.Errorf("%s on %s is not allowed (grants %v)", action, arn, grants)
					}
				}
			}
			for action, arns := range tt.deny {
				for _, arn := range arns {
					if covers(action, arn) {
						t.Errorf("%s on %s is allowed, beyond what the function needs", action, arn)
					}
				}
			}
		})
	}
}

// s3Grants collects the S3 object actions of a function's inline policy
// statements: action -> resource patterns.
func s3Grants(policies any) map[string][]string {
	grants := map[string][]string{}
	list, _ := policies.([]any)
	for _, p := range list {
		stmts, _ := asMap(p)["Statement"].([]any)
		for _, st := range stmts {
			st := asMap(st)
			if st["Effect"] != "Allow" {
				continue
			}
			for _, a := range stringList(st["Action"]) {
				if strings.HasPrefix(a, "s3:") {
					grants[a] = append(grants[a], stringList(st["Resource"])...)
				}
			}
		}
	}
	return grants
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func TestTemplateTableMatchesTheStore(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	got, err := tmpl.tableInput("Table")
	if err != nil {
		t.Fatal(err)
	}
	want := dynamo.TableInput(aws.ToString(got.TableName))
	if got.BillingMode != want.BillingMode {
		t.Errorf("billing mode %s, want %s", got.BillingMode, want.BillingMode)
	}
	if g, w := keySchema(got.KeySchema), keySchema(want.KeySchema); g != w {
		t.Errorf("key schema %s, want %s", g, w)
	}
	attrs := func(in []dbtypes.AttributeDefinition) []string {
		var out []string
		for _, a := range in {
			out = append(out, aws.ToString(a.AttributeName)+" "+string(a.AttributeType))
		}
		slices.Sort(out)
		return out
	}
	if g, w := attrs(got.AttributeDefinitions), attrs(want.AttributeDefinitions); !slices.Equal(g, w) {
		t.Errorf("attribute definitions %v, want %v", g, w)
	}
	indexes := func(in []dbtypes.GlobalSecondaryIndex) []string {
		var out []string
		for _, g := range in {
			out = append(out, aws.ToString(g.IndexName)+": "+keySchema(g.KeySchema)+" "+string(g.Projection.ProjectionType))
		}
		slices.Sort(out)
		return out
	}
	if g, w := indexes(got.GlobalSecondaryIndexes), indexes(want.GlobalSecondaryIndexes); !slices.Equal(g, w) {
		t.Errorf("indexes %v, want %v", g, w)
	}
	if ttl, err := tmpl.ttlAttribute("Table"); err != nil || ttl != dynamo.TTLAttribute {
		t.Errorf("time to live on %q (%v), want %q", ttl, err, dynamo.TTLAttribute)
	}
}

func TestTemplateAPIRoutes(t *testing.T) {
	contract := []string{
		"GET /groups/{groupId}/template",
		"POST /groups/{groupId}/bulk-updates",
		"GET /bulk-updates/{id}",
		"GET /bulk-updates/{id}/rows",
		"PUT /bulk-updates/{id}/mapping",
		"POST /bulk-updates/{id}/confirmations",
		"POST /bulk-updates/{id}/commit",
		"GET /bulk-updates/{id}/results",
	}
	tmpl := loadRepoTemplate(t)
	api, err := tmpl.function("ApiFunction")
	if err != nil {
		t.Fatal(err)
	}
	httpAPI := tmpl.properties("HttpApi")
	auth := asMap(httpAPI["Auth"])
	authorizers := asMap(auth["Authorizers"])
	defaultAuth, _ := auth["DefaultAuthorizer"].(string)

	var routes []string
	for _, r := range api.routes {
		route := r.method + " " + r.path
		routes = append(routes, route)
		if r.api != tmpl.refs["HttpApi"] {
			t.Errorf("%s is on API %q, want the template's HttpApi", route, r.api)
		}
		authorizer := r.authorizer
		if authorizer == "" {
			authorizer = defaultAuth
		}
		jwt := asMap(asMap(authorizers[authorizer])["JwtConfiguration"])
		_, hasIssuer := jwt["issuer"]
		_, hasAudience := jwt["audience"]
		if authorizer == "" || authorizer == "NONE" || !hasIssuer || !hasAudience {
			t.Errorf("%s is not behind a JWT authorizer with an issuer and an audience (authorizer %q)", route, authorizer)
		}
	}
	slices.Sort(routes)
	slices.Sort(contract)
	if !slices.Equal(routes, contract) {
		t.Errorf("routes %v, want the contract's %v", routes, contract)
	}
	if src := asMap(authorizers[defaultAuth])["IdentitySource"]; src != "$request.header.Authorization" {
		t.Errorf("JWT read from %v, want the Authorization header", src)
	}
}

func TestTemplateFunctionEnvironment(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	common := map[string]string{
		"TABLE_NAME":     tmpl.refs["Table"],
		"BUCKET_NAME":    tmpl.refs["UploadBucket"],
		"EVENT_BUS_NAME": "default",
		"LOG_LEVEL":      "info",
	}
	tests := map[string]map[string]string{
		"ValidateFunction": {"STATE_MACHINE_ARN": tmpl.arns["CommitStateMachine"]},
		"ApiFunction": {
			"STATE_MACHINE_ARN":      tmpl.arns["CommitStateMachine"],
			"VALIDATE_FUNCTION_NAME": tmpl.refs["ValidateFunction"],
			"UPLOAD_URL_TTL":         "15m",
		},
		"CommitFunction": {},
	}
	for id, extra := range tests {
		t.Run(id, func(t *testing.T) {
			f, err := tmpl.function(id)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for k, v := range common {
				want[k] = v
			}
			for k, v := range extra {
				want[k] = v
			}
			for k, v := range want {
				if f.env[k] != v {
					t.Errorf("%s = %q, want %q", k, f.env[k], v)
				}
			}
			for k := range f.env {
				if _, ok := want[k]; !ok {
					t.Errorf("%s is not a variable of the contract", k)
				}
			}
			if f.logEnv["AWS_LAMBDA_LOG_FORMAT"] != "JSON" {
				t.Errorf("log format %q, want JSON", f.logEnv["AWS_LAMBDA_LOG_FORMAT"])
			}
		})
	}
	if got := keysOf(tests); !slices.Equal(got, tmpl.resources(typeFunction)) {
		t.Errorf("template functions %v, contract covers %v", tmpl.resources(typeFunction), got)
	}
}

func TestTemplateOutputs(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	want := map[string]string{
		"BucketName":      tmpl.refs["UploadBucket"],
		"TableName":       tmpl.refs["Table"],
		"StateMachineArn": tmpl.arns["CommitStateMachine"],
		"ApiUrl":          "https://" + tmpl.refs["HttpApi"] + ".execute-api.us-east-1.amazonaws.com",
	}
	for name, v := range want {
		out, ok := tmpl.cf.Outputs[name]
		if !ok {
			t.Errorf("no output %s", name)
			continue
		}
		if out.Value != v {
			t.Errorf("output %s = %v, want %s", name, out.Value, v)
		}
	}
}

// The samples in events/ are what `sam local invoke -e` feeds the functions;
// they must stay true to the template and the key layout.
func TestSampleEvents(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	api, err := tmpl.function("ApiFunction")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, r := range api.routes {
		routes[r.method+" "+r.path] = true
	}
	files, err := filepath.Glob(repoFile(t, "events/*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events (%v)", err)
	}
	seenRoutes := map[string]bool{}
	seenActions := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasPrefix(name, "s3-"):
				var ev events.S3Event
				if err := json.Unmarshal(b, &ev); err != nil || len(ev.Records) != 1 {
					t.Fatalf("not one S3 record: %v", err)
				}
				k, ok := objectkey.Parse(ev.Records[0].S3.Object.URLDecodedKey)
				if !ok || (k.Kind != objectkey.Upload && k.Kind != objectkey.Dropbox) {
					t.Errorf("key %s is not an upload or dropbox key", ev.Records[0].S3.Object.URLDecodedKey)
				}
				if k.Kind == objectkey.Upload && (!strings.Contains(ev.Records[0].S3.Object.Key, "+") || !strings.Contains(k.File, " ")) {
					t.Errorf("API upload sample key %s should show S3's encoding of spaces", ev.Records[0].S3.Object.Key)
				}
			case strings.HasPrefix(name, "api-"):
				var ev events.APIGatewayV2HTTPRequest
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatal(err)
				}
				if !routes[ev.RouteKey] || ev.RequestContext.RouteKey != ev.RouteKey {
					t.Errorf("route %q is not a route of ApiFunction", ev.RouteKey)
				}
				seenRoutes[ev.RouteKey] = true
				if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.JWT == nil || ev.RequestContext.Authorizer.JWT.Claims["tenant"] == "" {
					t.Error("no tenant claim at requestContext.authorizer.jwt.claims.tenant")
				}
				if ev.Version != "2.0" || ev.RequestContext.HTTP.Method != strings.Fields(ev.RouteKey)[0] {
					t.Errorf("version %s method %s, want a 2.0 payload for %s", ev.Version, ev.RequestContext.HTTP.Method, ev.RouteKey)
				}
			case strings.HasPrefix(name, "commit-"):
				var in commitCall
				if err := json.Unmarshal(b, &in); err != nil || in.Tenant == "" || in.Upload == "" {
					t.Fatalf("not a commit step input: %v", err)
				}
				if "commit-"+in.Action+".json" != name {
					t.Errorf("action %q in %s", in.Action, name)
				}
				var taskErr struct{ Error, Cause string }
				if in.Action == "fail" && (json.Unmarshal(in.Error, &taskErr) != nil || taskErr.Error == "") {
					t.Error("fail sample carries no {Error, Cause}")
				}
				if in.Action == "apply" && in.Batch == nil {
					t.Error("apply sample names no batch")
				}
				seenActions[in.Action] = true
			case name == "validate-revalidate.json":
				var in struct{ Tenant, Upload string }
				if err := json.Unmarshal(b, &in); err != nil || in.Tenant == "" || in.Upload == "" {
					t.Errorf("not a re-validation request {tenant, upload}: %v", err)
				}
			default:
				t.Errorf("sample event for no known trigger")
			}
		})
	}
	for r := range routes {
		if !seenRoutes[r] {
			t.Errorf("no sample event for route %s", r)
		}
	}
	for _, a := range []string{"plan", "apply", "finish", "fail"} {
		if !seenActions[a] {
			t.Errorf("no sample event for commit action %s", a)
		}
	}
}
