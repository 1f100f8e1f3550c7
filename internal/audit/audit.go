// Package audit keeps a log of staff actions in a capped Redis stream:
// who (a staff username), did what (method and route, or a named action such
// as login), to what (the route's office and ids), with which outcome, when,
// and in which request. It never records a citizen's name or address: the
// target is built from route parameters only.
package audit

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/store"
)

// MaxLen caps the stream (approximately, as XADD MAXLEN ~ does).
const MaxLen = 100_000

// Key is the audit stream. Its own hash tag: one slot, written by all offices.
func Key() string { return "rathaus:{audit}:log" }

// Entry is one audited action.
type Entry struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Status    int       `json:"status"`
	RequestID string    `json:"request_id"`
}

// Log writes and reads the audit stream.
//
// Without Start, Record writes each entry at once (one round trip). After
// Start, Record hands entries to a writer that sends whatever has queued up
// as one pipeline, so that a staff request does not wait for its audit entry
// (call-next was three round trips, one of them this). That moves the entry's
// write a moment after the response; an entry is lost only if the process
// dies in that moment (as it was lost before if the process died between the
// action and its entry), Redis stays down for the writer's retries, or —
// under ?wait=, which makes every batch wait for the replicas — a failover
// follows a batch that they did not confirm. Reads (HandleIndex) first wait
// for what this process queued.
type Log struct {
	rdb   redis.UniversalClient
	clock clock.Clock

	mu    sync.RWMutex
	queue chan item // nil: not started, or stopped
}

// item is a queued entry, or (flush != nil) a barrier that the writer closes
// once everything queued before it is written.
type item struct {
	e     Entry
	at    time.Time
	flush chan struct{}
}

// queueSize bounds the entries waiting for the writer; past it, Record
// writes at once.
const queueSize = 4096

// maxBatch bounds the entries of one pipeline.
const maxBatch = 256

// New returns the audit log on rdb.
func New(rdb redis.UniversalClient, clk clock.Clock) *Log { return &Log{rdb: rdb, clock: clk} }

// Start starts the writer. stop makes Record write at once again, writes what
// is queued and waits for the writer to end.
func (l *Log) Start(log *slog.Logger) (stop func()) {
	q := make(chan item, queueSize)
	done := make(chan struct{})
	l.mu.Lock()
	l.queue = q
	l.mu.Unlock()
	go func() {
		defer close(done)
		batch := make([]item, 0, maxBatch)
		for it := range q {
			batch = append(batch[:0], it)
		fill:
			for len(batch) < maxBatch {
				select {
				case it, ok := <-q:
					if !ok {
						break fill
					}
					batch = append(batch, it)
				default:
					break fill
				}
			}
			l.writeBatch(log, batch)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.queue = nil
			l.mu.Unlock()
			close(q)
			<-done
		})
	}
}

// writeBatch writes the entries of batch in one pipeline, tries twice more
// after a failure (the store may be failing over), then gives up with a
// warning, and releases the barriers. Under ?wait= (store.waitHook) the
// pipeline ends with a WAIT; when the replicas did not confirm it in time the
// entries are on the primary all the same, so they are not written again
// (that would write them twice), only warned about.
func (l *Log) writeBatch(log *slog.Logger, batch []item) {
	n := 0
	for _, it := range batch {
		if it.flush == nil {
			n++
		}
	}
	if n > 0 {
		var err error
		for attempt := range 3 {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
			}
			pipe := l.rdb.Pipeline()
			for _, it := range batch {
				if it.flush == nil {
					pipe.XAdd(context.Background(), l.args(it.e, it.at))
				}
			}
			if _, err = pipe.Exec(context.Background()); err == nil || store.IsUnreplicated(err) {
				break
			}
		}
		if store.IsUnreplicated(err) {
			log.Warn("audit: recorded, but no replica confirmed it in time; a failover now would lose it", "entries", n, "err", err)
		} else if err != nil {
			log.Warn("audit: could not record", "entries", n, "err", err)
		}
	}
	for _, it := range batch {
		if it.flush != nil {
			close(it.flush)
		}
	}
}

func (l *Log) args(e Entry, at time.Time) *redis.XAddArgs {
	return &redis.XAddArgs{Stream: Key(), MaxLen: MaxLen, Approx: true, Values: []any{
		"time", at.UTC().Format(time.RFC3339Nano), "actor", e.Actor, "action", e.Action,
		"target", e.Target, "status", strconv.Itoa(e.Status), "request_id", e.RequestID,
	}}
}

// Record appends e (its time is now; its id is assigned): queued for the
// writer after Start, else at once — as a pipeline of one, so that under
// ?wait= it is waited for like the writer's batches.
func (l *Log) Record(ctx context.Context, e Entry) error {
	at := l.clock.Now()
	l.mu.RLock()
	if l.queue != nil {
		select {
		case l.queue <- item{e: e, at: at}:
			l.mu.RUnlock()
			return nil
		default: // full: write it here
		}
	}
	l.mu.RUnlock()
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { p.XAdd(ctx, l.args(e, at)); return nil })
	return store.Wrap("audit.Record", err)
}

// Flush waits until the entries this process queued so far are written (or
// given up), or ctx ends.
func (l *Log) Flush(ctx context.Context) error {
	b := make(chan struct{})
	l.mu.RLock()
	if l.queue == nil {
		l.mu.RUnlock()
		return nil
	}
	select {
	case l.queue <- item{flush: b}:
	case <-ctx.Done():
		l.mu.RUnlock()
		return ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case <-b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recent returns the newest limit entries, newest first.
func (l *Log) Recent(ctx context.Context, limit int64) ([]Entry, error) {
	msgs, err := l.rdb.XRevRangeN(ctx, Key(), "+", "-", limit).Result()
	if err != nil {
		return nil, store.Wrap("audit.Recent", err)
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		s := func(k string) string { v, _ := m.Values[k].(string); return v }
		t, _ := time.Parse(time.RFC3339Nano, s("time"))
		st, _ := strconv.Atoi(s("status"))
		out = append(out, Entry{ID: m.ID, Time: t, Actor: s("actor"), Action: s("action"), Target: s("target"),
			Status: st, RequestID: s("request_id")})
	}
	return out, nil
}
