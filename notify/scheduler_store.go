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
var setLastCmd = redis.NewScript(`
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

// moveRemindersCmd moves due reminders into the outbox.
//
// KEYS[1] -> rathaus:{<office>}:reminders       (sorted set: message id -> due ms)
// KEYS[2] -> rathaus:{<office>}:reminders:msg   (hash: message id -> Message JSON)
// KEYS[3] -> rathaus:{<office>}:outbox
// ARGV[1] -> now, Unix milliseconds
// ARGV[2] -> most reminders to move
//
// Returns the number of reminders handled (an id without message JSON is
// dropped from the index and counted too).
var moveRemindersCmd = redis.NewScript(`
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  local msg = redis.call("HGET", KEYS[2], id)
  if msg then
    redis.call("XADD", KEYS[3], "*", "msg", msg)
  end
  redis.call("ZREM", KEYS[1], id)
  redis.call("HDEL", KEYS[2], id)
end
return #due`)

// MoveDueReminders moves every reminder of office due at or before now from
// the reminder index into the outbox, in batches of one script each.
func MoveDueReminders(ctx context.Context, rdb redis.UniversalClient, office string, now time.Time) (int, error) {
	const batch = 100
	total := 0
	for {
		n, err := moveRemindersCmd.Run(ctx, rdb,
			[]string{ReminderKey(office), ReminderMsgKey(office), OutboxKey(office)}, now.UnixMilli(), batch).Int()
		if err != nil {
			return total, store.Wrap("notify.MoveDueReminders", err)
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// ReminderJob is the job that moves office's due reminders into its outbox
// every minute.
func ReminderJob(rdb redis.UniversalClient, office string, loc *time.Location) Job {
	return Job{Name: "reminders:" + office, Spec: "* * * * *", Location: loc,
		Run: func(ctx context.Context, now time.Time) error {
			_, err := MoveDueReminders(ctx, rdb, office, now)
			return err
		}}
}
