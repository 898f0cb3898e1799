// Command commit is credup's commit function: the task behind every state
// of the commit state machine (plan, apply, finish, fail).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/credup/credup/internal/function"
)

func main() {
	lambda.Start(function.Must(function.Commit(context.Background(), os.Getenv, nil)))
}
