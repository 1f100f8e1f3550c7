package queue

import (
	"context"
	"time"
)

// issueCmd draws a ticket: the next number of the service's letter for the
// day, queued by arrival (walk-in) or by its appointment start (check-in).
//
// KEYS: the day scope (see scope.keys). ARGV: the common head (see args), then
//
//	ARGV[5]  -> service id            ARGV[6]  -> service letter
//	ARGV[7]  -> daily walk-in quota of the service (0: none)
//	ARGV[8]  -> SHA-256 of the token secret (hex)
//	ARGV[9]  -> who ("kiosk" or a staff user)
//	ARGV[10] -> TTL of the day's queue keys (s)   ARGV[11] -> TTL of the day's tickets (s)
//	ARGV[12] -> kind ("walkin" | "appointment")   ARGV[13] -> appointment start (Unix ms)
//	ARGV[14] -> appointment id ("" for walk-ins)
//
// Returns {1, ticket} when drawn, {2, ticket} when the appointment already had
// its ticket today (the new token is added to it), {-1} when the quota is reached.
var issueCmd = newScript(`
local service, letter, quota = ARGV[5], ARGV[6], tonumber(ARGV[7])
local tokenHash, by = ARGV[8], ARGV[9]
local shortTTL, longTTL = tonumber(ARGV[10]), tonumber(ARGV[11])
local kind, due, apptID = ARGV[12], tonumber(ARGV[13]), ARGV[14]

if apptID ~= '' then
  local existing = redis.call('HGET', K_META, 'appt:' .. apptID)
  if existing then
    redis.call('HSET', K_TOKENS, tokenHash, existing)
    return {2, redis.call('HGET', K_TICKETS, existing)}
  end
end
if kind == 'walkin' and quota > 0 then
  local drawn = tonumber(redis.call('HGET', K_META, 'quota:' .. service) or '0')
  if drawn >= quota then return {-1} end
end
if kind == 'walkin' then redis.call('HINCRBY', K_META, 'quota:' .. service, 1) end

local seq = redis.call('HINCRBY', K_META, 'seq:' .. letter, 1)
local number = letter .. string.format('%03d', seq)
local t = {number = number, service = service, kind = kind, status = 'waiting',
  arrival = redis.call('HINCRBY', K_META, 'arrival', 1), issued = now, history = {}}
if kind == 'appointment' then t.due = due end
if apptID ~= '' then
  t.appointment = apptID
  redis.call('HSET', K_META, 'appt:' .. apptID, number)
end
note(t, 'issue', by, nil)
redis.call('EXPIRE', K_META, shortTTL)
local raw = save(t)
enqueue(t)
redis.call('HSET', K_TOKENS, tokenHash, number)
event('issued', {number = number, service = service})
redis.call('EXPIRE', K_TOKENS, shortTTL)
redis.call('EXPIRE', K_TICKETS, longTTL)
return {1, raw}
`)

// issueRequest is what issue needs beyond the scope.
type issueRequest struct {
	Service, Letter string
	Quota           int
	TokenHash       string
	By              string
	Kind            string
	Due             time.Time // appointments
	AppointmentID   string
}

// queueTTL keeps a day's queue keys a little beyond the day (late closing, time zones).
const queueTTL = 48 * time.Hour

// issue runs issueCmd; code 1 is a new ticket, 2 an existing one, -1 the quota.
func (s *redisStore) issue(ctx context.Context, sc scope, now time.Time, r issueRequest, ticketTTL time.Duration) (int64, *Ticket, error) {
	var due int64
	if !r.Due.IsZero() {
		due = r.Due.UnixMilli()
	}
	v, err := issueCmd.Run(ctx, s.rdb, sc.keys(), s.args(sc, now, r.Service, r.Letter, r.Quota, r.TokenHash, r.By,
		int64(queueTTL/time.Second), int64(ticketTTL/time.Second), r.Kind, due, r.AppointmentID)...).Result()
	return scriptResult("queue.issue", v, err)
}
