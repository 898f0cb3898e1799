// Command api is credup's HTTP API function: API Gateway (HTTP API, JWT
// authorizer) in front, internal/httpapi behind the payload 2.0 adapter.
// The wiring (environment, SDK clients, store) is internal/function's, the
// same the local stack uses when it runs the handler in its own process.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/credup/credup/internal/function"
)

func main() {
	lambda.Start(function.Must(function.API(context.Background(), os.Getenv, nil)))
}
