// Package e2e holds credup's end-to-end test suites: the whole pipeline
// (HTTP API with its JWT authorizer, presigned uploads, S3 notifications,
// the validate, api and commit functions, the commit state machine,
// DynamoDB and EventBridge) run on the embedded local stack and driven
// through the real AWS SDK clients and plain HTTP, as a user or a partner
// would drive it. The package has no code of its own; see its tests. Run
// them with `go test ./internal/e2e/`; -short leaves out the test that
// builds the functions and runs each as its own process.
package e2e
