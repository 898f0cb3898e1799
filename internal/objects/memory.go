package objects

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/credup/credup/internal/bulk"
)

// Memory is a bucket held in memory, for tests and offline runs: the same
// Open and Put as Bucket.
type Memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

// Open returns an object's body; a missing key is a bulk.ENotFound error.
func (b *Memory) Open(_ context.Context, key string) (io.ReadCloser, error) {
	body, ok := b.Get(key)
	if !ok {
		return nil, bulk.Errorf(bulk.ENotFound, "no object %s", key)
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

// Put stores a copy of body under key.
func (b *Memory) Put(_ context.Context, key string, body []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string][]byte{}
	}
	b.m[key] = append([]byte(nil), body...)
	return nil
}

// Get returns the body stored under key.
func (b *Memory) Get(key string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	body, ok := b.m[key]
	return body, ok
}

// Keys lists the stored keys under a prefix, sorted.
func (b *Memory) Keys(prefix string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for k := range b.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
