package booking

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// redisStore keeps capacity records, holds and appointments in Redis.
type redisStore struct {
	rdb redis.UniversalClient
	// reminderBatch bounds the appointments one reminder script looks at
	// (0: reminderBatch); tests lower it.
	reminderBatch int
	// closures keeps, per office, the closures last read (*closureSnap): a
	// booking starts from them instead of reading them first, because its
	// script checks the closures version anyway and answers
	// "closures_changed" when they are stale (then they are read again).
	closures sync.Map
}

// closureSnap is an office's closures as read at version ver.
type closureSnap struct {
	ver    string
	raw    map[string]string
	all    []Closure
	active []Closure
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
	return s.read(ctx, office, dates, false)
}

// readDaysVer is readDays with the per-date booking counts (snapshot.dayVer)
// that a closure's script checks.
func (s *redisStore) readDaysVer(ctx context.Context, office string, dates []Date) (snapshot, error) {
	return s.read(ctx, office, dates, true)
}

func (s *redisStore) read(ctx context.Context, office string, dates []Date, dayVer bool) (snapshot, error) {
	keys := make([]string, len(dates))
	for i, d := range dates {
		keys[i] = capKey(office, d)
	}
	pipe := s.rdb.Pipeline()
	ver := pipe.Get(ctx, closuresVerKey(office))
	cl := pipe.HGetAll(ctx, closuresKey(office))
	var dv *redis.MapStringStringCmd
	if dayVer {
		dv = pipe.HGetAll(ctx, dayVerKey(office))
	}
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
	c, err := s.decoded(office, snap.closuresVer, cl.Val())
	if err != nil {
		return snapshot{}, err
	}
	snap.allClosures, snap.closures = c.all, c.active
	if dv != nil {
		snap.dayVer = map[Date]string{}
		for k, v := range dv.Val() {
			if d, err := ParseDate(k); err == nil {
				snap.dayVer[d] = v
			}
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

// decoded returns the closures of raw (the closures hash as read at version
// ver), decoding them only when they differ from the ones last read, and
// remembers them for cachedClosures.
func (s *redisStore) decoded(office, ver string, raw map[string]string) (*closureSnap, error) {
	if v, ok := s.closures.Load(office); ok {
		if c := v.(*closureSnap); maps.Equal(c.raw, raw) {
			if c.ver != ver {
				c = &closureSnap{ver: ver, raw: c.raw, all: c.all, active: c.active}
				s.closures.Store(office, c)
			}
			return c, nil
		}
	}
	all, err := decodeClosures(raw)
	if err != nil {
		return nil, err
	}
	c := &closureSnap{ver: ver, raw: raw, all: all, active: active(all)}
	s.closures.Store(office, c)
	return c, nil
}

// cachedClosures is a snapshot without capacity records from the closures
// last read, if any. Only for callers whose script checks the version.
func (s *redisStore) cachedClosures(office string) (snapshot, bool) {
	v, ok := s.closures.Load(office)
	if !ok {
		return snapshot{}, false
	}
	c := v.(*closureSnap)
	return snapshot{closuresVer: c.ver, closures: c.active, allClosures: c.all}, true
}

// seatList encodes the seats of n units from first as "3,3,2".
func seatList(p DayPlan, first Unit, n int) string {
	parts := make([]string, n)
	for i := range n {
		parts[i] = strconv.Itoa(p.Seats(first + Unit(i)))
	}
	return strings.Join(parts, ",")
}

// takeSeatsLua is shared by the scripts that take seats. seats_free expects cap
// (key), first (0-based unit), n and seats (list) and returns false when a
// unit is full; add_seats changes seats taken and raises the office's
// availability version (capVerKey), which every caller passes as a key.
// It also holds the helpers of the e-mail limit: an address's field in
// emailsKey lists the end times (Unix seconds) of its active appointments.
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
local function add_seats(cap, ver, first, n, delta)
  redis.call("INCR", ver)
  local rec = redis.call("GETRANGE", cap, first, first + n - 1)
  local out = {}
  for i = 1, n do
    local v = (string.byte(rec, i) or 0) + delta
    if v < 0 then v = 0 end
    out[i] = string.char(v)
  end
  redis.call("SETRANGE", cap, first, table.concat(out))
end
local function ends_of(key, field)
  local t = {}
  if field == "" then return t end -- no address (booked by staff for a caller)
  local v = redis.call("HGET", key, field)
  if v then for x in string.gmatch(v, "%d+") do t[#t + 1] = x end end
  return t
end
local function ends_set(key, field, t)
  if field == "" then return end
  if #t == 0 then redis.call("HDEL", key, field)
  else redis.call("HSET", key, field, table.concat(t, ",")) end
end
local function ends_replace(key, field, old, new)
  local t = ends_of(key, field)
  for i = 1, #t do
    if t[i] == old then
      if new then t[i] = new else table.remove(t, i) end
      ends_set(key, field, t)
      return true
    end
  end
  return false
end
`

// bookCmd books an appointment: checks the closure version, takes the seats
// (or consumes a matching hold), enforces the per-address limit, stores the
// appointment, indexes it under its code in its day, and appends its mail to
// the outbox — all or nothing.
//
//	KEYS[1] cap of the day   KEYS[2] appointment   KEYS[3] day index (code -> id)
//	KEYS[4] e-mail limits    KEYS[5] outbox        KEYS[6] closures version
//	KEYS[7] hold             KEYS[8] holds index   KEYS[9] unverified index
//	KEYS[10] idempotency record                   KEYS[11] day versions
//	KEYS[12] availability version
//	ARGV[1] now ms           ARGV[2] expected closures version
//	ARGV[3] first unit       ARGV[4] units         ARGV[5] seats list
//	ARGV[6] unused
//	ARGV[7] code             ARGV[8] id            ARGV[9] e-mail limit
//	ARGV[10] e-mail field    ARGV[11] end (Unix s) ARGV[12] outbox entry (a notify.Ref)
//	ARGV[13] hold id ("" none)  ARGV[14] hold match "date|unit|units|service"
//	ARGV[15] verify deadline ms (0: confirmed)
//	ARGV[16] idempotency response JSON ("" none)  ARGV[17] idempotency ttl ms
//	ARGV[18] cap time to live (ms)  ARGV[19] date
//	ARGV[20…] the appointment's fields: name, value, name, value …
//
// Returns "ok", or one of "closures_changed", "slot_taken", "email_limit",
// "code_taken", "hold_mismatch".
var bookCmd = store.NewScript(takeSeatsLua + `
if (redis.call("GET", KEYS[6]) or "0") ~= ARGV[2] then return "closures_changed" end
local now, first, n = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local seats = parse_seats(ARGV[5])
local held = false
if ARGV[13] ~= "" then
  local h = redis.call("HMGET", KEYS[7], "match", "expires")
  if h[1] then
    if h[1] ~= ARGV[14] then return "hold_mismatch" end
    if tonumber(h[2]) > now then
      held = true
    else
      add_seats(KEYS[1], KEYS[12], first, n, -1)
    end
    redis.call("DEL", KEYS[7])
    redis.call("ZREM", KEYS[8], ARGV[13])
  end
end
if not held and not seats_free(KEYS[1], first, n, seats) then
  return "slot_taken"
end
local ends, live = ends_of(KEYS[4], ARGV[10]), {}
for _, e in ipairs(ends) do
  if tonumber(e) * 1000 > now then live[#live + 1] = e end
end
if #live >= tonumber(ARGV[9]) then
  if held then add_seats(KEYS[1], KEYS[12], first, n, -1) end
  return "email_limit"
end
if redis.call("HSETNX", KEYS[3], ARGV[7], ARGV[8]) == 0 then
  if held then add_seats(KEYS[1], KEYS[12], first, n, -1) end
  return "code_taken"
end
if not held then add_seats(KEYS[1], KEYS[12], first, n, 1) end
redis.call("PEXPIRE", KEYS[1], ARGV[18])
live[#live + 1] = ARGV[11]
ends_set(KEYS[4], ARGV[10], live)
redis.call("HSET", KEYS[2], unpack(ARGV, 20))
redis.call("HINCRBY", KEYS[11], ARGV[19], 1)
if ARGV[12] ~= "" then redis.call("XADD", KEYS[5], "*", "msg", ARGV[12]) end
if tonumber(ARGV[15]) > 0 then redis.call("ZADD", KEYS[9], ARGV[15], ARGV[8]) end
if ARGV[16] ~= "" then
  redis.call("HSET", KEYS[10], "state", "done", "status", "201", "response", ARGV[16])
  redis.call("PEXPIRE", KEYS[10], ARGV[17])
end
return "ok"
`)

// bookArgs are the inputs of bookCmd.
type bookArgs struct {
	appt         Appointment
	closuresVer  string
	seats        string
	emailLimit   int
	outbox       notify.Ref
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
	var verifyBy int64
	if !ap.VerifyBy.IsZero() {
		verifyBy = ap.VerifyBy.UnixMilli()
	}
	idemK := idemKey(o, "-")
	if a.idemKeyHash != "" {
		idemK = idemKey(o, a.idemKeyHash)
	}
	keys := []string{capKey(o, ap.Date), apptKey(o, ap.ID), dayKey(o, ap.Date), emailsKey(o), notify.OutboxKey(o),
		closuresVerKey(o), holdKey(o, orDash(a.holdID)), holdsKey(o), unverifiedKey(o), idemK, dayVerKey(o), capVerKey(o)}
	args := make([]any, 0, 19+2*18)
	args = append(args, now.UnixMilli(), a.closuresVer, int(ap.Unit), ap.Units, a.seats,
		"", ap.Code, ap.ID, a.emailLimit, emailField(ap.Email), ap.End.Unix(), outboxArg(ap, a.outbox),
		a.holdID, holdMatch(ap.Date, ap.Unit, ap.Units, ap.Service), verifyBy,
		string(a.idemResponse), idemTTL.Milliseconds(), ttlMillis(now, a.capExpiry), ap.Date.String())
	args = ap.appendFields(args)
	res, err := bookCmd.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return "", store.Wrap("booking.book", err)
	}
	return res, nil
}

// outboxArg is the outbox entry of a booking: none for an appointment
// without an e-mail address.
func outboxArg(a Appointment, r notify.Ref) string {
	if a.Email == "" {
		return ""
	}
	return r.Encode()
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
	a, ok := appointmentFrom(m, o, id)
	return a, ok, nil
}

// getAppointments reads appointment hashes in one pipeline; found[i] is
// false for an id without record.
func (s *redisStore) getAppointments(ctx context.Context, o *Office, ids []string) ([]Appointment, []bool, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, apptKey(o.ID, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, store.Wrap("booking.getAppointments", err)
	}
	appts, found := make([]Appointment, len(ids)), make([]bool, len(ids))
	for i, id := range ids {
		appts[i], found[i] = appointmentFrom(cmds[i].Val(), o, id)
	}
	return appts, found, nil
}

// dayAppointments reads the appointments of a day, ordered by start.
func (s *redisStore) dayAppointments(ctx context.Context, o *Office, d Date) ([]Appointment, error) {
	return s.appointmentsOn(ctx, o, []Date{d})
}

// appointments reads the appointments of ids (missing ones are left out).
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
	for i, c := range cmds {
		if a, ok := appointmentFrom(c.Val(), o, ids[i]); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// codeIDs looks a code up in the day indexes of dates and returns the ids
// found, in the order of dates (a code is unique within its day); with first
// it stops at the first.
func (s *redisStore) codeIDs(ctx context.Context, o *Office, code string, dates []Date, first bool) ([]string, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(dates))
	for i, d := range dates {
		cmds[i] = pipe.HGet(ctx, dayKey(o.ID, d), code)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, store.Wrap("booking.codeIDs", err)
	}
	var ids []string
	for _, c := range cmds {
		if id := c.Val(); id != "" {
			ids = append(ids, id)
			if first {
				break
			}
		}
	}
	return ids, nil
}

// ttlMillis is the time to live until t, at least a minute. Keys expire by
// TTLs relative to the caller's now: Redis's own clock is never asked, so
// scripts work the same under a simulated clock.
func ttlMillis(now, t time.Time) int64 { return max(t.Sub(now), time.Minute).Milliseconds() }

// dayIDs reads the day indexes of dates in one round trip: the ids of each day.
func (s *redisStore) dayIDs(ctx context.Context, office string, dates []Date) ([][]string, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(dates))
	for i, d := range dates {
		cmds[i] = pipe.HVals(ctx, dayKey(office, d))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, store.Wrap("booking.dayIDs", err)
	}
	out := make([][]string, len(dates))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

// appointmentsOn reads the appointments of several days in two round trips,
// ordered by start (then code).
func (s *redisStore) appointmentsOn(ctx context.Context, o *Office, dates []Date) ([]Appointment, error) {
	days, err := s.dayIDs(ctx, o.ID, dates)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, d := range days {
		ids = append(ids, d...)
	}
	out, err := s.appointments(ctx, o, ids)
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Code < out[j].Code
	})
	return out, err
}
