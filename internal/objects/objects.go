// Package objects reads and writes credup's objects in its S3 bucket: the
// uploaded files, streamed, and the commit manifests.
package objects

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// API is the part of the S3 client the bucket uses.
type API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Bucket is one S3 bucket.
type Bucket struct {
	client API
	name   string
}

// New returns the bucket called name.
func New(client API, name string) *Bucket {
	return &Bucket{client: client, name: name}
}

// Open streams an object: the body is read as the caller reads, never held
// whole in memory.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get object from %s: %w", b.name, err)
	}
	return out.Body, nil
}

// Put writes a small object (a manifest), encrypted at rest.
func (b *Bucket) Put(ctx context.Context, key string, body []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(b.name),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("put object to %s: %w", b.name, err)
	}
	return nil
}
