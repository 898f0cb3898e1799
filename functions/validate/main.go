// Command validate is credup's validate function: triggered by files landing
// in the bucket and by re-validation requests from the API, it writes the
// report of an upload.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/credup/credup/internal/function"
)

func main() {
	lambda.Start(function.Must(function.Validate(context.Background(), os.Getenv, nil)))
}
