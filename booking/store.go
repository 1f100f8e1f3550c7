package booking

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
	"github.com/rathaus/rathaus/notify"
)

// redisStore keeps capacity records, holds and appointments in Redis.
type redisStore struct {
	rdb redis.UniversalClient
}

// snapshot is what availability needs, read in one round trip.
type snapshot struct {
	closuresVer string
	closures    []Closure // active ones
	allClosures []Closure // cancelled ones too
	dayVer      map[Date]string
	used        map[Date]Used
}

// readDays reads the closures and the capacity records of dates in one pipeline.
func (s *redisStore) readDays(ctx context.Context, office string, dates []Date) (snapshot, error) {
	keys := make([]string, len(dates))
	for i, d := range dates {
		keys[i] = capKey(office, d)
	}
	pipe := s.rdb.Pipeline()
	ver := pipe.Get(ctx, closuresVerKey(office))
	cl := pipe.HGetAll(ctx, closuresKey(office))
	dv := pipe.HGetAll(ctx, dayVerKey(office))
	var caps *redis.SliceCmd
	if len(keys) > 0 {
		caps = pipe.MGet(ctx, keys...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return snapshot{}, store.Wrap("booking.readDays", err)
	}
	snap := snapshot{closuresVer: ver.Val(), used: make(map[Date]Used, len(dates))}
	if snap.closuresVer == "" {
		snap.closuresVer = "0"
	}
	var err error
	if snap.allClosures, err = decodeClosures(cl.Val()); err != nil {
		return snapshot{}, err
	}
	snap.closures = active(snap.allClosures)
	snap.dayVer = map[Date]string{}
	for k, v := range dv.Val() {
		if d, err := ParseDate(k); err == nil {
			snap.dayVer[d] = v
		}
	}
	if caps != nil {
		for i, v := range caps.Val() {
			if str, ok := v.(string); ok {
				snap.used[dates[i]] = Used(str)
			}
		}
	}
	return snap, nil
}

// seatList encodes the seats of n units from first as "3,3,2".
func seatList(p DayPlan, first Unit, n int) string {
	parts := make([]string, n)
	for i := range n {
		parts[i] = strconv.Itoa(p.Seats(first + Unit(i)))
	}
	return strings.Join(parts, ",")
}

// takeSeatsLua is shared by the scripts that take seats. It expects cap (key),
// first (0-based unit), n and seats (list) and returns false when a unit is full.
const takeSeatsLua = `
local function parse_seats(s)
  local t = {}
  for v in string.gmatch(s, "%d+") do t[#t + 1] = tonumber(v) end
  return t
end
local function seats_free(cap, first, n, seats)
  local rec = redis.call("GETRANGE", cap, first, first + n - 1)
  for i = 1, n do
    if (string.byte(rec, i) or 0) >= seats[i] then return false end
  end
  return true
end
local function add_seats(cap, first, n, delta)
  local rec = redis.call("GETRANGE", cap, first, first + n - 1)
  local out = {}
  for i = 1, n do
    local v = (string.byte(rec, i) or 0) + delta
    if v < 0 then v = 0 end
    out[i] = string.char(v)
  end
  redis.call("SETRANGE", cap, first, table.concat(out))
end
`

// bookCmd books an appointment: checks the closure version, takes the seats
// (or consumes a matching hold), enforces the per-address limit, stores the
// appointment, indexes it, and appends its mail to the outbox and its reminder
// to the reminder index — all or nothing.
//
//	KEYS[1] cap of the day        KEYS[2] appointment    KEYS[3] codes
//	KEYS[4] day index             KEYS[5] e-mail index   KEYS[6] outbox
//	KEYS[7] reminder index        KEYS[8] reminder msgs  KEYS[9] closures version
//	KEYS[10] hold                 KEYS[11] holds index   KEYS[12] unverified index
//	KEYS[13] appointments index   KEYS[14] idempotency record   KEYS[15] day versions
//	ARGV[1] now ms                ARGV[2] expected closures version
//	ARGV[3] first unit            ARGV[4] units          ARGV[5] seats list
//	ARGV[6] appointment fields (JSON object)
//	ARGV[7] code                  ARGV[8] id             ARGV[9] e-mail limit
//	ARGV[10] end ms               ARGV[11] start ms      ARGV[12] outbox message JSON
//	ARGV[13] reminder due ms (0: none)  ARGV[14] reminder id  ARGV[15] reminder JSON
//	ARGV[16] hold id ("" none)    ARGV[17] hold match "date|unit|units|service"
//	ARGV[18] verify deadline ms (0: confirmed)
//	ARGV[19] idempotency response JSON ("" none)  ARGV[20] idempotency ttl ms
//	ARGV[21] cap time to live (ms)  ARGV[22] date
//
// Returns "ok", or one of "closures_changed", "slot_taken", "email_limit",
// "code_taken", "hold_mismatch".
var bookCmd = redis.NewScript(takeSeatsLua + `
if (redis.call("GET", KEYS[9]) or "0") ~= ARGV[2] then return "closures_changed" end
local now, first, n = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local seats = parse_seats(ARGV[5])
local held = false
if ARGV[16] ~= "" then
  local h = redis.call("HMGET", KEYS[10], "match", "expires")
  if h[1] then
    if h[1] ~= ARGV[17] then return "hold_mismatch" end
    if tonumber(h[2]) > now then
      held = true
    else
      add_seats(KEYS[1], first, n, -1)
    end
    redis.call("DEL", KEYS[10])
    redis.call("ZREM", KEYS[11], ARGV[16])
  end
end
if not held and not seats_free(KEYS[1], first, n, seats) then
  return "slot_taken"
end
redis.call("ZREMRANGEBYSCORE", KEYS[5], "-inf", now)
if redis.call("ZCARD", KEYS[5]) >= tonumber(ARGV[9]) then
  if held then add_seats(KEYS[1], first, n, -1) end
  return "email_limit"
end
if redis.call("HSETNX", KEYS[3], ARGV[7], ARGV[8]) == 0 then
  if held then add_seats(KEYS[1], first, n, -1) end
  return "code_taken"
end
if not held then add_seats(KEYS[1], first, n, 1) end
redis.call("PEXPIRE", KEYS[1], ARGV[21])
local f = cjson.decode(ARGV[6])
for k, v in pairs(f) do redis.call("HSET", KEYS[2], k, v) end
redis.call("HINCRBY", KEYS[15], ARGV[22], 1)
redis.call("ZADD", KEYS[4], ARGV[11], ARGV[8])
redis.call("ZADD", KEYS[5], ARGV[10], ARGV[8])
redis.call("ZADD", KEYS[13], ARGV[10], ARGV[8])
redis.call("XADD", KEYS[6], "*", "msg", ARGV[12])
if tonumber(ARGV[13]) > 0 then
  redis.call("ZADD", KEYS[7], ARGV[13], ARGV[14])
  redis.call("HSET", KEYS[8], ARGV[14], ARGV[15])
end
if tonumber(ARGV[18]) > 0 then redis.call("ZADD", KEYS[12], ARGV[18], ARGV[8]) end
if ARGV[19] ~= "" then
  redis.call("HSET", KEYS[14], "state", "done", "status", "201", "response", ARGV[19])
  redis.call("PEXPIRE", KEYS[14], ARGV[20])
end
return "ok"
`)

// bookArgs are the inputs of bookCmd.
type bookArgs struct {
	appt         Appointment
	closuresVer  string
	seats        string
	emailHash    string
	emailLimit   int
	outbox       notify.Message
	reminder     *notify.Message
	reminderDue  time.Time
	holdID       string
	idemKeyHash  string
	idemResponse []byte
	capExpiry    time.Time
}

func holdMatch(d Date, u Unit, n int, service string) string {
	return fmt.Sprintf("%s|%d|%d|%s", d, u, n, service)
}

func (s *redisStore) book(ctx context.Context, now time.Time, a bookArgs) (string, error) {
	o, ap := a.appt.Office, a.appt
	fields, _ := json.Marshal(ap.fields())
	msg, _ := json.Marshal(a.outbox)
	var remDue int64
	var remID string
	var remMsg []byte
	if a.reminder != nil {
		remDue, remID = a.reminderDue.UnixMilli(), a.reminder.ID
		remMsg, _ = json.Marshal(a.reminder)
	}
	var verifyBy int64
	if !ap.VerifyBy.IsZero() {
		verifyBy = ap.VerifyBy.UnixMilli()
	}
	idemK := idemKey(o, "-")
	if a.idemKeyHash != "" {
		idemK = idemKey(o, a.idemKeyHash)
	}
	keys := []string{capKey(o, ap.Date), apptKey(o, ap.ID), codesKey(o), dayKey(o, ap.Date), emailKey(o, a.emailHash),
		notify.OutboxKey(o), notify.ReminderKey(o), notify.ReminderMsgKey(o), closuresVerKey(o),
		holdKey(o, orDash(a.holdID)), holdsKey(o), unverifiedKey(o), apptsKey(o), idemK, dayVerKey(o)}
	res, err := bookCmd.Run(ctx, s.rdb, keys, now.UnixMilli(), a.closuresVer, int(ap.Unit), ap.Units, a.seats,
		string(fields), ap.Code, ap.ID, a.emailLimit, ap.End.UnixMilli(), ap.Start.UnixMilli(), string(msg),
		remDue, remID, string(remMsg), a.holdID, holdMatch(ap.Date, ap.Unit, ap.Units, ap.Service), verifyBy,
		string(a.idemResponse), idemTTL.Milliseconds(), ttlMillis(now, a.capExpiry), ap.Date.String()).Text()
	if err != nil {
		return "", store.Wrap("booking.book", err)
	}
	return res, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// getAppointment reads an appointment hash.
func (s *redisStore) getAppointment(ctx context.Context, o *Office, id string) (Appointment, bool, error) {
	m, err := s.rdb.HGetAll(ctx, apptKey(o.ID, id)).Result()
	if err != nil {
		return Appointment{}, false, store.Wrap("booking.getAppointment", err)
	}
	a, ok := appointmentFrom(m, o.Location)
	return a, ok, nil
}

// dayAppointments reads the appointments of a day, ordered by start.
func (s *redisStore) dayAppointments(ctx context.Context, o *Office, d Date) ([]Appointment, error) {
	ids, err := s.rdb.ZRange(ctx, dayKey(o.ID, d), 0, -1).Result()
	if err != nil {
		return nil, store.Wrap("booking.dayAppointments", err)
	}
	return s.appointments(ctx, o, ids)
}

func (s *redisStore) appointments(ctx context.Context, o *Office, ids []string) ([]Appointment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, apptKey(o.ID, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, store.Wrap("booking.appointments", err)
	}
	out := make([]Appointment, 0, len(ids))
	for _, c := range cmds {
		if a, ok := appointmentFrom(c.Val(), o.Location); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// appointmentByCode resolves an appointment code.
func (s *redisStore) appointmentByCode(ctx context.Context, o *Office, code string) (Appointment, bool, error) {
	id, err := s.rdb.HGet(ctx, codesKey(o.ID), code).Result()
	if errors.Is(err, redis.Nil) {
		return Appointment{}, false, nil
	}
	if err != nil {
		return Appointment{}, false, store.Wrap("booking.appointmentByCode", err)
	}
	return s.getAppointment(ctx, o, id)
}

// ttlMillis is the time to live until t, at least a minute. Keys expire by
// TTLs relative to the caller's now: Redis's own clock is never asked, so
// scripts work the same under a simulated clock.
func ttlMillis(now, t time.Time) int64 { return max(t.Sub(now), time.Minute).Milliseconds() }

// appointmentsOn reads the appointments of several days in two round trips.
func (s *redisStore) appointmentsOn(ctx context.Context, o *Office, dates []Date) ([]Appointment, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(dates))
	for i, d := range dates {
		cmds[i] = pipe.ZRange(ctx, dayKey(o.ID, d), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, store.Wrap("booking.appointmentsOn", err)
	}
	var ids []string
	for _, c := range cmds {
		ids = append(ids, c.Val()...)
	}
	return s.appointments(ctx, o, ids)
}
