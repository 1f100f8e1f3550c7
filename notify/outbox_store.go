package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// entry is one outbox stream entry as the worker sees it.
type entry struct {
	ID string
	// Raw is the Message JSON or an encoded Ref (field "msg").
	Raw string
	// Attempts is how often sending it failed before (field "attempt", 0 when absent).
	Attempts int
}

// outboxStore is the Redis side of one office's outbox.
type outboxStore struct {
	rdb    redis.UniversalClient
	office string
}

func toEntries(msgs []redis.XMessage) []entry {
	out := make([]entry, 0, len(msgs))
	for _, m := range msgs {
		e := entry{ID: m.ID}
		e.Raw, _ = m.Values["msg"].(string)
		if a, ok := m.Values["attempt"].(string); ok {
			e.Attempts, _ = strconv.Atoi(a)
		}
		out = append(out, e)
	}
	return out
}

// ensureGroup creates the consumer group (and the stream). It starts at ID 0
// so that entries a domain appended before any worker ran are delivered.
func (s *outboxStore) ensureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, OutboxKey(s.office), OutboxGroup, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return store.Wrap("notify.ensureGroup", err)
	}
	return nil
}

// read returns up to count new entries for consumer, waiting up to block
// (negative: not at all).
func (s *outboxStore) read(ctx context.Context, consumer string, count int, block time.Duration) ([]entry, error) {
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: OutboxGroup, Consumer: consumer,
		Streams: []string{OutboxKey(s.office), ">"}, Count: int64(count), Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Wrap("notify.read", err)
	}
	var out []entry
	for _, st := range res {
		out = append(out, toEntries(st.Messages)...)
	}
	return out, nil
}

// reclaim takes over entries that another consumer read but did not finish
// within minIdle (it died), continuing the scan from cursor.
func (s *outboxStore) reclaim(ctx context.Context, consumer, cursor string, minIdle time.Duration, count int) ([]entry, string, error) {
	msgs, next, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: OutboxKey(s.office), Group: OutboxGroup,
		Consumer: consumer, MinIdle: max(minIdle, 0), Start: cursor, Count: int64(count)}).Result()
	if err != nil {
		return nil, cursor, store.Wrap("notify.reclaim", err)
	}
	return toEntries(msgs), next, nil
}

// exists reports whether entry id is still in the stream: an entry taken
// over from another worker may have been finished by it meanwhile (its
// send outlasted ClaimIdle); finishing deletes the entry.
func (s *outboxStore) exists(ctx context.Context, id string) (bool, error) {
	msgs, err := s.rdb.XRangeN(ctx, OutboxKey(s.office), id, id, 1).Result()
	if err != nil {
		return false, store.Wrap("notify.exists", err)
	}
	return len(msgs) == 1, nil
}

// ackCmd acknowledges a handled entry and deletes it from the stream.
//
// KEYS[1] -> rathaus:{<office>}:outbox
// ARGV[1] -> consumer group
// ARGV[2] -> stream entry id
//
// Returns 1 when the entry was pending and is now acknowledged, 0 when it was
// not pending any more (another worker finished it).
var ackCmd = store.NewScript(`
local n = redis.call("XACK", KEYS[1], ARGV[1], ARGV[2])
redis.call("XDEL", KEYS[1], ARGV[2])
return n`)

// ack acknowledges and deletes e.
func (s *outboxStore) ack(ctx context.Context, e entry) error {
	err := ackCmd.Run(ctx, s.rdb, []string{OutboxKey(s.office)}, OutboxGroup, e.ID).Err()
	return store.Wrap("notify.ack", err)
}

// retryCmd moves a failed entry into the retry set.
//
// KEYS[1] -> rathaus:{<office>}:outbox
// KEYS[2] -> rathaus:{<office>}:outbox:retry
// ARGV[1] -> consumer group
// ARGV[2] -> stream entry id
// ARGV[3] -> retry member "<failed attempts>:<Message JSON>"
// ARGV[4] -> due time, Unix milliseconds
//
// Returns 1 when moved, 0 when the entry was no longer pending (another
// worker took it over), in which case nothing changes.
var retryCmd = store.NewScript(`
if redis.call("XACK", KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call("XDEL", KEYS[1], ARGV[2])
redis.call("ZADD", KEYS[2], ARGV[4], ARGV[3])
return 1`)

// retry schedules e for another try at due, with attempts failed tries so far.
func (s *outboxStore) retry(ctx context.Context, e entry, attempts int, due time.Time) (bool, error) {
	n, err := retryCmd.Run(ctx, s.rdb, []string{OutboxKey(s.office), RetryKey(s.office)},
		OutboxGroup, e.ID, strconv.Itoa(attempts)+":"+e.Raw, due.UnixMilli()).Int()
	return n == 1, store.Wrap("notify.retry", err)
}

// deadCmd moves an entry that failed too often to the dead-letter stream.
//
// KEYS[1] -> rathaus:{<office>}:outbox
// KEYS[2] -> rathaus:{<office>}:outbox:dead
// ARGV[1] -> consumer group
// ARGV[2] -> stream entry id
// ARGV[3] -> Message JSON
// ARGV[4] -> failed attempts
// ARGV[5] -> last error
// ARGV[6] -> now, Unix milliseconds
//
// Returns 1 when moved, 0 when the entry was no longer pending.
var deadCmd = store.NewScript(`
if redis.call("XACK", KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call("XDEL", KEYS[1], ARGV[2])
redis.call("XADD", KEYS[2], "*", "msg", ARGV[3], "attempts", ARGV[4], "error", ARGV[5], "failed_at", ARGV[6])
return 1`)

// dead moves e to the dead-letter stream.
func (s *outboxStore) dead(ctx context.Context, e entry, attempts int, cause error, now time.Time) (bool, error) {
	n, err := deadCmd.Run(ctx, s.rdb, []string{OutboxKey(s.office), DeadLetterKey(s.office)},
		OutboxGroup, e.ID, e.Raw, attempts, cause.Error(), now.UnixMilli()).Int()
	return n == 1, store.Wrap("notify.dead", err)
}

// forwardRetriesCmd moves due retries back into the outbox stream.
//
// KEYS[1] -> rathaus:{<office>}:outbox:retry
// KEYS[2] -> rathaus:{<office>}:outbox
// ARGV[1] -> now, Unix milliseconds
// ARGV[2] -> most members to move
//
// Returns the number of members moved.
var forwardRetriesCmd = store.NewScript(`
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  local sep = string.find(m, ":", 1, true)
  redis.call("XADD", KEYS[2], "*", "msg", string.sub(m, sep + 1), "attempt", string.sub(m, 1, sep - 1))
  redis.call("ZREM", KEYS[1], m)
end
return #due`)

// forwardRetries moves retries due at now back into the stream.
func (s *outboxStore) forwardRetries(ctx context.Context, now time.Time, limit int) (int, error) {
	n, err := forwardRetriesCmd.Run(ctx, s.rdb, []string{RetryKey(s.office), OutboxKey(s.office)},
		now.UnixMilli(), limit).Int()
	return n, store.Wrap("notify.forwardRetries", err)
}

// backlog is how many messages wait: stream entries (new or in flight) plus retries.
func (s *outboxStore) backlog(ctx context.Context) (int64, error) {
	pipe := s.rdb.Pipeline()
	xl := pipe.XLen(ctx, OutboxKey(s.office))
	zc := pipe.ZCard(ctx, RetryKey(s.office))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, store.Wrap("notify.backlog", err)
	}
	return xl.Val() + zc.Val(), nil
}

// Enqueue appends msg to its office's outbox. Domains append inside their
// own Lua scripts (XADD KEYS[n] * msg <json>) so that the mail and the change
// are one; Enqueue is for callers with nothing else to change atomically
// (tests, admin tools).
func Enqueue(ctx context.Context, rdb redis.UniversalClient, msg Message) error {
	raw, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("notify.Enqueue: %w", err)
	}
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: OutboxKey(msg.Office.ID), Values: []string{"msg", string(raw)}}).Err(); err != nil {
		return store.Wrap("notify.Enqueue", err)
	}
	return nil
}

// TrimDeadLetters drops the office's dead-lettered mails appended before
// before: they carry names and addresses, so they follow the retention period.
func TrimDeadLetters(ctx context.Context, rdb redis.UniversalClient, office string, before time.Time) error {
	err := rdb.XTrimMinID(ctx, DeadLetterKey(office), strconv.FormatInt(before.UnixMilli(), 10)+"-0").Err()
	if err != nil {
		return fmt.Errorf("notify.TrimDeadLetters: %w", err)
	}
	return nil
}

// forgetScan bounds how many dead letters and retries ForgetMessages looks at.
const forgetScan = 100000

// ForgetMessages deletes the office's dead-lettered and retrying mails whose
// message id starts with idPrefix (booking's are "<appointment id>-…"), for a
// citizen who asks for their data to be erased. Mails still waiting in the
// outbox are left to be sent (the cancellation that the erasure causes is one).
func ForgetMessages(ctx context.Context, rdb redis.UniversalClient, office, idPrefix string) error {
	mine := func(raw string) bool {
		id := entryID(raw)
		return id != "" && strings.HasPrefix(id, idPrefix)
	}
	dead, err := rdb.XRangeN(ctx, DeadLetterKey(office), "-", "+", forgetScan).Result()
	if err != nil {
		return fmt.Errorf("notify.ForgetMessages: %w", err)
	}
	var ids []string
	for _, e := range dead {
		if raw, _ := e.Values["msg"].(string); mine(raw) {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) > 0 {
		if err := rdb.XDel(ctx, DeadLetterKey(office), ids...).Err(); err != nil {
			return fmt.Errorf("notify.ForgetMessages: %w", err)
		}
	}
	retries, err := rdb.ZRange(ctx, RetryKey(office), 0, forgetScan-1).Result()
	if err != nil {
		return fmt.Errorf("notify.ForgetMessages: %w", err)
	}
	for _, member := range retries {
		// A retry member is "<failed attempts>:<Message JSON>".
		if _, raw, ok := strings.Cut(member, ":"); ok && mine(raw) {
			if err := rdb.ZRem(ctx, RetryKey(office), member).Err(); err != nil {
				return fmt.Errorf("notify.ForgetMessages: %w", err)
			}
		}
	}
	return nil
}
