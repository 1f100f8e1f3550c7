package booking

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// forgetCmd deletes an appointment that ended before the retention period:
// its record with the name, address and phone, and every index entry.
//
//	KEYS[1] appointment  KEYS[2] codes  KEYS[3] its day index  KEYS[4] appointments index
//	KEYS[5] its e-mail index  KEYS[6] reminder index  KEYS[7] reminder msgs
//	KEYS[8] its idempotency record (the stored booking answer)
//	ARGV[1] id  ARGV[2] code  ARGV[3] reminder id
//
// Returns 1.
var forgetCmd = redis.NewScript(`
redis.call("DEL", KEYS[1])
if redis.call("HGET", KEYS[2], ARGV[2]) == ARGV[1] then redis.call("HDEL", KEYS[2], ARGV[2]) end
redis.call("ZREM", KEYS[3], ARGV[1])
redis.call("ZREM", KEYS[4], ARGV[1])
redis.call("ZREM", KEYS[5], ARGV[1])
redis.call("ZREM", KEYS[6], ARGV[3])
redis.call("HDEL", KEYS[7], ARGV[3])
redis.call("DEL", KEYS[8])
return 1
`)

// Forget deletes the personal data of the office's appointments that ended
// more than its retention period before now. It returns how many it deleted.
func (s *Bookings) Forget(ctx context.Context, officeID string, now time.Time) (int, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return 0, ErrOfficeNotFound
	}
	before := now.Add(-time.Duration(o.RetentionDays) * 24 * time.Hour)
	n := 0
	for {
		ids, err := s.st.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: apptsKey(o.ID), Start: "-inf",
			Stop: before.UnixMilli(), ByScore: true, Count: 200}).Result()
		if err != nil {
			return n, store.Wrap("booking.Forget", err)
		}
		if len(ids) == 0 {
			return n, nil
		}
		for _, id := range ids {
			if err := s.st.forget(ctx, o, id); err != nil {
				return n, err
			}
			n++
		}
	}
}

func (s *redisStore) forget(ctx context.Context, o *Office, id string) error {
	v, err := s.rdb.HMGet(ctx, apptKey(o.ID, id), "date", "code", "email", "seq", "idem").Result()
	if err != nil {
		return store.Wrap("booking.forget", err)
	}
	str := func(i int) string { x, _ := v[i].(string); return x }
	d, perr := ParseDate(str(0))
	if perr != nil {
		d = Date{1970, 1, 1} // the record is gone already: only the index entries remain
	}
	err = forgetCmd.Run(ctx, s.rdb, []string{apptKey(o.ID, id), codesKey(o.ID), dayKey(o.ID, d), apptsKey(o.ID),
		emailKey(o.ID, emailHash(str(2))), notify.ReminderKey(o.ID), notify.ReminderMsgKey(o.ID), idemKey(o.ID, orDash(str(4)))},
		id, str(1), reminderID(Appointment{ID: id, Seq: atoi(str(3))})).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.Wrap("booking.forget", err)
	}
	return nil
}
