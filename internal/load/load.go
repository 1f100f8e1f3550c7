// Package load lets work that can wait yield to people who are waiting.
//
// The outbox workers render and write mails in the same process that answers
// requests. When new slots appear and thousands of citizens book at once,
// one office's worker alone kept a CPU core busy with confirmations while
// the bookings that cause them queued behind it. A Meter counts the requests
// a process starts; a Pacer runs background work (one mail at a time) and,
// while the request rate is above BusyRate, lets all such work of the process
// together use at most Share of one core: after each piece that took d it
// pauses d·(1/Share − 1), never more than MaxPause. The mails are not lost
// or reordered, only sent later — at least one per (d + MaxPause) even under
// a flood of requests — and at full speed again once the rate drops.
package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Meter counts the requests a process has started.
type Meter struct{ n atomic.Uint64 }

// Add counts one request.
func (m *Meter) Add() { m.n.Add(1) }

// Count is how many requests were started so far.
func (m *Meter) Count() uint64 { return m.n.Load() }

// Middleware counts every request as it starts (a long-lived event stream
// counts once).
func (m *Meter) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		m.n.Add(1)
		c.Next()
	}
}

// Defaults of a Pacer's zero fields.
const (
	// DefaultBusyRate is far above a town's normal traffic (a few requests
	// a second) and far below a rush (thousands).
	DefaultBusyRate = 100
	DefaultShare    = 0.25
	DefaultMaxPause = 100 * time.Millisecond
	// window is how long a measured rate stands before it is measured again.
	window = 100 * time.Millisecond
)

// Pacer runs background work, yielding while the Meter's rate is high. Its
// zero fields take the defaults; a nil *Pacer runs work at once.
type Pacer struct {
	Meter *Meter
	// BusyRate is the rate (requests per second) from which the process
	// counts as busy (DefaultBusyRate).
	BusyRate float64
	// Share is the part of one core background work may take while busy
	// (DefaultShare); 1 or more: no pauses.
	Share float64
	// MaxPause caps the pause after one piece of work (DefaultMaxPause).
	MaxPause time.Duration
	// Paused, when set, adds up the seconds paused.
	Paused prometheus.Counter
	// Now and Sleep are the clock (tests replace them); Sleep returns early
	// with ctx's error when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	once sync.Once
	// rate sampling
	sample    sync.Mutex
	lastAt    time.Time
	lastCount uint64
	busy      bool
	// turn (one slot) serialises background work while busy; next is when
	// the next piece may start. Both belong to whoever holds the slot.
	turn chan struct{}
	next time.Time
}

func (p *Pacer) init() {
	p.once.Do(func() {
		if p.BusyRate <= 0 {
			p.BusyRate = DefaultBusyRate
		}
		if p.Share <= 0 {
			p.Share = DefaultShare
		}
		if p.MaxPause <= 0 {
			p.MaxPause = DefaultMaxPause
		}
		if p.Now == nil {
			p.Now = time.Now
		}
		if p.Sleep == nil {
			p.Sleep = sleep
		}
		p.turn = make(chan struct{}, 1)
	})
}

// Busy reports whether requests started at BusyRate or faster over the last
// measured window (about 100 ms; the first call only starts measuring).
func (p *Pacer) Busy() bool {
	if p == nil || p.Meter == nil {
		return false
	}
	p.init()
	p.sample.Lock()
	defer p.sample.Unlock()
	now, n := p.Now(), p.Meter.Count()
	if p.lastAt.IsZero() {
		p.lastAt, p.lastCount = now, n
		return false
	}
	if el := now.Sub(p.lastAt); el >= window {
		p.busy = float64(n-p.lastCount)/el.Seconds() >= p.BusyRate
		p.lastAt, p.lastCount = now, n
	}
	return p.busy
}

// Do runs f. While the process is busy, pieces of work of all callers run
// one at a time, each after the pause its predecessor earned; the error is
// ctx's when it ended while waiting for the turn or the pause (f did not
// run). The pause counts wall time: a send that waits on a slow mail server
// earns a pause as long as one that computes (at most MaxPause).
func (p *Pacer) Do(ctx context.Context, f func()) error {
	if p == nil || p.Meter == nil {
		f()
		return nil
	}
	p.init()
	if p.Share >= 1 || !p.Busy() {
		f()
		return nil
	}
	select { // a worker shutting down does not wait for its turn
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.turn }()
	if err := ctx.Err(); err != nil {
		return err
	}
	if wait := p.next.Sub(p.Now()); wait > 0 {
		if err := p.Sleep(ctx, wait); err != nil {
			return err
		}
		if p.Paused != nil {
			p.Paused.Add(wait.Seconds())
		}
	}
	start := p.Now()
	f()
	end := p.Now()
	pause := time.Duration(float64(end.Sub(start)) * (1/p.Share - 1))
	p.next = end.Add(min(pause, p.MaxPause))
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
