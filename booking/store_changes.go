package booking

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// idemTTL is how long an Idempotency-Key is remembered.
const idemTTL = 24 * time.Hour

// idemRunningTTL bounds a "still running" marker, so that a crashed request
// does not block its key for a day.
const idemRunningTTL = 60 * time.Second

// cancelCmd cancels an appointment if it is still in the expected state.
//
//	KEYS[1] appointment  KEYS[2] cap of its day  KEYS[3] e-mail limits
//	KEYS[4] outbox       KEYS[5] unverified index  KEYS[6] delayed releases
//	KEYS[7] availability version
//	ARGV[1] now ms  ARGV[2] expected seq  ARGV[3] release seats (1/0)
//	ARGV[4] outbox entry ("" none)  ARGV[5] reason  ARGV[6] new seq  ARGV[7] id
//	ARGV[8] release at ms (0: now)  ARGV[9] release member prefix  ARGV[10] e-mail field
//
// A delayed release keeps the seats taken and queues them in KEYS[6] (see
// releaseCmd); the sweeper gives them back when due.
//
// Returns "ok", "changed" (seq differs: read again) or "inactive".
var cancelCmd = store.NewScript(takeSeatsLua + `
local a = redis.call("HMGET", KEYS[1], "s", "q", "u", "n", "e")
if not a[1] then return "inactive" end
if a[1] ~= "confirmed" and a[1] ~= "unverified" then return "inactive" end
if a[2] ~= ARGV[2] then return "changed" end
if ARGV[3] == "1" then
  if ARGV[8] == "0" then add_seats(KEYS[2], KEYS[7], tonumber(a[3]), tonumber(a[4]), -1)
  else redis.call("ZADD", KEYS[6], ARGV[8], ARGV[9] .. "|" .. a[3] .. "|" .. a[4]) end
end
redis.call("HSET", KEYS[1], "s", "cancelled", "q", ARGV[6], "x", ARGV[5], "xa", ARGV[1])
ends_replace(KEYS[3], ARGV[10], a[5], nil)
redis.call("ZREM", KEYS[5], ARGV[7])
if ARGV[4] ~= "" then redis.call("XADD", KEYS[4], "*", "msg", ARGV[4]) end
return "ok"
`)

// cancel runs cancelCmd; outbox is the encoded mail ("" none).
func (s *redisStore) cancel(ctx context.Context, now time.Time, a Appointment, release bool, outbox, reason string,
	releaseAt time.Time) (string, error) {
	o := a.Office
	rel := "0"
	if release {
		rel = "1"
	}
	res, err := cancelCmd.Run(ctx, s.rdb, []string{apptKey(o, a.ID), capKey(o, a.Date), emailsKey(o),
		notify.OutboxKey(o), unverifiedKey(o), releasesKey(o), capVerKey(o)},
		now.UnixMilli(), a.Seq, rel, outbox, reason, a.Seq+1, a.ID, releaseMillis(releaseAt),
		releaseMember(a.Date), emailField(a.Email)).Text()
	if err != nil {
		return "", store.Wrap("booking.cancel", err)
	}
	return res, nil
}

// rescheduleCmd moves an appointment: it wins the new seats before it frees
// the old ones, or changes nothing.
//
//	KEYS[1] appointment  KEYS[2] old cap  KEYS[3] new cap  KEYS[4] old day index
//	KEYS[5] new day index  KEYS[6] e-mail limits  KEYS[7] outbox
//	KEYS[8] closures version  KEYS[9] day versions  KEYS[10] delayed releases
//	KEYS[11] availability version
//	ARGV[1] now ms  ARGV[2] expected seq  ARGV[3] expected closures version
//	ARGV[4] new first unit  ARGV[5] units  ARGV[6] seats list  ARGV[7] release old (1/0)
//	ARGV[8] changed fields JSON  ARGV[9] outbox entry  ARGV[10] id
//	ARGV[11] cap time to live (ms)  ARGV[12] new date
//	ARGV[13] release old at ms (0: now)  ARGV[14] release member prefix
//	ARGV[15] e-mail field  ARGV[16] new end (Unix s)  ARGV[17] old code  ARGV[18] new code
//
// An appointment cancelled by a closure may be rebooked this way too (the
// one-click links of the closure mail): it becomes confirmed again; its old
// seats were freed by the closure already.
//
// Returns "ok", "changed", "inactive", "closures_changed", "slot_taken",
// "checked_in" (the holder checked in meanwhile) or "code_taken" (the new day
// has another appointment with this code).
var rescheduleCmd = store.NewScript(takeSeatsLua + `
local a = redis.call("HMGET", KEYS[1], "s", "q", "u", "n", "x", "e", "ci")
if not a[1] then return "inactive" end
local rebook = a[1] == "cancelled" and a[5] and string.sub(a[5], 1, 8) == "closure:"
if a[1] ~= "confirmed" and a[1] ~= "unverified" and not rebook then return "inactive" end
if a[2] ~= ARGV[2] then return "changed" end
if a[7] and not rebook then return "checked_in" end -- its ticket waits in today's queue
if (redis.call("GET", KEYS[8]) or "0") ~= ARGV[3] then return "closures_changed" end
local owner = redis.call("HGET", KEYS[5], ARGV[18])
if owner and owner ~= ARGV[10] then return "code_taken" end
local first, n = tonumber(ARGV[4]), tonumber(ARGV[5])
if not seats_free(KEYS[3], first, n, parse_seats(ARGV[6])) then return "slot_taken" end
add_seats(KEYS[3], KEYS[11], first, n, 1)
redis.call("PEXPIRE", KEYS[3], ARGV[11])
redis.call("HINCRBY", KEYS[9], ARGV[12], 1)
if ARGV[7] == "1" and not rebook then
  if ARGV[13] == "0" then add_seats(KEYS[2], KEYS[11], tonumber(a[3]), tonumber(a[4]), -1)
  else redis.call("ZADD", KEYS[10], ARGV[13], ARGV[14] .. "|" .. a[3] .. "|" .. a[4]) end
end
local f = cjson.decode(ARGV[8])
local args = {}
for k, v in pairs(f) do args[#args + 1] = k; args[#args + 1] = v end
redis.call("HSET", KEYS[1], unpack(args))
if redis.call("HGET", KEYS[4], ARGV[17]) == ARGV[10] then redis.call("HDEL", KEYS[4], ARGV[17]) end
redis.call("HSET", KEYS[5], ARGV[18], ARGV[10])
if rebook then
  redis.call("HSET", KEYS[1], "s", "confirmed")
  redis.call("HDEL", KEYS[1], "x")
  local t = ends_of(KEYS[6], ARGV[15])
  t[#t + 1] = ARGV[16]
  ends_set(KEYS[6], ARGV[15], t)
else
  ends_replace(KEYS[6], ARGV[15], a[6], ARGV[16])
end
if ARGV[9] ~= "" then redis.call("XADD", KEYS[7], "*", "msg", ARGV[9]) end
return "ok"
`)

type rescheduleArgs struct {
	old, new    Appointment
	closuresVer string
	seats       string
	releaseOld  bool
	outbox      notify.Ref
	capExpiry   time.Time
	releaseAt   time.Time // of the old seats; zero: now
}

func (s *redisStore) reschedule(ctx context.Context, now time.Time, r rescheduleArgs) (string, error) {
	o, a := r.old.Office, r.new
	fields, _ := json.Marshal(map[string]string{fStart: unixText(a.Start), fEnd: unixText(a.End),
		fUnit: itoa(int(a.Unit)), fUnits: itoa(a.Units), fSeq: itoa(a.Seq), fCode: a.Code, fChanged: unixText(a.Changed)})
	rel := "0"
	if r.releaseOld {
		rel = "1"
	}
	keys := []string{apptKey(o, a.ID), capKey(o, r.old.Date), capKey(o, a.Date), dayKey(o, r.old.Date), dayKey(o, a.Date),
		emailsKey(o), notify.OutboxKey(o), closuresVerKey(o), dayVerKey(o), releasesKey(o), capVerKey(o)}
	res, err := rescheduleCmd.Run(ctx, s.rdb, keys, now.UnixMilli(), r.old.Seq, r.closuresVer, int(a.Unit), a.Units,
		r.seats, rel, string(fields), outboxArg(a, r.outbox), a.ID, ttlMillis(now, r.capExpiry), a.Date.String(),
		releaseMillis(r.releaseAt), releaseMember(r.old.Date), emailField(a.Email), a.End.Unix(), r.old.Code, a.Code).Text()
	if err != nil {
		return "", store.Wrap("booking.reschedule", err)
	}
	return res, nil
}

// holdCmd reserves seats for a short time.
//
//	KEYS[1] cap  KEYS[2] hold  KEYS[3] holds index  KEYS[4] closures version
//	KEYS[5] availability version
//	ARGV[1] now ms  ARGV[2] expected closures version  ARGV[3] first unit
//	ARGV[4] units  ARGV[5] seats list  ARGV[6] expires ms  ARGV[7] match
//	ARGV[8] service  ARGV[9] start RFC 3339  ARGV[10] hold id  ARGV[11] cap (and hold record) time to live ms
//	ARGV[12] date
//
// Returns "ok", "closures_changed" or "slot_taken".
var holdCmd = store.NewScript(takeSeatsLua + `
if (redis.call("GET", KEYS[4]) or "0") ~= ARGV[2] then return "closures_changed" end
local first, n = tonumber(ARGV[3]), tonumber(ARGV[4])
if not seats_free(KEYS[1], first, n, parse_seats(ARGV[5])) then return "slot_taken" end
add_seats(KEYS[1], KEYS[5], first, n, 1)
redis.call("PEXPIRE", KEYS[1], ARGV[11])
redis.call("HSET", KEYS[2], "match", ARGV[7], "expires", ARGV[6], "service", ARGV[8], "start", ARGV[9],
  "unit", ARGV[3], "units", ARGV[4], "date", ARGV[12])
redis.call("PEXPIRE", KEYS[2], tonumber(ARGV[11]))
redis.call("ZADD", KEYS[3], ARGV[6], ARGV[10])
return "ok"
`)

type holdArgs struct {
	office, id, service string
	date                Date
	unit                Unit
	units               int
	start, expires      time.Time
	closuresVer, seats  string
	capExpiry           time.Time
}

func (s *redisStore) hold(ctx context.Context, now time.Time, h holdArgs) (string, error) {
	o := h.office
	res, err := holdCmd.Run(ctx, s.rdb, []string{capKey(o, h.date), holdKey(o, h.id), holdsKey(o), closuresVerKey(o), capVerKey(o)},
		now.UnixMilli(), h.closuresVer, int(h.unit), h.units, h.seats, h.expires.UnixMilli(),
		holdMatch(h.date, h.unit, h.units, h.service), h.service, h.start.Format(time.RFC3339), h.id,
		ttlMillis(now, h.capExpiry), h.date.String()).Text()
	if err != nil {
		return "", store.Wrap("booking.hold", err)
	}
	return res, nil
}

// releaseHoldCmd gives a hold's seats back: always when forced (the citizen
// let go), else only once it has expired (the sweep).
//
//	KEYS[1] hold  KEYS[2] holds index  KEYS[3] cap of the hold's day  KEYS[4] availability version
//	ARGV[1] now ms  ARGV[2] force (1/0)  ARGV[3] hold id
//
// Returns 1 if released, 0 if not (gone, or not expired).
var releaseHoldCmd = store.NewScript(takeSeatsLua + `
local h = redis.call("HMGET", KEYS[1], "expires", "unit", "units")
if not h[1] then
  redis.call("ZREM", KEYS[2], ARGV[3])
  return 0
end
if ARGV[2] ~= "1" and tonumber(h[1]) > tonumber(ARGV[1]) then return 0 end
add_seats(KEYS[3], KEYS[4], tonumber(h[2]), tonumber(h[3]), -1)
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[3])
return 1
`)

func (s *redisStore) holdDate(ctx context.Context, office, id string) (Date, bool, error) {
	v, err := s.rdb.HGet(ctx, holdKey(office, id), "date").Result()
	if errors.Is(err, redis.Nil) {
		return Date{}, false, nil
	}
	if err != nil {
		return Date{}, false, store.Wrap("booking.holdDate", err)
	}
	d, err := ParseDate(v)
	return d, err == nil, nil
}

func (s *redisStore) releaseHold(ctx context.Context, now time.Time, office, id string, d Date, force bool) (bool, error) {
	f := "0"
	if force {
		f = "1"
	}
	n, err := releaseHoldCmd.Run(ctx, s.rdb, []string{holdKey(office, id), holdsKey(office), capKey(office, d), capVerKey(office)},
		now.UnixMilli(), f, id).Int()
	if err != nil {
		return false, store.Wrap("booking.releaseHold", err)
	}
	return n == 1, nil
}

// expiredHolds lists holds whose time is up.
func (s *redisStore) expiredHolds(ctx context.Context, office string, now time.Time, limit int64) ([]string, error) {
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: holdsKey(office), Start: "-inf", Stop: now.UnixMilli(),
		ByScore: true, Count: limit}).Result()
	return ids, store.Wrap("booking.expiredHolds", err)
}

// confirmCmd turns an unverified appointment into a confirmed one.
//
//	KEYS[1] appointment  KEYS[2] unverified index  KEYS[3] outbox
//	ARGV[1] now ms  ARGV[2] expected seq  ARGV[3] outbox entry  ARGV[4] id  ARGV[5] now (Unix s)
//
// Returns "ok", "changed", "confirmed" (already) or "inactive".
var confirmCmd = store.NewScript(`
local a = redis.call("HMGET", KEYS[1], "s", "q")
if not a[1] then return "inactive" end
if a[1] == "confirmed" then return "confirmed" end
if a[1] ~= "unverified" then return "inactive" end
if a[2] ~= ARGV[2] then return "changed" end
redis.call("HSET", KEYS[1], "s", "confirmed", "ca", ARGV[1], "g", ARGV[5])
redis.call("HDEL", KEYS[1], "vb")
redis.call("ZREM", KEYS[2], ARGV[4])
redis.call("XADD", KEYS[3], "*", "msg", ARGV[3])
return "ok"
`)

func (s *redisStore) confirm(ctx context.Context, now time.Time, a Appointment, outbox notify.Ref) (string, error) {
	o := a.Office
	res, err := confirmCmd.Run(ctx, s.rdb, []string{apptKey(o, a.ID), unverifiedKey(o), notify.OutboxKey(o)},
		now.UnixMilli(), a.Seq, outbox.Encode(), a.ID, now.Unix()).Text()
	if err != nil {
		return "", store.Wrap("booking.confirm", err)
	}
	return res, nil
}

// expiredUnverified lists unverified appointments past their deadline.
func (s *redisStore) expiredUnverified(ctx context.Context, office string, now time.Time, limit int64) ([]string, error) {
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: unverifiedKey(office), Start: "-inf", Stop: now.UnixMilli(),
		ByScore: true, Count: limit}).Result()
	return ids, store.Wrap("booking.expiredUnverified", err)
}

// expireCmd ends an unverified appointment whose deadline passed.
//
//	KEYS[1] appointment  KEYS[2] cap of its day  KEYS[3] e-mail limits  KEYS[4] unverified index
//	KEYS[5] availability version
//	ARGV[1] now ms  ARGV[2] id  ARGV[3] e-mail field
//
// Returns 1 if expired, 0 otherwise.
var expireCmd = store.NewScript(takeSeatsLua + `
local a = redis.call("HMGET", KEYS[1], "s", "e", "u", "n")
local score = redis.call("ZSCORE", KEYS[4], ARGV[2])
if a[1] ~= "unverified" then
  redis.call("ZREM", KEYS[4], ARGV[2])
  return 0
end
if not score or tonumber(score) > tonumber(ARGV[1]) then return 0 end
add_seats(KEYS[2], KEYS[5], tonumber(a[3]), tonumber(a[4]), -1)
redis.call("HSET", KEYS[1], "s", "expired", "x", "unverified")
ends_replace(KEYS[3], ARGV[3], a[2], nil)
redis.call("ZREM", KEYS[4], ARGV[2])
return 1
`)

func (s *redisStore) expire(ctx context.Context, now time.Time, a Appointment) (bool, error) {
	o := a.Office
	n, err := expireCmd.Run(ctx, s.rdb, []string{apptKey(o, a.ID), capKey(o, a.Date), emailsKey(o),
		unverifiedKey(o), capVerKey(o)}, now.UnixMilli(), a.ID, emailField(a.Email)).Int()
	if err != nil {
		return false, store.Wrap("booking.expire", err)
	}
	return n == 1, nil
}

// idemBeginCmd claims an Idempotency-Key or reports its state.
//
//	KEYS[1] idempotency record
//	ARGV[1] body hash  ARGV[2] running ttl ms
//
// Returns {"new"}, {"mismatch"}, {"running"} or {"done", status, response}.
var idemBeginCmd = store.NewScript(`
local r = redis.call("HMGET", KEYS[1], "state", "body", "status", "response")
if not r[1] then
  redis.call("HSET", KEYS[1], "state", "running", "body", ARGV[1])
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return {"new"}
end
if r[2] ~= ARGV[1] then return {"mismatch"} end
if r[1] == "running" then return {"running"} end
return {"done", r[3], r[4]}
`)

func (s *redisStore) idemBegin(ctx context.Context, office, keyHash, bodyHash string) ([]string, error) {
	v, err := idemBeginCmd.Run(ctx, s.rdb, []string{idemKey(office, keyHash)}, bodyHash, idemRunningTTL.Milliseconds()).StringSlice()
	if err != nil {
		return nil, store.Wrap("booking.idemBegin", err)
	}
	return v, nil
}

// idemFinish records the final answer of a request that did not book (an
// error the caller should see again on a repeat).
func (s *redisStore) idemFinish(ctx context.Context, office, keyHash string, status int, response []byte) error {
	err := idemFinishCmd.Run(ctx, s.rdb, []string{idemKey(office, keyHash)}, status, response, idemTTL.Milliseconds()).Err()
	return store.Wrap("booking.idemFinish", err)
}

// idemFinishCmd records a request's final answer.
//
//	KEYS[1] idempotency record  ARGV[1] status  ARGV[2] response  ARGV[3] ttl ms
var idemFinishCmd = store.NewScript(`
redis.call("HSET", KEYS[1], "state", "done", "status", ARGV[1], "response", ARGV[2])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return 1
`)

// idemForget drops a claim whose request failed for a passing reason (store
// down), so that a retry runs again — unless the booking script finished it
// after all: a reply lost on its way back (503) leaves the record "done", and
// a retry with the key must get that booking, not book a second time.
func (s *redisStore) idemForget(ctx context.Context, office, keyHash string) error {
	return store.Wrap("booking.idemForget", idemForgetCmd.Run(ctx, s.rdb, []string{idemKey(office, keyHash)}).Err())
}

// idemForgetCmd deletes an idempotency record while it is still "running".
//
//	KEYS[1] idempotency record
var idemForgetCmd = store.NewScript(`
if redis.call("HGET", KEYS[1], "state") == "running" then return redis.call("DEL", KEYS[1]) end
return 0
`)

// markCheckedInCmd records the arrival of an appointment's holder once.
//
//	KEYS[1] appointment
//	ARGV[1] arrival (RFC 3339)
//
// Returns 1 if recorded, 0 if it was already or the appointment is gone.
var markCheckedInCmd = store.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
return redis.call("HSETNX", KEYS[1], "ci", ARGV[1])
`)

func (s *redisStore) markCheckedIn(ctx context.Context, office, id string, at time.Time) error {
	err := markCheckedInCmd.Run(ctx, s.rdb, []string{apptKey(office, id)}, at.Format(time.RFC3339)).Err()
	return store.Wrap("booking.markCheckedIn", err)
}
