// Package audit keeps a log of staff actions in a capped Redis stream:
// who (a staff username), did what (method and route, or a named action such
// as login), to what (the route's office and ids), with which outcome, when,
// and in which request. It never records a citizen's name or address: the
// target is built from route parameters only.
package audit

import (
	"context"
	"strconv"
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
type Log struct {
	rdb   redis.UniversalClient
	clock clock.Clock
}

// New returns the audit log on rdb.
func New(rdb redis.UniversalClient, clk clock.Clock) *Log { return &Log{rdb: rdb, clock: clk} }

// Record appends e (its time is now; its id is assigned).
func (l *Log) Record(ctx context.Context, e Entry) error {
	err := l.rdb.XAdd(ctx, &redis.XAddArgs{Stream: Key(), MaxLen: MaxLen, Approx: true, Values: []any{
		"time", l.clock.Now().UTC().Format(time.RFC3339Nano), "actor", e.Actor, "action", e.Action,
		"target", e.Target, "status", strconv.Itoa(e.Status), "request_id", e.RequestID,
	}}).Err()
	return store.Wrap("audit.Record", err)
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
