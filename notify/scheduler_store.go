package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/store"
)

// schedStore holds the scheduler's locks and run marks.
type schedStore struct {
	rdb redis.UniversalClient
}

// NewScheduler returns a scheduler whose jobs run in loc (the office time
// zone) unless a job names its own, locking each run in rdb. instance names
// this process in the locks.
func NewScheduler(rdb redis.UniversalClient, clk clock.Clock, loc *time.Location, instance string, log *slog.Logger) *Scheduler {
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{st: &schedStore{rdb: rdb}, clock: clk, loc: loc, instance: instance, log: log,
		LockTTL: 2 * time.Hour, CatchUp: 7 * 24 * time.Hour, done: make(chan struct{})}
}

// lock takes the lock of one run (SET NX PX); true when this caller got it.
func (s *schedStore) lock(ctx context.Context, job, instant, owner string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, SchedLockKey(job, instant), owner, ttl).Result()
	return ok, store.Wrap("notify.lock", err)
}

// last returns the job's latest handled instant, ok false when none is recorded.
func (s *schedStore) last(ctx context.Context, job string) (time.Time, bool, error) {
	ms, err := s.rdb.Get(ctx, SchedLastKey(job)).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, store.Wrap("notify.last", err)
	}
	return time.UnixMilli(ms), true, nil
}

// setLastCmd raises a job's last handled instant, never lowers it.
//
// KEYS[1] -> rathaus:{sched:<job>}:last
// ARGV[1] -> instant, Unix milliseconds
//
// Returns 1 when raised, 0 when the stored instant was already as late.
var setLastCmd = store.NewScript(`
local cur = tonumber(redis.call("GET", KEYS[1]) or "0")
if tonumber(ARGV[1]) > cur then
  redis.call("SET", KEYS[1], ARGV[1])
  return 1
end
return 0`)

func (s *schedStore) setLast(ctx context.Context, job string, at time.Time) error {
	err := setLastCmd.Run(ctx, s.rdb, []string{SchedLastKey(job)}, at.UnixMilli()).Err()
	return store.Wrap("notify.setLast", err)
}
