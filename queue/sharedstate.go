package queue

import (
	"context"
	"sync"
	"time"
)

// sharedStates shares one read of an office's estimate inputs (counters and
// service times) among the ticket streams of this process that react to the
// same event. With n open ticket pages, a call used to cost n reads of the
// whole queue state (two ZCARDs per service, the counters, the service times,
// the latest calls, the last event); now it costs one read of two hashes, and
// each page adds only its own ticket and rank.
//
// A read is keyed by the newest event its first caller had seen when it
// started. Every later caller whose own newest event is not newer may take it:
// the hub hands events out in stream order, so a read started after event E
// reached this process reflects everything up to E.
type sharedStates struct {
	mu sync.Mutex
	m  map[string]*sharedState // office → its latest read
}

// sharedState is one read, in flight until done is closed.
type sharedState struct {
	after string // newest event seen before the read started
	done  chan struct{}
	st    *queueState
	err   error
}

// sharedReadTimeout bounds a shared read: it is not tied to the request of
// the stream that started it, which may go away while others wait for it.
const sharedReadTimeout = 5 * time.Second

func newSharedStates() *sharedStates { return &sharedStates{m: map[string]*sharedState{}} }

// get returns the office's state read after event after: a read already
// started (or done) after the same or a newer event, or a new one by load.
func (c *sharedStates) get(ctx context.Context, office, after string, load func(context.Context) (*queueState, error)) (*queueState, error) {
	c.mu.Lock()
	e := c.m[office]
	if e == nil || eventAfter(after, e.after) || e.failed() {
		e = &sharedState{after: after, done: make(chan struct{})}
		c.m[office] = e
		c.mu.Unlock()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedReadTimeout)
		e.st, e.err = load(lctx)
		cancel()
		close(e.done)
		return e.st, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.st, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// failed reports whether the read is over and failed: the next caller reads
// again rather than sharing the error.
func (e *sharedState) failed() bool {
	select {
	case <-e.done:
		return e.err != nil
	default:
		return false
	}
}
