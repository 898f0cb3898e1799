package eventbus

import (
	"context"
	"sync"
)

// Recorded is one event a Recorder received.
type Recorded struct {
	DetailType string
	Detail     any
}

// Recorder keeps the events published to it, in order, for tests and
// offline runs: the same Publish as Bus.
type Recorder struct {
	mu     sync.Mutex
	events []Recorded
}

// Publish records one event.
func (r *Recorder) Publish(_ context.Context, detailType string, detail any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, Recorded{DetailType: detailType, Detail: detail})
	return nil
}

// Events returns the events recorded so far.
func (r *Recorder) Events() []Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recorded(nil), r.events...)
}
