package localstack

import (
	"fmt"
	"slices"
	"strings"
)

// What the local stack does with each property of a resource type: "" means
// it is provisioned as declared; any other value says why it is accepted but
// not enforced locally (reported as a warning). A property missing from its
// type's table is unsupported: Start fails and names it.
var support = map[string]map[string]string{
	typeTable: {
		"TableName":                        "",
		"AttributeDefinitions":             "",
		"KeySchema":                        "",
		"GlobalSecondaryIndexes":           "",
		"BillingMode":                      "",
		"TimeToLiveSpecification":          "",
		"PointInTimeRecoverySpecification": "no backups locally",
		"SSESpecification":                 "no encryption at rest locally",
		"DeletionProtectionEnabled":        "not enforced locally",
		"ContributorInsightsSpecification": "not enforced locally",
		"TableClass":                       "not enforced locally",
		"Tags":                             "not set locally",
	},
	typeBucket: {
		"BucketName":                     "",
		"BucketEncryption":               "",
		"CorsConfiguration":              "",
		"LifecycleConfiguration":         "stored; objects never expire locally",
		"PublicAccessBlockConfiguration": "not enforced locally",
		"OwnershipControls":              "not enforced locally",
		"Tags":                           "not set locally",
	},
	typeBucketPolicy: {
		"Bucket":         "",
		"PolicyDocument": "stored; not evaluated locally",
	},
	typeFunction: {
		"FunctionName":  "",
		"Description":   "",
		"Runtime":       "",
		"Handler":       "",
		"CodeUri":       "",
		"Architectures": "",
		"MemorySize":    "",
		"Timeout":       "",
		"Environment":   "",
		"Events":        "",
		// LogFormat and ApplicationLogLevel reach the function as the
		// AWS_LAMBDA_LOG_* variables Lambda sets; see loggingEnv.
		"LoggingConfig":                "",
		"Policies":                     "IAM is not enforced locally",
		"Role":                         "IAM is not enforced locally",
		"Tracing":                      "no X-Ray locally",
		"ReservedConcurrentExecutions": "not enforced locally",
		"EphemeralStorage":             "not enforced locally",
		"Tags":                         "not set locally",
	},
	typeStateMachine: {
		"Name":                    "",
		"Type":                    "",
		"Definition":              "",
		"DefinitionUri":           "",
		"DefinitionSubstitutions": "",
		"Policies":                "IAM is not enforced locally",
		"Role":                    "IAM is not enforced locally",
		"Logging":                 "no CloudWatch Logs locally",
		"Tracing":                 "no X-Ray locally",
		"Tags":                    "not set locally",
	},
}

// Event sources of a function, and the properties of each, the local stack
// wires; an HttpApi route is served by credup's local API, not by the stack.
var eventSupport = map[string][]string{
	"S3":      {"Bucket", "Events", "Filter"},
	"HttpApi": {"ApiId", "Method", "Path", "Auth", "PayloadFormatVersion", "TimeoutInMillis", "RouteSettings"},
}

// loggingSupport lists the LoggingConfig keys that become environment.
var loggingSupport = []string{"LogFormat", "ApplicationLogLevel"}

// review sorts every resource, property and attribute of the template into
// what is provisioned, what is accepted but not enforced locally (returned
// as "Resource.Property (why)"), and what the local stack cannot run.
func (t *stackTemplate) review() (notEnforced, unsupported []string) {
	warn := func(what, why string) { notEnforced = append(notEnforced, what+" ("+why+")") }
	refuse := func(format string, args ...any) { unsupported = append(unsupported, fmt.Sprintf(format, args...)) }

	for key := range t.raw {
		switch key {
		case "AWSTemplateFormatVersion", "Transform", "Description", "Metadata", "Parameters", "Mappings", "Globals", "Resources", "Outputs":
		default:
			refuse("template section %s", key)
		}
	}
	for kind, props := range asMap(t.raw["Globals"]) {
		switch kind {
		case "Function":
			t.reviewFunction("Globals.Function", asMap(props), warn, refuse)
		case "HttpApi":
			// Served by credup's local API, like the HttpApi resources.
		default:
			refuse("Globals.%s", kind)
		}
	}

	for id, typ := range t.types {
		res := asMap(asMap(t.raw["Resources"])[id])
		for attr := range res {
			switch attr {
			case "Type", "Properties", "Metadata", "DependsOn":
			case "DeletionPolicy", "UpdateReplacePolicy":
				warn(id+"."+attr, "a local stack keeps nothing after Close unless it persists")
			default:
				refuse("%s.%s", id, attr)
			}
		}
		props := asMap(res["Properties"])
		switch typ {
		case typeHTTPAPI:
			// Served by credup's local API; Start reports it in Resources.
		case typeFunction:
			t.reviewFunction(id, props, warn, refuse)
		case typeBucketPolicy:
			t.reviewProps(id, typ, props, warn, refuse)
		case typeTable, typeBucket, typeStateMachine:
			t.reviewProps(id, typ, props, warn, refuse)
			if typ == typeStateMachine {
				if ty, _ := props["Type"].(string); ty != "" && ty != "STANDARD" && ty != "EXPRESS" {
					refuse("%s.Type %s", id, ty)
				}
			}
		default:
			refuse("%s (%s)", id, typ)
		}
	}
	slices.Sort(notEnforced)
	slices.Sort(unsupported)
	return notEnforced, unsupported
}

func (t *stackTemplate) reviewProps(id, typ string, props map[string]any, warn func(string, string), refuse func(string, ...any)) {
	for p := range props {
		why, ok := support[typ][p]
		switch {
		case !ok:
			refuse("%s.%s", id, p)
		case why != "":
			warn(id+"."+p, why)
		}
	}
}

func (t *stackTemplate) reviewFunction(id string, props map[string]any, warn func(string, string), refuse func(string, ...any)) {
	t.reviewProps(id, typeFunction, props, warn, refuse)
	for k := range asMap(props["LoggingConfig"]) {
		if !slices.Contains(loggingSupport, k) {
			warn(id+".LoggingConfig."+k, "no CloudWatch Logs locally")
		}
	}
	for name, ev := range asMap(props["Events"]) {
		ev := asMap(ev)
		typ, _ := ev["Type"].(string)
		allowed, ok := eventSupport[typ]
		if !ok {
			refuse("%s.Events.%s (%s)", id, name, typ)
			continue
		}
		for p := range asMap(ev["Properties"]) {
			if !slices.Contains(allowed, p) {
				refuse("%s.Events.%s.%s", id, name, p)
			}
		}
	}
}

// unsupportedError names everything in the template the local stack
// cannot run.
func unsupportedError(path string, what []string) error {
	return fmt.Errorf("template %s: not supported by the local stack: %s", path, strings.Join(what, ", "))
}
