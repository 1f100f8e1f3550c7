package notify

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// The scheduler tests drive a job that moves due messages from a sorted set
// into the outbox (the way reminders were once kept), to show that each
// instant runs once across replicas and at the right time around DST.

func testDueKey(office string) string    { return "rathaus:{" + office + "}:testdue" }
func testDueMsgKey(office string) string { return "rathaus:{" + office + "}:testdue:msg" }

// moveRemindersCmd moves due reminders into the outbox.
//
// KEYS[1] -> rathaus:{<office>}:testdue       (sorted set: message id -> due ms)
// KEYS[2] -> rathaus:{<office>}:testdue:msg   (hash: message id -> Message JSON)
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
func moveDue(ctx context.Context, rdb redis.UniversalClient, office string, now time.Time) (int, error) {
	const batch = 100
	total := 0
	for {
		n, err := moveRemindersCmd.Run(ctx, rdb,
			[]string{testDueKey(office), testDueMsgKey(office), OutboxKey(office)}, now.UnixMilli(), batch).Int()
		if err != nil {
			return total, store.Wrap("notify.moveDue", err)
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// ReminderJob is the job that moves office's due reminders into its outbox
// every minute.
func dueJob(rdb redis.UniversalClient, office string, loc *time.Location) Job {
	return Job{Name: "reminders:" + office, Spec: "* * * * *", Location: loc,
		Run: func(ctx context.Context, now time.Time) error {
			_, err := moveDue(ctx, rdb, office, now)
			return err
		}}
}
